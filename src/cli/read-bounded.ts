/**
 * Reads a whole input that must fit in memory, but never more than a limit: `/dev/zero`, a
 * runaway pipe or a file far too large fails early with the limit in the message instead of
 * growing until a string or buffer limit ("Invalid string length") or memory runs out.
 * @module
 */
import { createReadStream } from "node:fs";

/**
 * Reads `source` (a path, or a stream such as `process.stdin`) to its end.
 * @param max the most bytes accepted
 * @returns the bytes, at most `max`
 * @throws {RangeError} "it is larger than <max> bytes" once more arrives; the file system's error
 *   otherwise (its `code`, e.g. ENOENT or EISDIR, is kept)
 * @example
 * const text = (await readBounded("policy.yaml", 4 * 1024 * 1024)).toString("utf8");
 */
export async function readBounded(source: string | NodeJS.ReadableStream, max: number): Promise<Buffer> {
  const stream = typeof source === "string" ? createReadStream(source) : source;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const c = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      size += c.length;
      if (size > max) throw new RangeError(`it is larger than ${max} bytes`);
      chunks.push(c);
    }
  } finally {
    // A stream this function opened is closed here, also when it stops early; stdin is the caller's.
    if (typeof source === "string") (stream as ReturnType<typeof createReadStream>).destroy();
  }
  return Buffer.concat(chunks, size);
}
