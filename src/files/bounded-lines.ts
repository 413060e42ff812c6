/**
 * Splits a byte stream into lines without ever holding more than one line, and never more than a
 * limit of one line: a file with no line break (or `/dev/zero`) costs the limit, not its size.
 * @module
 */

/** One line, without its `\n` (a `\r` before it stays, for the caller to judge). */
export interface BoundedLine {
  /** The line, decoded as UTF-8; for an overlong line only its first {@link OVERLONG_HEAD_BYTES} bytes. */
  text: string;
  /** The line was longer than the limit; its bytes past the head were read and dropped. */
  overlong: boolean;
}

/**
 * A line went on past the point where the input is taken for something other than lines
 * (`/dev/zero`, a binary file); reading stops there.
 */
export class EndlessLineError extends RangeError {
  constructor(readonly limit: number) {
    super(`a line goes on past ${limit} bytes without a line break`);
    this.name = "EndlessLineError";
  }
}

/** How much of an overlong line is kept, enough to tell what it was. */
export const OVERLONG_HEAD_BYTES = 64;

/**
 * Yields the lines of `input` in order. A last line without a line break is yielded too; a final
 * line break does not make an empty last line.
 * @param max the most bytes a line may have (without its `\n`) to be yielded whole
 * @param giveUpAt the length at which a line is no longer skipped but ends the reading
 * @throws {EndlessLineError} when a line reaches `giveUpAt` bytes; the input's own error
 */
export async function* boundedLines(input: AsyncIterable<Buffer | Uint8Array | string>, max: number, giveUpAt = 64 * max): AsyncGenerator<BoundedLine> {
  let parts: Buffer[] = [];
  let size = 0;
  let head: Buffer | undefined;
  const take = (): BoundedLine => {
    const line = head !== undefined ? { text: head.toString("utf8"), overlong: true } : { text: Buffer.concat(parts, size).toString("utf8"), overlong: false };
    parts = [];
    size = 0;
    head = undefined;
    return line;
  };
  for await (const chunk of input) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const piece = buf.subarray(start, nl === -1 ? buf.length : nl);
      if (head === undefined && size + piece.length > max) {
        head = Buffer.concat([...parts, piece.subarray(0, OVERLONG_HEAD_BYTES)]).subarray(0, OVERLONG_HEAD_BYTES);
        parts = [];
      } else if (head === undefined && piece.length > 0) {
        // A piece that waits for the next chunk is copied: the stream may reuse its buffer.
        parts.push(nl === -1 ? Buffer.from(piece) : piece);
      }
      size += piece.length;
      if (size >= giveUpAt) throw new EndlessLineError(giveUpAt);
      if (nl === -1) break;
      yield take();
      start = nl + 1;
    }
  }
  if (size > 0) yield take();
}
