import { createHash, type Hash } from "node:crypto";
import { EXEC_MAGIC_LENGTH } from "./exec-manifest.js";

/**
 * Hashes content as it streams past and keeps only its first {@link EXEC_MAGIC_LENGTH} bytes (for
 * {@link classifyExecutable}), so memory stays constant whatever the file size.
 */
export class ContentDigest {
  #hash: Hash = createHash("sha256");
  #head = Buffer.alloc(0);
  #size = 0;

  update(chunk: Uint8Array): void {
    if (this.#head.length < EXEC_MAGIC_LENGTH) {
      const take = Math.min(EXEC_MAGIC_LENGTH - this.#head.length, chunk.length);
      this.#head = Buffer.concat([this.#head, chunk.subarray(0, take)]);
    }
    this.#size += chunk.length;
    this.#hash.update(chunk);
  }

  get size(): number {
    return this.#size;
  }

  get head(): Buffer {
    return this.#head;
  }

  /** Ends hashing; call once. */
  digest(): { sha256: string; size: number; head: Buffer } {
    return { sha256: this.#hash.digest("hex"), size: this.#size, head: this.#head };
  }
}
