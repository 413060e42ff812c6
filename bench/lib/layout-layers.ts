/**
 * The layers of an OCI layout's first image with their diff_ids, for benchmarks that read the
 * blobs straight from the layout. Imports only `node:` modules, so a bare benchmark process
 * (bench/embed-floor.ts) can use it without loading any of Inlay.
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** Each layer descriptor of the first image in `dir`'s index.json (typed as `D`), plus its diff_id. */
export async function layoutLayers<D extends { digest: string }>(dir: string): Promise<(D & { diffId: string })[]> {
  const blob = (d: string): string => join(dir, "blobs/sha256", d.slice("sha256:".length));
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), "utf8")) as { config: { digest: string }; layers: D[] };
  const config = JSON.parse(await readFile(blob(manifest.config.digest), "utf8")) as { rootfs: { diff_ids: string[] } };
  return manifest.layers.map((l, i) => ({ ...l, diffId: config.rootfs.diff_ids[i]! }));
}
