/**
 * An upper bound for spreading embed's scan over the cores: the per-layer pipeline embed runs
 * (download, blob digest, inflate, diff_id, tar parsing, hashes of the executables; the same
 * functions), restricted to every N-th layer of an image, in a process of its own. Two of these run
 * at once (K = 0 and 1 of N = 2) share nothing: no hand-over of bytes between threads, no shared
 * event loop, each with its own connection to the registry. No thread layout inside one process
 * can split the work more cheaply, so their wall time bounds what any parallel embed could reach
 * on this machine (run by bench/embed-throughput.ts).
 *
 * Child: `node dist/bench/embed-split.js docker://REF K N` prints `{wallMs, cpuMs, executables}`.
 * @module
 */
import { pathToFileURL } from "node:url";
import { relaxHeapGrowth } from "../src/cli/heap-growth.js";
import { imageLayerStreams } from "../src/embed/layer-streams.js";
import { ClientPool, openSource, parseLocation } from "../src/embed/transport.js";
import { parseImageConfig } from "../src/oci/v1/config.js";
import { parseImageManifest } from "../src/oci/v1/manifest.js";
import { buildExecManifest } from "../src/scan/layer-walker.js";

/** Scans layers K, K+N, K+2N… of the single-platform image `ref`; returns how many executables it found. */
export async function scanShare(ref: string, k: number, n: number): Promise<number> {
  const source = openSource(parseLocation(ref), new ClientPool({ insecureRegistries: [], endpoints: new Map() }));
  try {
    const manifest = parseImageManifest((await source.resolve()).bytes, ref);
    const config = parseImageConfig(await source.blobBytes(manifest.config), ref);
    const mine = manifest.layers.map((_, i) => i).filter((i) => i % n === k);
    const scanned = await buildExecManifest(
      imageLayerStreams({ source, layers: mine.map((i) => manifest.layers[i]!), diffIds: mine.map((i) => config.rootfs.diff_ids[i]!) }),
    );
    return scanned.entries.length;
  } finally {
    await source.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const heap = relaxHeapGrowth();
  try {
    const [ref, k, n] = [process.argv[2] ?? "", Number(process.argv[3]), Number(process.argv[4])];
    if (!ref.startsWith("docker://") || !Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k >= n) {
      throw new Error("usage: embed-split.js docker://REF K N (0 <= K < N)");
    }
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const executables = await scanShare(ref, k, n);
    const c = process.cpuUsage(c0);
    process.stdout.write(JSON.stringify({ wallMs: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (c.user + c.system) / 1000, executables }) + "\n");
  } finally {
    heap.stop();
  }
}
