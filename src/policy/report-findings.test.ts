import { test } from "node:test";
import assert from "node:assert/strict";
import { planPolicy } from "./compile-policy.js";
import { parsePolicy } from "./load-policy.js";
import { PACKAGE_MANAGER_NAMES } from "./package-managers.js";
import { reportFindings } from "./report-findings.js";

const TEXT = `apiVersion: inlay.dev/v1
kind: RuntimePolicy
metadata: {name: t}
spec:
  files:
    readOnly: {mode: enforce, paths: ["/etc/*.conf"]}
  packageManagers: {mode: {enforce: {after: "2027-01-01T00:00:00Z"}}}
`;
const BUILD = new Date("2026-11-28T00:00:00Z");
const MANIFEST = [{ sha256: "a".repeat(64), path: "/bin/sh" }];

test("explicit unenforced controls are refusals with positions, or loud warnings when allowed; defaults are one note", () => {
  const { policy, source } = parsePolicy(TEXT, { file: "t.yaml" });
  const { findings } = planPolicy(policy, { buildTime: BUILD, manifest: MANIFEST });
  const refused = reportFindings(source, findings, { allowUnenforced: false });
  const glob =
    'spec.files.readOnly.paths.0: path "/etc/*.conf" is not supported by this enforcer version yet: file controls take a path or DIR/* (everything below DIR), so it is left out';
  const pm =
    "spec.packageManagers: mode audit until 2027-01-01T00:00:00Z, then enforce cannot be compiled next to spec.miners (enforce): a block-list entry is either in the block list's mode or audit, so its 32 entries only report and never switch to enforce";
  assert.deepEqual(refused.refusals, [
    `t.yaml:6:39: ${glob}; name the file or its directory, or pass --allow-unenforced to build without it`,
    `t.yaml:7:3: ${pm}; give both the same mode, or pass --allow-unenforced to build them as audit only`,
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

test("package managers in plain audit beside enforced miners are no finding: they are compiled as audit entries", () => {
  for (const text of [TEXT.replace(/ {2}packageManagers: .*\n/, ""), TEXT.replace(/packageManagers: .*/, "packageManagers: {mode: audit}")]) {
    const { policy, source } = parsePolicy(text, { file: "t.yaml" });
    const { spec, findings } = planPolicy(policy, { buildTime: BUILD, manifest: MANIFEST });
    const report = reportFindings(source, findings, { allowUnenforced: true });
    assert.ok(report.warnings.every((w) => !w.includes("packageManagers")), report.warnings.join("\n"));
    assert.deepEqual(report.notes, []);
    assert.equal(spec.controls.blocklist, "enforce");
    assert.deepEqual(spec.blockListAudit?.names, [...PACKAGE_MANAGER_NAMES]);
  }
});
