/**
 * Stand-ins for the two components embed takes from other modules, for tests of the OCI plumbing
 * only: a walker that lists regular files with an x bit per layer (no whiteout logic; the real
 * walker is tested in src/scan/) and a bundle writer that serialises the spec as JSON. End-to-end
 * tests use the real ones through the CLI.
 * @module
 */
import { createHash } from "node:crypto";
import { extract } from "tar-stream";
import type { BundleSpec } from "../../src/bundle/bundle-spec.js";
import { imageLayerStreams, type ImageLayers } from "../../src/embed/layer-streams.js";

export interface TestEntry {
  path: string;
  sha256: string;
  setuid: boolean;
}

export async function listExecutables(image: ImageLayers): Promise<{ entries: TestEntry[] }> {
  const byPath = new Map<string, TestEntry>();
  for await (const layer of imageLayerStreams(image)) {
    const ex = extract();
    const done = new Promise<void>((resolve, reject) => {
      ex.on("entry", (h, stream, next) => {
        const hash = createHash("sha256");
        stream.on("data", (c: unknown) => void hash.update(c as Buffer));
        stream.on("end", () => {
          if (h.type === "file" && ((h.mode ?? 0) & 0o111) !== 0) {
            const path = `/${h.name.replace(/^\.?\//, "")}`;
            byPath.set(path, { path, sha256: hash.digest("hex"), setuid: ((h.mode ?? 0) & 0o4000) !== 0 });
          }
          next();
        });
        stream.on("error", reject);
      });
      ex.on("finish", () => resolve());
      ex.on("error", reject);
      layer.on("error", (e) => ex.destroy(e));
    });
    layer.pipe(ex);
    await done;
  }
  return { entries: [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : 1)) };
}

/** A bundle builder that serialises the test spec with the platform's manifest as JSON. */
export function jsonBundle(manifest: BundleSpec["manifest"]): Buffer {
  return Buffer.from(JSON.stringify({ ...testBundleSpec(), manifest }));
}

export function testBundleSpec(): BundleSpec {
  return {
    failMode: "closed",
    activation: "always",
    dormancy: { env: [], paths: [] },
    controls: { drift: "enforce", fileless: "enforce", loader: "audit", blocklist: "off", allowlist: "off" },
    enforceAfter: {},
    driftSource: "manifest",
    reportExecs: false,
    blockList: { names: [], pathGlobs: [], sha256: [] },
    allowList: { names: [], pathGlobs: [], sha256: [] },
    manifest: [],
  };
}
