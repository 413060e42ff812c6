import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy } from "./load-policy.js";
import { effectiveMode, resolvePolicy } from "./resolve-policy.js";

const BUILD = new Date("2026-11-28T12:00:00Z");

test("effectiveMode passes plain modes through", () => {
  for (const m of ["off", "audit", "enforce"] as const) assert.deepEqual(effectiveMode(m, { buildTime: BUILD }), { mode: m });
});

test("effectiveMode resolves a date (any zone) and days after the build, in whole seconds", () => {
  assert.deepEqual(effectiveMode({ enforce: { after: "2026-12-31T00:00:00Z" } }, { buildTime: BUILD }), {
    mode: "audit",
    enforceAfter: 1798675200,
  });
  assert.deepEqual(effectiveMode({ enforce: { after: "2026-12-31T01:00:00.999+01:00" } }, { buildTime: BUILD }), {
    mode: "audit",
    enforceAfter: 1798675200,
  });
  assert.deepEqual(effectiveMode({ enforce: { afterDaysFromBuild: 0 } }, { buildTime: BUILD }), { mode: "audit", enforceAfter: 1795867200 });
  assert.deepEqual(effectiveMode({ enforce: { afterDaysFromBuild: 30 } }, { buildTime: BUILD }), {
    mode: "audit",
    enforceAfter: 1795867200 + 30 * 86400,
  });
});

test("resolvePolicy records which controls were written, and an omitted stratum follows miners", () => {
  const { policy } = parsePolicy(
    "apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata: {name: t}\nspec:\n  miners: {mode: audit}\n  privilege: {mode: \"off\"}\n",
    { file: "t.yaml" },
  );
  const r = resolvePolicy(policy);
  assert.equal(r.explicit.miners, true);
  assert.equal(r.explicit.stratum, false);
  assert.equal(r.explicit.privilege, true);
  assert.equal(r.explicit.reverseShell, false);
  assert.equal(r.stratum.mode, "audit");
  assert.equal(r.privilege.mode, "off");
  assert.equal(r.reverseShell.mode, "enforce");
  assert.equal(r.drift.mode, "enforce");
  assert.equal(r.packageManagers.mode, "audit");
});
