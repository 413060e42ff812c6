/**
 * Reads a whole input that must fit in memory, but never more than a limit: `/dev/zero`, a
 * runaway pipe, an endless HTTP body or a file far too large fails early with the limit in the
 * message instead of growing until a string or buffer limit ("Invalid string length") or memory
 * runs out. The one place the product reads something whole: manifests and configs, token answers,
 * policies, events and spec files, token and CA files.
 * @module
 */
import { createReadStream } from "node:fs";

/**
 * Data to be read into memory is over the limit for its kind. The image commands map it to their
 * "bad image" exit code (src/embed/exit-codes.ts); other callers add what they were reading.
 */
export class TooLargeError extends RangeError {
  /** The limit, in bytes, that the data went over. */
  readonly limit: number;
  constructor(message: string, limit: number) {
    super(message);
    this.name = "TooLargeError";
    this.limit = limit;
  }
}

/**
 * Reads `source` (a path, a Node stream such as `process.stdin`, or any async iterable of bytes
 * such as a fetch body) to its end.
 * @param max the most bytes accepted
 * @param what names the input for a message of its own ("Cannot read <what>: larger than the
 *   <max>-byte limit"); without it the message is "it is larger than <max> bytes", for callers that
 *   say what they were reading
 * @returns the bytes, at most `max`
 * @throws {TooLargeError} once more than `max` bytes arrive; the source's own error otherwise (a
 *   file system error keeps its `code`, e.g. ENOENT or EISDIR)
 * @example
 * const text = (await readBounded("policy.yaml", 4 * 1024 * 1024)).toString("utf8");
 */
export async function readBounded(source: string | AsyncIterable<Uint8Array | string>, max: number, what?: string): Promise<Buffer> {
  const stream = typeof source === "string" ? createReadStream(source) : source;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      // A Uint8Array that is not a Buffer (a fetch body's chunk) is copied: its producer may reuse it.
      const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += c.length;
      if (size > max) {
        throw new TooLargeError(what === undefined ? `it is larger than ${max} bytes` : `Cannot read ${what}: larger than the ${max}-byte limit`, max);
      }
      chunks.push(c);
    }
  } finally {
    // A stream this function opened is closed here, also when it stops early; others are the
    // caller's (leaving a for-await early already cancels them).
    if (typeof source === "string") (stream as ReturnType<typeof createReadStream>).destroy();
  }
  return Buffer.concat(chunks, size);
}
