/**
 * An image source and sink held in memory, for tests of the layer pipeline without a registry.
 * The source verifies each blob against its descriptor as the real sources do.
 * @module
 */
import { Readable } from "node:stream";
import { verifyBlob } from "../../src/oci/internal/verify.js";
import type { Descriptor } from "../../src/oci/v1/descriptor.js";
import type { ImageSink, ImageSource } from "../../src/oci/v1/store.js";

/**
 * A source serving `blobs` by digest. `lie` maps a digest to other bytes served in its place (a
 * registry that lies); `chunkBytes` splits each blob into reads of that size (default: one read).
 */
export function memorySource(blobs: Map<string, Buffer>, options: { lie?: Map<string, Buffer>; chunkBytes?: number } = {}): ImageSource {
  return {
    name: "memory",
    resolve: () => Promise.reject(new Error("unused")),
    manifest: () => Promise.reject(new Error("unused")),
    blobBytes: () => Promise.reject(new Error("unused")),
    blob: async (d: Descriptor) => {
      const bytes = options.lie?.get(d.digest) ?? blobs.get(d.digest)!;
      const step = options.chunkBytes ?? Math.max(bytes.length, 1);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += step) chunks.push(bytes.subarray(at, at + step));
      return verifyBlob(Readable.from(chunks), d, { what: `blob ${d.digest}` });
    },
    close: async () => undefined,
  };
}

/** A sink that keeps every blob it is given in `stored`, by digest. */
export function memorySink(): ImageSink & { stored: Map<string, Buffer> } {
  const stored = new Map<string, Buffer>();
  return {
    name: "memory sink",
    stored,
    hasBlob: async (d) => stored.has(d.digest),
    putBlob: async (d, data) => {
      const chunks: Buffer[] = [];
      for await (const c of data) chunks.push(c as Buffer);
      stored.set(d.digest, Buffer.concat(chunks));
    },
    putManifest: async () => undefined,
    commit: async () => undefined,
    close: async () => undefined,
  };
}
