/**
 * The scanner `inlay embed` and `inlay scan` use. By default each layer is read on the main thread,
 * one after the other (`buildExecManifest`): download, blob digest, inflate (zlib on the thread
 * pool), diff_id, tar parsing and file hashes. With `INLAY_SCAN_WORKERS=N` (1–16), N layers are
 * read at once: the main thread still downloads, verifies and inflates each, and a worker thread per
 * layer checks its diff_id, parses its tar and hashes its files; the records are applied to the
 * walker's tree in layer order on the main thread, so results and errors are the same. On the
 * two-core machine of docs/benchmarks.md ("embed-throughput") that costs more CPU time and memory
 * than it saves in wall time, so it is opt-in.
 * @module
 */
import { applyLayerScans, buildExecManifest, limitsOf, type BuildExecManifestOptions } from "../scan/layer-walker.js";
import type { ExecManifest } from "../scan/exec-manifest.js";
import { LayerScanPool } from "../scan/layer-scan-pool.js";
import { imageLayerStreams, layerScans, type ImageLayers } from "./layer-streams.js";

/** A scanner and the pool behind it; `close` it when done. */
export interface LayerScanner {
  scan(image: ImageLayers): Promise<ExecManifest>;
  close(): Promise<void>;
}

/** Reads `INLAY_SCAN_WORKERS` (a whole number 0–16; unset means 0). */
export function scanWorkersFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.INLAY_SCAN_WORKERS;
  if (text === undefined || text === "") return 0;
  if (!/^(1[0-6]|[0-9])$/.test(text)) throw new RangeError(`Cannot use INLAY_SCAN_WORKERS=${JSON.stringify(text)}: expected a whole number from 0 to 16`);
  return Number(text);
}

/** Creates the scanner; `workers` 0 scans on the main thread. */
export function createLayerScanner(opts: BuildExecManifestOptions & { workers?: number } = {}): LayerScanner {
  const workers = opts.workers ?? 0;
  if (workers === 0) {
    return { scan: (image) => buildExecManifest(imageLayerStreams(image), opts), close: async () => undefined };
  }
  const pool = new LayerScanPool({ workers });
  return {
    scan: (image) => applyLayerScans(layerScans(image, { pool, limits: limitsOf(opts) }), opts),
    close: () => pool.close(),
  };
}
