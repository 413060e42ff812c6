/**
 * The scanner `inlay embed` and `inlay scan` use. On a machine with more than one core, one worker
 * thread parses each layer's tar and hashes its files while the main thread downloads, verifies
 * and inflates the next bytes (the hashing split over two cores); the records are applied to the
 * walker's tree in layer order on the main thread. On one core everything runs on the main thread
 * (`buildExecManifest`). `INLAY_SCAN_WORKERS=N` overrides: 0 for the main thread only, N (up to
 * 16) for N layers read at once (docs/benchmarks.md, "embed-throughput").
 * @module
 */
import { availableParallelism } from "node:os";
import { applyLayerScans, buildExecManifest, limitsOf, type BuildExecManifestOptions } from "../scan/layer-walker.js";
import type { ExecManifest } from "../scan/exec-manifest.js";
import { LayerScanPool } from "../scan/layer-scan-pool.js";
import { imageLayerStreams, layerScans, type ImageLayers } from "./layer-streams.js";

/** A scanner and the pool behind it; `close` it when done. */
export interface LayerScanner {
  scan(image: ImageLayers): Promise<ExecManifest>;
  close(): Promise<void>;
}

/** Reads `INLAY_SCAN_WORKERS` (a whole number 0–16; unset means 1 with more than one core, else 0). */
export function scanWorkersFromEnv(env: NodeJS.ProcessEnv = process.env, cores: number = availableParallelism()): number {
  const text = env.INLAY_SCAN_WORKERS;
  if (text === undefined || text === "") return cores > 1 ? 1 : 0;
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
