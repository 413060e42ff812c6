import { test } from "node:test";
import assert from "node:assert/strict";
import { planPolicy } from "./compile-policy.js";
import { parsePolicy } from "./load-policy.js";
import { reportFindings } from "./report-findings.js";

const TEXT = `apiVersion: inlay.dev/v1
kind: RuntimePolicy
metadata: {name: t}
spec:
  files:
    readOnly: {mode: enforce, paths: ["/etc/*.conf"]}
  packageManagers: {mode: audit}
`;

test("explicit unenforced controls are refusals with positions, or loud warnings when allowed; defaults are one note", () => {
  const { policy, source } = parsePolicy(TEXT, { file: "t.yaml" });
  const { findings } = planPolicy(policy, { buildTime: new Date("2026-11-28T00:00:00Z"), manifest: [{ sha256: "a".repeat(64), path: "/bin/sh" }] });
  const refused = reportFindings(source, findings, { allowUnenforced: false });
  const glob =
    'spec.files.readOnly.paths.0: path "/etc/*.conf" is not supported by this enforcer version yet: file controls take a path or DIR/* (everything below DIR), so it is left out';
  const pm =
    "spec.packageManagers: mode audit cannot be compiled next to spec.miners (enforce): bundle format 1 has one mode for every block-list entry, so its 32 entries are left out";
  assert.deepEqual(refused.refusals, [
    `t.yaml:6:39: ${glob}; name the file or its directory, or pass --allow-unenforced to build without it`,
    `t.yaml:7:3: ${pm}; give both the same mode, or pass --allow-unenforced to build without them`,
  ]);
  assert.deepEqual(refused.warnings, []);
  const allowed = reportFindings(source, findings, { allowUnenforced: true });
  assert.deepEqual(allowed.refusals, []);
  assert.deepEqual(allowed.warnings, [
    `WARNING: NOT ENFORCED (--allow-unenforced): t.yaml:6:39: ${glob}`,
    `WARNING: NOT ENFORCED (--allow-unenforced): t.yaml:7:3: ${pm}`,
  ]);
  // Every defaulted runtime control is enforced now: nothing left to note.
  assert.deepEqual(allowed.notes, []);
});
