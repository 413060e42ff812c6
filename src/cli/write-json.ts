/**
 * Writes a JSON document to a stream piece by piece, byte for byte what `JSON.stringify(value,
 * null, 2)` returns, without ever holding the whole text: the manifest of an image with hundreds of
 * thousands of executables is tens of MiB as text, on top of the manifest itself.
 * @module
 */
import type { Writable } from "node:stream";

/** Text gathered before each write to the stream. */
const FLUSH_AT = 64 * 1024;
const INDENT = "  ";

/**
 * The pieces of `JSON.stringify(value, null, 2)`, in order, for plain data (objects, arrays,
 * strings, numbers, booleans, null; `toJSON` methods are not called). Object members whose value is
 * undefined, a function or a symbol are left out, and such array elements become `null`, as
 * `JSON.stringify` does.
 */
export function* jsonPieces(value: unknown, depth = 0): Generator<string> {
  if (Array.isArray(value)) {
    if (value.length === 0) return yield "[]";
    const inner = INDENT.repeat(depth + 1);
    yield "[";
    for (let i = 0; i < value.length; i++) {
      yield `${i === 0 ? "" : ","}\n${inner}`;
      const v: unknown = value[i];
      if (omitted(v)) yield "null";
      else yield* jsonPieces(v, depth + 1);
    }
    return yield `\n${INDENT.repeat(depth)}]`;
  }
  if (value !== null && typeof value === "object") {
    const inner = INDENT.repeat(depth + 1);
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (omitted(v)) continue;
      yield `${first ? "{" : ","}\n${inner}${JSON.stringify(k)}: `;
      first = false;
      yield* jsonPieces(v, depth + 1);
    }
    return yield first ? "{}" : `\n${INDENT.repeat(depth)}}`;
  }
  yield JSON.stringify(value) ?? "null";
}

function omitted(v: unknown): boolean {
  return v === undefined || typeof v === "function" || typeof v === "symbol";
}

/**
 * Writes `value` as `JSON.stringify(value, null, 2)` plus a newline to `out`, in 64 KiB writes,
 * waiting whenever `out` asks to (so a slow reader of the output does not make the text pile up).
 */
export async function writeJson(out: Writable, value: unknown): Promise<void> {
  let text = "";
  const flush = async (): Promise<void> => {
    const chunk = text;
    text = "";
    if (out.errored) throw out.errored;
    if (out.destroyed) throw new Error("Cannot write the JSON output: the stream is closed");
    if (!out.write(chunk)) await drained(out);
  };
  for (const piece of jsonPieces(value)) {
    text += piece;
    if (text.length >= FLUSH_AT) await flush();
  }
  text += "\n";
  await flush();
}

/** Resolves on `drain`; rejects when the stream fails or closes first. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      out.off("drain", onDrain);
      out.off("error", onError);
      out.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(out.errored ?? new Error("Cannot write the JSON output: the stream closed"));
    out.on("drain", onDrain);
    out.on("error", onError);
    out.on("close", onClose);
  });
}

/**
 * Writes `text` and resolves once the stream took it; rejects with the stream's error (a closed
 * pipe, a full disk) instead of leaving it to an 'error' event.
 */
export function writeText(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.errored) return reject(out.errored);
    if (out.destroyed) return reject(new Error("the stream is closed"));
    out.write(text, (err) => (err ? reject(err) : resolve()));
  });
}
