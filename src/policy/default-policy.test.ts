import { test } from "node:test";
import assert from "node:assert/strict";
import { compilePolicy, planPolicy } from "./compile-policy.js";
import { defaultPolicy } from "./default-policy.js";
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

test("the printed default audits the package managers explicitly, and they compile as audit entries", () => {
  const { policy } = defaultPolicy();
  assert.deepEqual(policy.spec.packageManagers, { mode: "audit" });
  const { spec, findings } = planPolicy(policy, { buildTime: BUILD, manifest: MANIFEST });
  assert.deepEqual(findings, []);
  assert.ok(spec.blockListAudit!.names.includes("apt-get") && spec.blockListAudit!.names.includes("npm"));
  assert.ok(!spec.blockList.names.includes("apt-get"));
});

test("the default compiles the runtime controls: stratum ports and reverse shells enforced, the rest audited", () => {
  const spec = compilePolicy(defaultPolicy().policy, { buildTime: BUILD, manifest: MANIFEST });
  assert.equal(spec.controls.network, "enforce");
  assert.equal(spec.controls["reverse-shell"], "enforce");
  assert.equal(spec.controls.files, "audit");
  assert.equal(spec.controls.privilege, "audit");
  assert.ok(spec.network!.connect.some((r) => r.action === "block" && r.cidr === "0.0.0.0/0" && r.ports === "3333"));
  assert.ok(spec.network!.connect.some((r) => r.action === "block" && r.cidr === "::/0" && r.ports === "3333"));
  assert.equal(spec.network!.default, "audit");
  assert.equal(spec.network!.listenDefault, "audit");
  assert.deepEqual(spec.files!.audited, ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/sudoers.d", "/root/.ssh"]);
  assert.ok(spec.shellNames!.includes("sh") && spec.shellNames!.includes("python3"));
});
