/**
 * SHA-256 digests kept as 32 raw bytes each, in pages of one shared buffer, and named by a number:
 * the walker keeps one per executable of the image until the manifest is built, and a 64-character
 * hex string costs about 88 bytes of heap where this costs 32.
 * @module
 */

const DIGEST_BYTES = 32;
/** Digests per page (64 KiB); pages are never copied or grown, so no space is lost to doubling. */
const PAGE_DIGESTS = 2048;
const HEX64 = /^[0-9a-f]{64}$/;

/** An append-only store of SHA-256 digests. */
export class DigestStore {
  readonly #pages: Buffer[] = [];
  #count = 0;

  /** How many digests are stored. */
  get size(): number {
    return this.#count;
  }

  /**
   * Stores a digest given as lower-case hex and returns its index.
   * @throws {Error} "Cannot store digest ..." when `hex` is not 64 lower-case hex digits
   */
  add(hex: string): number {
    if (!HEX64.test(hex)) throw new Error(`Cannot store digest ${JSON.stringify(hex.slice(0, 80))}: expected 64 lower-case hex digits (a SHA-256)`);
    const index = this.#count;
    const slot = index % PAGE_DIGESTS;
    if (slot === 0) this.#pages.push(Buffer.alloc(PAGE_DIGESTS * DIGEST_BYTES));
    this.#pages[this.#pages.length - 1]!.write(hex, slot * DIGEST_BYTES, DIGEST_BYTES, "hex");
    this.#count++;
    return index;
  }

  /**
   * The digest stored at `index`, as lower-case hex (the string given to {@link add}).
   * @throws {RangeError} for an index that was never returned by {@link add}
   */
  hex(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.#count) throw new RangeError(`Cannot read digest ${index}: the store holds ${this.#count}`);
    const at = (index % PAGE_DIGESTS) * DIGEST_BYTES;
    return this.#pages[Math.floor(index / PAGE_DIGESTS)]!.toString("hex", at, at + DIGEST_BYTES);
  }
}
