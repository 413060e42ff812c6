/**
 * Digest-verified, size-bounded reads: a blob is never used unless its bytes hash to the digest
 * its descriptor names, and reading stops with an error at the first byte beyond the declared size.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import type { Descriptor } from "../v1/descriptor.js";

/** A blob's bytes did not match its descriptor. Callers abort the whole operation. */
export class DigestMismatchError extends Error {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super(`Cannot verify ${what}: content has digest ${actual}, the descriptor says ${expected}`);
    this.name = "DigestMismatchError";
    this.expected = expected;
    this.actual = actual;
  }
}

/** A blob was longer or shorter than its descriptor's size. */
export class SizeMismatchError extends Error {
  constructor(what: string, expected: number, actual: string) {
    super(`Cannot verify ${what}: the descriptor says ${expected} bytes, read ${actual}`);
    this.name = "SizeMismatchError";
  }
}

/**
 * A running digest check: feed it every byte with {@link update}, then {@link check} throws when
 * the digest (and size, if given) differ from what the descriptor says.
 */
export class DigestCheck {
  readonly #hash: Hash = createHash("sha256");
  readonly #expected: string;
  readonly #size: number | undefined;
  readonly #what: string;
  #seen = 0;
  constructor(what: string, expectedDigest: string, size?: number) {
    this.#what = what;
    this.#expected = expectedDigest;
    this.#size = size;
  }
  /** @throws {SizeMismatchError} as soon as more bytes than the declared size arrive */
  update(chunk: Uint8Array): void {
    this.#seen += chunk.length;
    if (this.#size !== undefined && this.#seen > this.#size) throw new SizeMismatchError(this.#what, this.#size, `more than that`);
    this.#hash.update(chunk);
  }
  /** Ends the check; call once. @throws {SizeMismatchError} @throws {DigestMismatchError} */
  check(): void {
    if (this.#size !== undefined && this.#seen !== this.#size) throw new SizeMismatchError(this.#what, this.#size, String(this.#seen));
    const actual = `sha256:${this.#hash.digest("hex")}`;
    if (actual !== this.#expected) throw new DigestMismatchError(this.#what, this.#expected, actual);
  }
  /** Bytes seen so far. */
  get bytes(): number {
    return this.#seen;
  }
}

/**
 * A pass-through that hashes what flows by and fails at the end when the digest (and size, if
 * given) differ. Bytes pass before the check completes, so consumers must treat a stream error
 * as "discard everything".
 */
export class VerifyStream extends Transform {
  readonly #check: DigestCheck;
  constructor(what: string, expectedDigest: string, size?: number) {
    super();
    this.#check = new DigestCheck(what, expectedDigest, size);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.#check.update(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.#check.check();
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }
  /** Bytes seen so far. */
  get bytes(): number {
    return this.#check.bytes;
  }
}

/**
 * Wraps a raw blob stream so it fails on a size or digest mismatch with `desc`. Errors of the
 * raw stream are forwarded, through `sourceError` when given (which adds what failed and where).
 */
export function verifyBlob(raw: Readable, desc: Descriptor, opts: { what?: string; sourceError?: (err: Error, bytes: number) => Error } = {}): Readable {
  const v = new VerifyStream(opts.what ?? `blob ${desc.digest}`, desc.digest, desc.size);
  const { sourceError } = opts;
  raw.on("error", (err) => v.destroy(sourceError ? sourceError(err, v.bytes) : err));
  v.on("close", () => {
    if (!raw.destroyed) raw.destroy();
  });
  return raw.pipe(v);
}

/** Checks bytes already in memory against a descriptor. */
export function verifyBytes(bytes: Buffer, desc: Descriptor, opts: { what?: string } = {}): Buffer {
  const what = opts.what ?? `blob ${desc.digest}`;
  if (bytes.length !== desc.size) throw new SizeMismatchError(what, desc.size, String(bytes.length));
  const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (actual !== desc.digest) throw new DigestMismatchError(what, desc.digest, actual);
  return bytes;
}

/** Largest manifest or config accepted (the distribution spec suggests registries accept at least 4 MiB). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
