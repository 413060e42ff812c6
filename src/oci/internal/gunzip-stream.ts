/**
 * gzip decoding for layers: the project reads the gzip framing (RFC 1952 member headers and
 * trailers, any number of members) and hands each member's deflate data to zlib's raw inflate on
 * the thread pool.
 *
 * Why not `zlib.createGunzip`: it computes CRC-32 over every inflated byte, and a layer's
 * uncompressed bytes are always checked against its diff_id (SHA-256) anyway, so the CRC bought
 * nothing but about a third of the inflate's CPU time (docs/benchmarks.md, "Embed"). The trailer's
 * ISIZE is still checked; the CRC-32 and the optional header CRC-16 are read and not checked.
 * Contract: a consumer of this stream's output must verify it against the diff_id before trusting it.
 *
 * Stricter than zlib's gunzip in one way, like Go's compress/gzip (which container runtimes use):
 * bytes after the last member that are not another member are an error, not silently dropped.
 * @module
 */
import { Duplex } from "node:stream";
import { createInflateRaw, type InflateRaw, type ZlibOptions } from "node:zlib";
import { CorruptLayerError } from "../errors.js";

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const FRESERVED = 0xe0;

type Phase =
  /** the fixed 10 bytes of a member header (or nothing yet, between members) */
  | "fixed"
  | "xlen"
  | "extra"
  | "name"
  | "comment"
  | "hcrc"
  | "body"
  | "trailer";

/** Options of {@link GunzipStream}. */
export interface GunzipStreamOptions {
  /** Names the stream in errors, e.g. "layer sha256:… of IMAGE". */
  what: string;
  /** Inflated bytes per zlib call. */
  chunkSize: number;
  /** Inflated bytes zlib may hold ahead of this stream's reader. */
  inflatedAhead: number;
}

/**
 * A gzip decoder as a Duplex: write compressed bytes, read the inflated bytes. Errors are
 * {@link CorruptLayerError}s naming the stream and the compressed byte offset.
 *
 * A write's callback runs once every byte of the chunk was consumed (copied or inflated), so the
 * writer may reuse the chunk's memory then.
 */
export class GunzipStream extends Duplex {
  readonly #what: string;
  readonly #zlibOptions: ZlibOptions & { readableHighWaterMark: number };
  #phase: Phase = "fixed";
  /** Compressed bytes consumed before the current chunk. */
  #offset = 0;
  /** Offset of the current member's first byte. */
  #memberStart = 0;
  #members = 0;
  readonly #fixed = Buffer.alloc(10);
  readonly #trailer = Buffer.alloc(8);
  /** Bytes filled in #fixed, #trailer or the XLEN field; bytes left of FEXTRA or FHCRC. */
  #fill = 0;
  #left = 0;
  #xlen = 0;
  #flags = 0;
  #inflater: InflateRaw | undefined;
  /** Compressed bytes written to the current inflater. */
  #fed = 0;
  /** Inflated bytes of the current member (for ISIZE). */
  #inflated = 0;
  /** Resolves when the current inflater's output has all been read. */
  #memberEnd: Promise<void> | undefined;
  /** Set when this stream's reader wants no more for now; cleared by `_read`. */
  #full = false;
  #failure: Error | undefined;
  #onFailure: ((err: Error) => void) | undefined;

  constructor(opts: GunzipStreamOptions) {
    super({ readableHighWaterMark: opts.chunkSize, writableHighWaterMark: opts.chunkSize });
    this.#what = opts.what;
    this.#zlibOptions = { chunkSize: opts.chunkSize, readableHighWaterMark: opts.inflatedAhead };
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#consume(chunk).then(
      () => cb(),
      (err: unknown) => cb(err as Error),
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#finish().then(
      () => {
        this.push(null);
        cb();
      },
      (err: unknown) => cb(err as Error),
    );
  }

  override _read(): void {
    this.#full = false;
    this.#forward();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#fail(err ?? new CorruptLayerError(`Cannot decompress ${this.#what}: the stream was closed early`));
    this.#inflater?.destroy();
    cb(err);
  }

  /** `where`: the byte the problem is at, or (for zlib's findings inside the deflate data) where the member starts. */
  #corrupt(at: number, problem: string, where: "at" | "member" = "at", cause?: unknown): CorruptLayerError {
    const place = where === "at" ? `at compressed byte ${at}` : `which starts at compressed byte ${at}`;
    return new CorruptLayerError(`Cannot decompress ${this.#what}: ${problem} (gzip member ${this.#members + 1}, ${place})`, cause === undefined ? undefined : { cause });
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#onFailure?.(err);
  }

  /** `p`, or the first failure of this stream (an inflater's error) if that comes first. */
  #unlessFailed<T>(p: Promise<T>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#onFailure = reject;
      p.then(resolve, reject).finally(() => (this.#onFailure = undefined));
    });
  }

  async #consume(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.#failure) throw this.#failure;
      if (this.#phase === "body") {
        at = await this.#inflate(chunk, at);
        continue;
      }
      at = this.#frame(chunk, at);
    }
    this.#offset += chunk.length;
  }

  /** Reads header or trailer bytes from `chunk` at `at`; returns where it stopped. */
  #frame(chunk: Buffer, at: number): number {
    const pos = (i: number): number => this.#offset + i;
    switch (this.#phase) {
      case "fixed": {
        if (this.#fill === 0) this.#memberStart = pos(at);
        const n = chunk.copy(this.#fixed, this.#fill, at, at + 10 - this.#fill);
        this.#fill += n;
        at += n;
        // Reject a wrong magic number at once, so trailing bytes are named as such.
        if (this.#fill >= 1 && this.#fixed[0] !== 0x1f) throw this.#notMember();
        if (this.#fill >= 2 && this.#fixed[1] !== 0x8b) throw this.#notMember();
        if (this.#fill < 10) return at;
        const h = this.#fixed;
        if (h[2] !== 8) throw this.#corrupt(this.#memberStart + 2, `compression method ${h[2]} is not deflate (8)`);
        this.#flags = h[3]!;
        if (this.#flags & FRESERVED) throw this.#corrupt(this.#memberStart + 3, `reserved header flags are set (0x${this.#flags.toString(16)})`);
        this.#fill = 0;
        this.#nextHeaderField("fixed");
        return at;
      }
      case "xlen": {
        while (at < chunk.length && this.#fill < 2) this.#xlen |= chunk[at++]! << (8 * this.#fill++);
        if (this.#fill === 2) {
          this.#left = this.#xlen;
          this.#phase = "extra";
          if (this.#left === 0) this.#nextHeaderField("extra");
        }
        return at;
      }
      case "extra":
      case "hcrc": {
        const n = Math.min(this.#left, chunk.length - at);
        this.#left -= n;
        at += n;
        if (this.#left === 0) this.#nextHeaderField(this.#phase);
        return at;
      }
      case "name":
      case "comment": {
        const nul = chunk.indexOf(0, at);
        if (nul < 0) return chunk.length;
        this.#nextHeaderField(this.#phase);
        return nul + 1;
      }
      case "trailer": {
        const n = chunk.copy(this.#trailer, this.#fill, at, at + 8 - this.#fill);
        this.#fill += n;
        at += n;
        if (this.#fill < 8) return at;
        const isize = this.#trailer.readUInt32LE(4);
        if (isize !== this.#inflated % 2 ** 32) {
          throw this.#corrupt(pos(at) - 4, `the trailer says ${isize} bytes (mod 2^32), the member inflated to ${this.#inflated}`);
        }
        this.#members++;
        this.#fill = 0;
        this.#phase = "fixed";
        return at;
      }
      case "body":
        throw new Error("unreachable: body bytes go to the inflater");
    }
  }

  #notMember(): CorruptLayerError {
    return this.#members === 0
      ? this.#corrupt(this.#memberStart, "not gzip data (no gzip magic number at the start)")
      : new CorruptLayerError(`Cannot decompress ${this.#what}: the bytes after gzip member ${this.#members} (from compressed byte ${this.#memberStart}) are not another gzip member`);
  }

  /** Moves from header field `done` to the next field the flags announce, or to the body. */
  #nextHeaderField(done: "fixed" | "extra" | "name" | "comment" | "hcrc"): void {
    const order = ["fixed", "extra", "name", "comment", "hcrc"] as const;
    const flag = { extra: FEXTRA, name: FNAME, comment: FCOMMENT, hcrc: FHCRC } as const;
    for (const field of order.slice(order.indexOf(done) + 1)) {
      if (!(this.#flags & flag[field as keyof typeof flag])) continue;
      this.#fill = 0;
      if (field === "extra") {
        this.#xlen = 0;
        this.#phase = "xlen";
      } else if (field === "hcrc") {
        this.#left = 2;
        this.#phase = "hcrc";
      } else {
        this.#phase = field;
      }
      return;
    }
    this.#startBody();
  }

  #startBody(): void {
    const inflater = createInflateRaw(this.#zlibOptions);
    this.#inflater = inflater;
    this.#fed = 0;
    this.#inflated = 0;
    this.#phase = "body";
    this.#memberEnd = new Promise<void>((resolve) => inflater.once("end", resolve));
    inflater.on("error", (err) => this.#fail(this.#corrupt(this.#memberStart, `the deflate data is corrupt: ${err.message}`, "member", err)));
    inflater.on("readable", () => this.#forward());
  }

  /** Moves inflated bytes to this stream's reader while it wants them. */
  #forward(): void {
    const inflater = this.#inflater;
    if (!inflater) return;
    let c: Buffer | null;
    while (!this.#full && (c = inflater.read() as Buffer | null) !== null) {
      this.#inflated += c.length;
      if (!this.push(c)) this.#full = true;
    }
  }

  /**
   * Writes `chunk` from `at` to the member's inflater and waits until zlib consumed it. zlib stops
   * at the end of the deflate data and leaves the rest unread (`bytesWritten` counts what it took);
   * then the member's output is read to its end and framing continues after it.
   */
  async #inflate(chunk: Buffer, at: number): Promise<number> {
    const inflater = this.#inflater!;
    const part = chunk.subarray(at);
    this.#fed += part.length;
    await this.#unlessFailed(new Promise<void>((resolve, reject) => inflater.write(part, (err) => (err ? reject(err) : resolve()))));
    const unread = this.#fed - inflater.bytesWritten;
    if (unread === 0) return chunk.length;
    await this.#endMember();
    return chunk.length - unread;
  }

  async #endMember(): Promise<void> {
    const inflater = this.#inflater!;
    inflater.end();
    await this.#unlessFailed(this.#memberEnd!);
    this.#inflater = undefined;
    this.#fill = 0;
    this.#phase = "trailer";
  }

  async #finish(): Promise<void> {
    if (this.#failure) throw this.#failure;
    const end = this.#offset;
    if (this.#phase === "body") {
      // zlib reports deflate data that stops short ("unexpected end of file"); data that is
      // complete leaves the trailer missing.
      await this.#endMember();
      throw this.#corrupt(end, "the data ends before the member's trailer");
    }
    if (this.#phase === "fixed" && this.#fill === 0) {
      if (this.#members === 0) throw this.#corrupt(end, "the data is empty");
      return;
    }
    throw this.#corrupt(end, this.#phase === "trailer" ? "the data ends inside the member's trailer" : "the data ends inside a member header");
  }
}
