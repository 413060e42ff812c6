import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { BundleSpec } from "./bundle-spec.js";
import { defaultBundleSpec } from "./default-bundle-spec.js";
import { writeBundle } from "./write-bundle.js";
import { OVERLAY_MAX_SIZE, policyOverlayId, writePolicyOverlay } from "./write-policy-overlay.js";

// Tests run from dist/src/bundle/; the vectors stay in the source tree.
const vectors = fileURLToPath(new URL("../../../test/vectors/bundle/overlay/valid/", import.meta.url));
const hex = (s: string) => createHash("sha256").update(s).digest("hex");
const IMAGE_DIRECTIVES = /^(exe|fail-mode|activation|dormant-env|dormant-path|console|console-ca|enrol-token|console-plain-http|wait-for-policy) /m;

function rejects(spec: unknown, field: string, words: RegExp) {
  assert.throws(
    () => writePolicyOverlay(spec as BundleSpec),
    (err: Error) => {
      assert.match(err.message, /^Cannot write policy overlay: /);
      assert.ok(err.message.includes(field), `"${err.message}" should name ${field}`);
      assert.match(err.message, words);
      return true;
    },
  );
}

test("every valid overlay vector is written byte for byte from its spec", () => {
  const names = readdirSync(vectors).filter((n) => n.endsWith(".json"));
  assert.ok(names.length >= 4, `found ${names.length} overlay vectors`);
  for (const name of names) {
    const spec = JSON.parse(readFileSync(vectors + name, "utf8")) as BundleSpec;
    const want = readFileSync(vectors + name.replace(/\.json$/, ".overlay"));
    const got = writePolicyOverlay(spec);
    assert.equal(got.toString("utf8"), want.toString("utf8"), name);
    assert.equal(policyOverlayId(got), `sha256:${createHash("sha256").update(want).digest("hex")}`, name);
    assert.match(got.toString("utf8"), /^inlay-policy 1\n[\s\S]*\nend\n$/, name);
    assert.doesNotMatch(got.toString("utf8"), IMAGE_DIRECTIVES, `${name}: no image or link directive`);
  }
  assert.equal(readdirSync(vectors).filter((n) => n.endsWith(".overlay")).length, names.length, "every .overlay has its spec");
});

test("an overlay carries exactly the policy lines the bundle of the same spec carries, in the same order", () => {
  const specs: BundleSpec[] = readdirSync(vectors)
    .filter((n) => n.endsWith(".json"))
    .map((n) => JSON.parse(readFileSync(vectors + n, "utf8")) as BundleSpec);
  for (const spec of specs) {
    // The bundle needs the image's manifest for drift; the overlay leaves that to the merge.
    const bundle = writeBundle({ ...spec, manifest: [{ sha256: hex("sh"), path: "/bin/sh" }] }).toString("utf8").split("\n");
    const policyLines = bundle.filter((l) => l !== "" && l !== "end" && !l.startsWith("inlay-bundle ") && !IMAGE_DIRECTIVES.test(`${l}\n`));
    const overlay = writePolicyOverlay(spec).toString("utf8").split("\n");
    assert.deepEqual(overlay.slice(1, -2), policyLines);
  }
});

test("image settings are not written; a manifest or console link is refused with the field named", () => {
  const spec: BundleSpec = { ...defaultBundleSpec(), failMode: "open", activation: "serverless", dormancy: { env: ["X=1"], paths: ["/run/x"] } };
  const text = writePolicyOverlay(spec).toString("utf8");
  assert.doesNotMatch(text, IMAGE_DIRECTIVES);
  assert.match(text, /\ncontrol drift enforce\n/);
  rejects({ ...spec, manifest: [{ sha256: hex("sh"), path: "/bin/sh" }] }, "manifest", /must be empty in a policy overlay/);
  rejects({ ...spec, console: { url: "http://localhost" } }, "console", /must be absent in a policy overlay/);
  // Cross-line rules between policy directives still hold.
  rejects({ ...spec, enforceAfter: { loader: 1800000000 } }, "enforceAfter.loader", /needs controls\.loader = "audit"/);
  rejects({ ...spec, controls: { ...spec.controls, "reverse-shell": "enforce" } }, "shellNames", /is empty/);
  // Negative control: the same spec is refused as a bundle without a manifest, accepted as an overlay.
  assert.throws(() => writeBundle(spec), /manifest is empty but controls\.drift/);
});

test("an overlay beyond 1 MiB is refused, naming the limit", () => {
  const names = Array.from({ length: 40_000 }, (_, i) => `tool-${i}-${"x".repeat(20)}`);
  rejects({ ...defaultBundleSpec(), blockList: { names, pathGlobs: [], sha256: [] } }, String(OVERLAY_MAX_SIZE), /limit is 1048576/);
});
