/**
 * Streams an image's layers once each: the compressed blob is verified against its digest, copied
 * to a sink when the sink lacks it (and cannot mount it), and decompressed and verified against its
 * diff_id for the consumer (the executable-manifest walker). Memory stays flat: nothing is
 * buffered beyond the streams' high-water marks.
 * @module
 */
import { PassThrough, type Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { uncompressedLayer } from "../oci/internal/decompress.js";
import { UnsupportedMediaTypeError } from "../oci/errors.js";
import type { Descriptor } from "../oci/v1/descriptor.js";
import { layerCompression } from "../oci/v1/media-types.js";
import type { BlobOrigin, ImageSink, ImageSource } from "../oci/v1/store.js";

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
  const { layers, diffIds } = image;
  if (layers.length !== diffIds.length) {
    throw new RangeError(`Cannot read the layers of ${source.name}: the manifest lists ${layers.length} layers, the config ${diffIds.length} diff_ids`);
  }
  for (const [i, desc] of layers.entries()) {
    const compression = layerCompression(desc.mediaType);
    if (!compression) {
      throw new UnsupportedMediaTypeError(`Cannot read layer ${i} (${desc.digest}) of ${source.name}: unsupported layer media type ${desc.mediaType}`, desc.mediaType);
    }
    const origin: BlobOrigin | undefined = source.origin;
    const copying = opts.sink ? !(await opts.sink.hasBlob(desc, origin ? { origin } : {})) : false;
    const raw = await source.blob(desc);
    let bytes = 0;
    const progress = opts.onProgress;
    if (progress) {
      raw.on("data", (c: Buffer) => {
        bytes += c.length;
        progress({ layer: i + 1, layers: layers.length, digest: desc.digest, bytes, total: desc.size, copying });
      });
    }
    let upload: Promise<void> | undefined;
    let toScan: Readable = raw;
    if (copying && opts.sink) {
      const up = new PassThrough();
      const scan = new PassThrough();
      raw.on("error", (err) => {
        up.destroy(err);
        scan.destroy(err);
      });
      raw.pipe(up);
      raw.pipe(scan);
      upload = opts.sink.putBlob(desc, up).catch((err: unknown) => {
        // Unblock the walker: an upload that stopped reading would stall the shared source.
        raw.destroy(err as Error);
        scan.destroy(err as Error);
        throw err;
      });
      upload.catch(() => undefined);
      toScan = scan;
    }
    const out = uncompressedLayer(toScan, { compression, diffId: diffIds[i]!, what: `layer ${i} (${desc.digest}) of ${source.name}` });
    let consumed = false;
    try {
      yield out;
      consumed = true;
    } finally {
      if (!consumed) {
        // The consumer gave up (e.g. the walker refused the layer): stop the download and the
        // upload so no socket keeps the process alive and no partial blob is committed.
        const stop = new Error(`Cannot finish layer ${i} (${desc.digest}) of ${source.name}: reading stopped early`);
        raw.destroy(stop);
        out.destroy();
        await upload?.catch(() => undefined);
      }
    }
    if (!out.destroyed) out.resume();
    await finished(out);
    if (upload) await upload;
    opts.onProgress?.({ layer: i + 1, layers: layers.length, digest: desc.digest, bytes, total: desc.size, copying, done: true });
  }
}
