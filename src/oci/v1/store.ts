import type { Readable } from "node:stream";
import type { Descriptor } from "./descriptor.js";

/**
 * Where a blob already lives in a registry, so a sink on the same registry can mount it instead of
 * uploading it.
 */
export interface BlobOrigin {
  /** `host[:port]` */
  registry: string;
  repository: string;
}

/** The root a reference resolves to: a manifest or an index, with its exact bytes. */
export interface Resolved {
  descriptor: Descriptor;
  bytes: Buffer;
}

/**
 * A read-only, content-addressed view of one image (or index) in some medium. Every read is
 * checked against its descriptor: a wrong size or digest is an error, never silently used.
 */
export interface ImageSource {
  /** Names the source in messages, e.g. `registry 127.0.0.1:5000 repository app`. */
  readonly name: string;
  /** Set when blobs can be mounted from this source by a sink on the same registry. */
  readonly origin?: BlobOrigin;
  /** Resolves the reference the source was opened with. */
  resolve(): Promise<Resolved>;
  /** A manifest or index by descriptor, verified. */
  manifest(desc: Descriptor): Promise<Buffer>;
  /** A small blob (a config) read whole, verified and bounded by the descriptor's size. */
  blobBytes(desc: Descriptor): Promise<Buffer>;
  /** A blob as a stream that fails if its bytes do not match the descriptor. */
  blob(desc: Descriptor): Promise<Readable>;
  close(): Promise<void>;
}

/**
 * A content-addressed destination. Blobs go first, then manifests by digest, and `commit` (the tag,
 * the index.json entry, the archive's manifest.json) last: until then nothing is visible by name.
 */
export interface ImageSink {
  readonly name: string;
  /** True when the sink already holds the blob, or made it present by mounting it from `origin`. */
  hasBlob(desc: Descriptor, opts?: { origin?: BlobOrigin }): Promise<boolean>;
  /** Stores a blob; the stream's bytes must match the descriptor. */
  putBlob(desc: Descriptor, data: Readable): Promise<void>;
  /** Stores a manifest or index by digest with its exact bytes and media type. */
  putManifest(desc: Descriptor, bytes: Buffer): Promise<void>;
  /** Makes `root` visible under the sink's name (tag); the last step of a write. */
  commit(root: Descriptor, bytes: Buffer): Promise<void>;
  /** Releases resources; a sink that was not committed leaves nothing visible behind. */
  close(): Promise<void>;
}
