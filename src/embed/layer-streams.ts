/**
 * Streams an image's layers once each: the compressed blob is verified against its digest, copied
 * to a sink when the sink lacks it (and cannot mount it), and decompressed and verified against its
 * diff_id for the consumer (the executable-manifest walker), either here as tar streams
 * ({@link layerStreams}) or in scan worker threads as records ({@link layerScans}). Memory stays
 * flat: nothing is buffered beyond the streams' high-water marks.
 * @module
 */
import { PassThrough, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { uncompressedLayer } from "../oci/internal/decompress.js";
import { UnsupportedMediaTypeError } from "../oci/errors.js";
import type { Descriptor } from "../oci/v1/descriptor.js";
import { layerCompression, type Compression } from "../oci/v1/media-types.js";
import type { BlobOrigin, ImageSink, ImageSource } from "../oci/v1/store.js";
import type { LayerRecordLimits, LayerScan } from "../scan/layer-records.js";
import type { LayerScanPool } from "../scan/layer-scan-pool.js";

/** Progress of one layer, in compressed bytes. */
export interface LayerProgress {
  layer: number;
  layers: number;
  digest: string;
  bytes: number;
  total: number;
  /** False when the sink already had the blob (or mounted it) and it is only read for the scan. */
  copying: boolean;
  /** Set on the one last event of a layer: its digest and diff_id checked, its upload (if any) finished. */
  done?: true;
}

export interface LayerStreamOptions {
  /** Copy each blob here unless it is already present. */
  sink?: ImageSink;
  onProgress?: (p: LayerProgress) => void;
}

/** The layers of one image to read (and copy to `sink`), as embed and scan hand them to a scanner. */
export interface ImageLayers extends LayerStreamOptions {
  source: ImageSource;
  layers: Descriptor[];
  diffIds: string[];
}

/** One layer opened for reading: its verified compressed blob, and the upload fed from it. */
interface OpenLayer {
  compression: Compression;
  diffId: string;
  what: string;
  /** The verified compressed bytes; read it to the end (or stop it with {@link abort}). */
  blob: Readable;
  /** Settles when the copy to the sink is stored; undefined when nothing is copied. */
  upload: Promise<void> | undefined;
  /** Why the upload failed on its own (it then also failed `blob`), not because the source did. */
  readonly uploadError: unknown;
  /** Starts progress reports; call once `blob` is piped to its reader. */
  watch(): void;
  /** Reports the layer's one `done` event; call once its checks passed and its upload finished. */
  done(): void;
  /** Stops the download and the upload (the reader gave up), so no partial blob is committed. */
  abort(): Promise<void>;
}

function checkCounts(source: ImageSource, image: { layers: Descriptor[]; diffIds: string[] }): void {
  if (image.layers.length !== image.diffIds.length) {
    // A malformed image (exit 10), like any manifest or config that contradicts itself.
    throw new SyntaxError(`Cannot read the layers of ${source.name}: the manifest lists ${image.layers.length} layers, the config ${image.diffIds.length} diff_ids`);
  }
}

async function openLayer(source: ImageSource, image: { layers: Descriptor[]; diffIds: string[] }, i: number, opts: LayerStreamOptions): Promise<OpenLayer> {
  const { layers, diffIds } = image;
  const desc = layers[i]!;
  const what = `layer ${i} (${desc.digest}) of ${source.name}`;
  const compression = layerCompression(desc.mediaType);
  if (!compression) {
    throw new UnsupportedMediaTypeError(`Cannot read layer ${i} (${desc.digest}) of ${source.name}: unsupported layer media type ${desc.mediaType}`, desc.mediaType);
  }
  const origin: BlobOrigin | undefined = source.origin;
  const copying = opts.sink ? !(await opts.sink.hasBlob(desc, origin ? { origin } : {})) : false;
  const raw = await source.blob(desc);
  let upload: Promise<void> | undefined;
  let blob: Readable = raw;
  let bytes = 0;
  let uploadError: unknown;
  let sourceFailed = false;
  if (copying && opts.sink) {
    const up = new PassThrough();
    // A sink that fails before it reads `up` (its directory cannot be made) never listens to it;
    // that failure is reported through `upload`, the source's through `scan`.
    up.on("error", () => undefined);
    const scan = new PassThrough();
    raw.on("error", (err) => {
      sourceFailed = true;
      up.destroy(err);
      scan.destroy(err);
    });
    raw.pipe(up);
    raw.pipe(scan);
    upload = opts.sink.putBlob(desc, up).catch((err: unknown) => {
      if (!sourceFailed) uploadError ??= err;
      // Unblock the reader: an upload that stopped reading would stall the shared source.
      raw.destroy(err as Error);
      scan.destroy(err as Error);
      throw err;
    });
    upload.catch(() => undefined);
    blob = scan;
  }
  return {
    compression,
    diffId: diffIds[i]!,
    what,
    blob,
    upload,
    get uploadError() {
      return uploadError;
    },
    watch() {
      const progress = opts.onProgress;
      if (!progress) return;
      // Only once `blob` is piped: a 'data' listener starts the flow, and bytes emitted before the
      // consumer is attached would be lost to it.
      raw.on("data", (c: Buffer) => {
        bytes += c.length;
        progress({ layer: i + 1, layers: layers.length, digest: desc.digest, bytes, total: desc.size, copying });
      });
    },
    done() {
      opts.onProgress?.({ layer: i + 1, layers: layers.length, digest: desc.digest, bytes, total: desc.size, copying, done: true });
    },
    async abort() {
      raw.destroy(new Error(`Cannot finish ${what}: reading stopped early`));
      blob.destroy();
      await upload?.catch(() => undefined);
    },
  };
}

/**
 * The layers of one image as uncompressed tar streams, base first. Consume each stream fully (or
 * not at all) before pulling the next; the generator drains what is left and waits for the digest
 * and diff_id checks before it moves on, so a corrupt layer fails the iteration.
 */
export async function* layerStreams(
  source: ImageSource,
  image: { layers: Descriptor[]; diffIds: string[] },
  opts: LayerStreamOptions = {},
): AsyncGenerator<Readable> {
  checkCounts(source, image);
  for (let i = 0; i < image.layers.length; i++) {
    const layer = await openLayer(source, image, i, opts);
    const out = uncompressedLayer(layer.blob, { compression: layer.compression, diffId: layer.diffId, what: layer.what });
    layer.watch();
    let consumed = false;
    try {
      yield out;
      consumed = true;
    } finally {
      if (!consumed) {
        // The consumer gave up (e.g. the walker refused the layer): stop the download and the
        // upload so no socket keeps the process alive and no partial blob is committed.
        out.destroy();
        await layer.abort();
      }
    }
    if (!out.destroyed) out.resume();
    await finished(out);
    if (layer.upload) await layer.upload;
    layer.done();
  }
}

/** {@link layerStreams} for a consumer that takes the image as one value (embed's and scan's `scan`). */
export function imageLayerStreams(image: ImageLayers): AsyncGenerator<Readable> {
  return layerStreams(image.source, image, image);
}

/**
 * The layers of one image read into records by the workers of `pool`, up to `pool.size` layers at
 * once, yielded base first (apply them with `applyLayerScans`). Each blob is verified and copied as
 * by {@link layerStreams}. A layer whose reading failed is yielded with its failure (the walker
 * reports it after applying what came before it); an upload failure or an unsupported layer is
 * thrown in layer order. Stopping the iteration stops every download and upload still running.
 */
export async function* layerScans(image: ImageLayers, opts: { pool: LayerScanPool; limits: LayerRecordLimits }): AsyncGenerator<LayerScan> {
  const { source, pool, limits } = { ...image, ...opts };
  checkCounts(source, image);
  let stopped = false;
  const open = new Set<OpenLayer>();
  /** A layer's scan, and its `done` event to report once the walker has taken it. */
  async function run(i: number): Promise<{ scan: LayerScan; done?: () => void }> {
    const worker = await pool.acquire();
    let layer: OpenLayer | undefined;
    try {
      if (stopped) throw new Error(`Cannot read layer ${i} of ${source.name}: reading stopped`);
      layer = await openLayer(source, image, i, image);
      open.add(layer);
      // Download, blob digest and inflating (zlib on the thread pool) run here; the diff_id hash,
      // tar parsing and the file hashes in the worker, which checks the diff_id itself.
      const tar = uncompressedLayer(layer.blob, { compression: layer.compression, diffId: null, what: layer.what });
      const scanning = worker.scan(tar, { what: layer.what, diffId: layer.diffId, limits });
      layer.watch();
      const scan = await scanning;
      // A failed upload also fails the worker's read (it stops the blob); its own error says why and
      // keeps its class (the worker's copy of it would not), so it is what this layer throws.
      if (layer.uploadError !== undefined) throw layer.uploadError;
      if (!tar.readableEnded) {
        tar.destroy();
        await layer.abort();
        return { scan };
      }
      if (layer.upload) await layer.upload;
      // A layer that failed is reported by the walker, in order; it never gets its `done` event.
      const failed = scan.error !== undefined || scan.records.at(-1)?.bodyError !== undefined;
      return failed ? { scan } : { scan, done: () => layer!.done() };
    } finally {
      if (layer) open.delete(layer);
      pool.release(worker);
    }
  }
  const tasks: Promise<{ scan: LayerScan; done?: () => void }>[] = [];
  try {
    for (let i = 0; i < image.layers.length; i++) {
      const task = run(i);
      task.catch(() => undefined); // awaited in order below; an early failure must not go unhandled
      tasks.push(task);
    }
    for (const task of tasks) {
      const { scan, done } = await task;
      yield scan;
      // Here the walker has applied the layer: report it done in layer order, as layerStreams does.
      done?.();
    }
  } finally {
    stopped = true;
    await Promise.all([...open].map((l) => l.abort()));
    await Promise.allSettled(tasks);
  }
}
