/**
 * Layer decompression as streams: gzip through node:zlib, zstd through fzstd (Node 20 has no zstd),
 * and a diff_id check on the uncompressed bytes.
 * @module
 */
import { createGunzip } from "node:zlib";
import { PassThrough, Transform, type Readable, type TransformCallback } from "node:stream";
import { Decompress } from "fzstd";
import type { Compression } from "../v1/media-types.js";
import { VerifyStream } from "./verify.js";

/** zstd decoder as a Transform; fzstd calls back synchronously inside push(). */
class ZstdDecompressStream extends Transform {
  readonly #d: Decompress;
  constructor() {
    super();
    this.#d = new Decompress((chunk) => {
      this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.#d.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      cb();
    } catch (err) {
      cb(new Error(`Cannot decompress zstd layer: ${(err as Error).message}`, { cause: err }));
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.#d.push(new Uint8Array(0), true);
      cb();
    } catch (err) {
      cb(new Error(`Cannot decompress zstd layer: ${(err as Error).message}`, { cause: err }));
    }
  }
}

function forward(from: Readable, to: Readable): void {
  from.on("error", (err) => to.destroy(err));
}

/**
 * The decoder of one layer: write the compressed bytes to `input`, read the verified uncompressed
 * bytes from `output`. `output` errors when `input` is destroyed with an error, when the data is
 * corrupt, or when the diff_id differs. When `inputReleased` is true, a chunk written to `input` is
 * no longer referenced once its write callback has run (zlib has consumed it), so its memory may
 * be reused; otherwise the decoder may keep it.
 */
export function layerDecoder(opts: { compression: Compression; diffId: string; what?: string }): { input: Transform; output: Readable; inputReleased: boolean } {
  const { compression, diffId, what = `layer ${diffId}` } = opts;
  let dec: Transform;
  // Large output chunks: one threadpool round trip per 256 KiB instead of per 16 KiB.
  if (compression === "gzip") dec = createGunzip({ chunkSize: 256 * 1024 });
  else if (compression === "zstd") dec = new ZstdDecompressStream();
  else dec = new PassThrough();
  const check = new VerifyStream(`${what} (uncompressed, against its diff_id)`, diffId);
  forward(dec, check);
  return { input: dec, output: dec.pipe(check), inputReleased: compression === "gzip" };
}

/**
 * Decompresses a layer stream and verifies the uncompressed bytes against `diffId`. The returned
 * stream errors when the compressed input errors (e.g. its digest check fails), when the data is
 * corrupt, or when the diff_id differs.
 */
export function uncompressedLayer(compressed: Readable, opts: { compression: Compression; diffId: string; what?: string }): Readable {
  const { input, output } = layerDecoder(opts);
  forward(compressed, input);
  output.on("close", () => {
    if (!compressed.destroyed) compressed.destroy();
  });
  compressed.pipe(input);
  return output;
}
