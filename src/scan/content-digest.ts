import { createHash, type Hash } from "node:crypto";
import { classifyExecutable, EXEC_MAGIC_LENGTH } from "./exec-manifest.js";

/** Any x bit, setuid or setgid: such a file is an executable whatever its content (see `classifyExecutable`). */
const EXEC_MODE_BITS = 0o6111;

/** What {@link ContentDigest} found: `sha256` is null when the content was not hashed (see `mode`). */
export interface ContentFacts {
  sha256: string | null;
  size: number;
  head: Buffer;
}

/**
 * Hashes content as it streams past and keeps only its first {@link EXEC_MAGIC_LENGTH} bytes (for
 * {@link classifyExecutable}), so memory stays constant whatever the file size. Given the file's
 * `mode`, it hashes only content that can be an executable: once the first bytes are known, a file
 * with no execute, setuid or setgid bit whose content starts with neither an ELF header nor `#!` is
 * only counted (most of an image's bytes are such data files, and the manifest lists executables).
 */
export class ContentDigest {
  /**
   * Created up front when the mode alone makes the file an executable (or no mode is given), else
   * once the first bytes show the content needs it: most files of an image are data, never hashed.
   */
  #hash: Hash | null;
  #head = Buffer.alloc(0);
  #size = 0;
  readonly #mode: number | undefined;
  /** Until the head is complete (and the decision made), the bytes wait here, unhashed. */
  #deciding: boolean;

  constructor(mode?: number) {
    this.#mode = mode;
    this.#deciding = mode !== undefined;
    this.#hash = mode === undefined || (mode & EXEC_MODE_BITS) !== 0 ? createHash("sha256") : null;
  }

  update(chunk: Uint8Array): void {
    if (this.#head.length < EXEC_MAGIC_LENGTH) {
      const take = Math.min(EXEC_MAGIC_LENGTH - this.#head.length, chunk.length);
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, take)]);
      if (this.#deciding) {
        if (this.#head.length < EXEC_MAGIC_LENGTH) {
          this.#size += chunk.length;
          return;
        }
        this.#decide();
        this.#size += chunk.length;
        this.#hash?.update(chunk.subarray(take));
        return;
      }
    }
    this.#size += chunk.length;
    this.#hash?.update(chunk);
  }

  get size(): number {
    return this.#size;
  }

  get head(): Buffer {
    return this.#head;
  }

  /** Ends hashing; call once. */
  digest(): ContentFacts {
    if (this.#deciding) this.#decide();
    return { sha256: this.#hash ? this.#hash.digest("hex") : null, size: this.#size, head: this.#head };
  }

  /** The head is complete (or the content ended): hash it and go on, or stop hashing. */
  #decide(): void {
    this.#deciding = false;
    if (classifyExecutable(this.#mode!, this.#head) === null) this.#hash = null;
    else (this.#hash ??= createHash("sha256")).update(this.#head);
  }
}
