import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, planPolicy } from "./compile-policy.js";
import { DEFAULT_POLICY_YAML, defaultPolicy } from "./default-policy.js";
import { parsePolicy } from "./load-policy.js";
import { resolvePolicy } from "./resolve-policy.js";

const BUILD = new Date("2026-11-28T12:00:00Z");
const MANIFEST = [{ sha256: "a".repeat(64), path: "/bin/sh" }];

test("the printed default policy means exactly what an empty spec means", () => {
  const printed = resolvePolicy(defaultPolicy().policy);
  const empty = resolvePolicy(parsePolicy("apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata: {name: default}\nspec: {}\n", { file: "e.yaml" }).policy);
  const { explicit: _a, description: _d, ...p } = printed;
  const { explicit: _b, ...e } = empty;
  assert.deepEqual(p, e);
});

test("the printed default compiles without --allow-unenforced, and nothing it writes is refused", () => {
  const { findings } = planPolicy(defaultPolicy().policy, { buildTime: BUILD, manifest: MANIFEST });
  assert.deepEqual(findings.filter((f) => f.explicit || f.kind === "invalid"), []);
  const spec = compilePolicy(defaultPolicy().policy, { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(spec.controls.drift, "enforce");
  assert.equal(spec.controls.fileless, "enforce");
  assert.equal(spec.controls.loader, "enforce");
  assert.equal(spec.controls.blocklist, "enforce");
  assert.ok(spec.blockList.names.includes("xmrig"));
});

test("uncommenting a not-yet-enforced section of the default makes compile refuse it", () => {
  const uncommented = DEFAULT_POLICY_YAML.replace("  # reverseShell:\n  #   mode: enforce\n", "  reverseShell:\n    mode: enforce\n");
  assert.notEqual(uncommented, DEFAULT_POLICY_YAML);
  assert.throws(
    () => compilePolicy(parsePolicy(uncommented, { file: "d.yaml" }).policy, { buildTime: BUILD, manifest: MANIFEST }),
    /spec\.reverseShell: mode enforce is not supported by this enforcer version yet/,
  );
});
