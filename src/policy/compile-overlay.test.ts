import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { compilePolicyOverlay } from "./compile-overlay.js";
import { compilePolicy, PolicyCompileError } from "./compile-policy.js";
import { parsePolicy } from "./load-policy.js";
import { writeBundle } from "../bundle/write-bundle.js";

const load = (body: string) => parsePolicy(`apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: web\nspec:\n${body}`, { file: "web.yaml" });

function refused(body: string, pattern: RegExp) {
  assert.throws(
    () => compilePolicyOverlay(load(body)),
    (err: unknown) => {
      assert.ok(err instanceof PolicyCompileError, String(err));
      assert.match(err.message, /^Cannot compile policy web as a console policy:\n/);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test("the default policy compiles to an overlay with manifest drift and no exe line", () => {
  const { overlay, overlayId } = compilePolicyOverlay(load("  reportExecs: false\n"));
  const text = overlay.toString("utf8");
  assert.match(text, /^inlay-policy 1\ncontrol drift enforce\n/);
  assert.match(text, /\ndrift-source manifest\n/);
  assert.doesNotMatch(text, /^(exe|fail-mode|activation|dormant-env|dormant-path) /m);
  assert.match(text, /\nend\n$/);
  assert.equal(overlayId, `sha256:${createHash("sha256").update(overlay).digest("hex")}`);
  // Negative control: as a bundle, the same policy needs the image's manifest.
  assert.throws(() => compilePolicy(load("  reportExecs: false\n").policy, { buildTime: new Date() }), /needs the image's executables/);
});

test("the overlay's policy lines are those of a bundle compiled from the same policy", () => {
  const loaded = load("  executables:\n    drift:\n      mode: audit\n      source: manifest-free\n    block:\n      mode: enforce\n      names: [nc]\n");
  const bundle = writeBundle(compilePolicy(loaded.policy, { buildTime: new Date("2026-01-01T00:00:00Z") })).toString("utf8");
  const overlay = compilePolicyOverlay(loaded).overlay.toString("utf8");
  const policyPart = (t: string) => t.split("\n").filter((l) => /^(control|enforce-after|drift-source|report-execs|block-|allow-|net-|file-|shell-name)/.test(l));
  assert.deepEqual(policyPart(overlay), policyPart(bundle));
  assert.ok(policyPart(overlay).includes("block-name nc"));
});

test("a date counted from the build is refused, naming the line and what to write instead", () => {
  refused("  executables:\n    loader:\n      mode: {enforce: {afterDaysFromBuild: 7}}\n", /^web\.yaml:8:13: spec\.executables\.loader\.mode: enforce: \{afterDaysFromBuild: 7\} counts from the image's build time.*; use enforce: \{after: <date>\} in a console policy/m);
  // An absolute date is fine and becomes enforce-after.
  const ok = compilePolicyOverlay(load("  executables:\n    loader:\n      mode: {enforce: {after: \"2027-01-01T00:00:00Z\"}}\n")).overlay.toString("utf8");
  assert.match(ok, /\ncontrol loader audit\n[\s\S]*\nenforce-after loader 1798761600\n/);
});

test("fail mode and activation written in a console policy are refused unless unenforced controls are allowed", () => {
  refused("  failMode: open\n", /^web\.yaml:6:13: spec\.failMode: the fail mode belongs to the image/m);
  refused("  activation:\n    mode: serverless\n", /spec\.activation: activation and dormancy belong to the image/);
  const allowed = compilePolicyOverlay(load("  failMode: open\n"), { allowUnenforced: true });
  assert.doesNotMatch(allowed.overlay.toString("utf8"), /fail-mode/);
});

test("errors inside the policy rules are still refused (an allow list with no entries)", () => {
  refused("  executables:\n    allow:\n      mode: enforce\n", /spec\.executables\.allow: mode enforce with no names/);
});
