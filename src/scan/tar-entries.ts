/**
 * Reads the entries of one uncompressed tar stream the way the Go `archive/tar` reader does (the
 * reader behind containerd, Docker and containers/storage), so the scanner sees the same files a
 * container runtime unpacks. Built on tar-stream, with its behaviour corrected where the two readers
 * disagree on hostile input:
 *
 * - a PAX global header changes nothing (tar-stream would merge it into later entries; Go and the
 *   runtimes ignore it);
 * - a GNU long name wins over a PAX `path` (Go's order; tar-stream's is the reverse);
 * - PAX records are parsed strictly, `uid`/`gid` records are applied, and `SCHILY.xattr.*` values
 *   are kept as bytes (tar-stream decodes them as UTF-8, which destroys capability sets);
 * - a header-only entry (directory, link, device, FIFO) that declares data is refused: Go reads the
 *   next header where tar-stream skips the data (or, for directories, does not), so the two would
 *   see different files;
 * - the old NUL typeflag with a trailing `/` is a directory (typeflag `0` stays a regular file);
 * - an entry after an end-of-archive zero block is refused (Go stops or fails there);
 * - numeric fields in any but the plain form (tar-stream and Go read `"\0 12"` as 0 and 10), negative
 *   base-256 numbers (which tar-stream misreads, e.g. -1 as 0), sparse files, unknown
 *   entry types, STAR-format headers and names that are not valid UTF-8 are refused.
 *
 * The corrections hook three internal methods of tar-stream's extractor; `package.json` pins
 * tar-stream exactly, and {@link readTarEntries} refuses to run if those methods are missing.
 * @module
 */
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import tarStream from "tar-stream";

/** The entry types a layer may contain. */
export type TarEntryType = "file" | "link" | "symlink" | "character-device" | "block-device" | "directory" | "fifo";

/** One entry; read or {@link skipBody} its body before asking for the next entry. */
export interface TarEntry {
  /** Byte offset of the entry's header in the stream (for error messages). */
  offset: number;
  /** The name as stored (not normalised). */
  name: string;
  linkname: string | null;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** `SCHILY.xattr.<name>` PAX records, name → raw value. */
  xattrs: Map<string, Buffer>;
  body: AsyncIterable<Buffer>;
}

/** A tar stream that cannot be read safely; `offset` is the byte offset of the header concerned. */
export class TarFormatError extends Error {
  readonly offset: number;
  readonly entryName: string | undefined;
  constructor(message: string, offset: number, entryName?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TarFormatError";
    this.offset = offset;
    this.entryName = entryName;
  }
}

const HEADER_ONLY = new Set(["link", "symlink", "character-device", "block-device", "directory", "fifo"]);
const XATTR_PREFIX = "SCHILY.xattr.";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Hooked extractor state shared with the entry loop. */
interface ReaderState {
  zeroBlocks: number;
  /** First numeric header field (of any header, long headers included) that readers may parse differently. */
  malformed: string | null;
}

const NUMERIC_FIELDS = [
  ["mode", 100, 8],
  ["uid", 108, 8],
  ["gid", 116, 8],
  ["size", 124, 12],
] as const;

/**
 * Octal fields both readers parse alike: optional leading spaces, octal digits, then only spaces or
 * NULs. Anything else (a NUL before the digits, a digit after a space) is read differently by
 * tar-stream (which stops early) and Go (which trims both ends first), and a different `size`
 * moves every later header.
 */
const PLAIN_OCTAL = /^ *[0-7]*[ \0]*$/;

/** Internal members of tar-stream 3.2.x's Extract that the corrections rely on. */
interface ExtractInternals {
  _consumeHeader(): boolean;
  _decodeLongHeader(buf: Buffer): void;
  _applyLongHeaders(): void;
  _buffer: { shift(size: number): Buffer | null };
  _header: (Record<string, unknown> & { type: string | null }) | null;
  _pax: Record<string, string | Buffer> | null;
  _paxGlobal: unknown;
  _gnuLongPath: string | null;
  _gnuLongLinkPath: string | null;
}

/**
 * Yields the entries of `input` (an uncompressed tar). The caller must consume or skip each entry's
 * body before continuing; breaking out of the loop destroys `input`.
 * @throws {TarFormatError} for malformed or ambiguous archives (see the module notes)
 */
export async function* readTarEntries(input: Readable): AsyncGenerator<TarEntry, void, undefined> {
  const extract = tarStream.extract();
  const state = hookExtract(extract as unknown as ExtractInternals);
  // A source failure also surfaces through the iterator below; `piping` never rejects (it resolves
  // to the error) and is awaited at the end, so nothing is left unhandled or running.
  let sourceError: unknown = null;
  let extractError: unknown = null;
  input.on("error", (err) => {
    sourceError ??= err;
  });
  extract.on("error", (err: unknown) => {
    extractError ??= err;
  });
  const piping = pipeline(input, extract).then(
    () => null,
    (err: unknown) => err,
  );
  let lastOffset = 0;
  try {
    for await (const raw of extract) {
      const header = raw.header as typeof raw.header & { pax?: Record<string, string | Buffer> | null; rawTypeflag?: number; star?: boolean; negativeField?: string; byteOffset?: number };
      const offset = Math.max(0, (header.byteOffset ?? 512) - 512);
      lastOffset = offset;
      const entry = checkEntry(header, raw as unknown as AsyncIterable<Buffer>, offset, state);
      entry.body = guardBody(entry, raw as unknown as AsyncIterable<Buffer>, () => ({ source: sourceError, extract: extractError }));
      yield entry;
    }
    if (state.malformed !== null) {
      throw new TarFormatError(`Cannot read tar stream after byte ${lastOffset}: a header has a malformed ${state.malformed} field`, lastOffset);
    }
  } catch (err) {
    if (err instanceof TarFormatError) throw err;
    if (sourceError !== null) {
      throw new Error(`Cannot read tar stream: its source failed after byte ${lastOffset}: ${(sourceError as Error)?.message ?? String(sourceError)}`, { cause: sourceError });
    }
    const reason = state.malformed !== null ? `a header has a malformed ${state.malformed} field` : ((err as Error)?.message ?? String(err));
    throw new TarFormatError(`Cannot read tar stream after byte ${lastOffset}: ${reason}`, lastOffset, undefined, { cause: err });
  } finally {
    if (!extract.destroyed) extract.destroy();
    await piping; // settles either way; a source error was already reported above
  }
}

/**
 * Re-labels the failure of an entry's body: when the archive ends early or the source fails, the
 * body stream only says it was destroyed; the real reason is the extractor's or source's error.
 */
async function* guardBody(
  entry: TarEntry,
  raw: AsyncIterable<Buffer>,
  reasons: () => { source: unknown; extract: unknown },
): AsyncGenerator<Buffer, void, undefined> {
  try {
    for await (const chunk of raw) yield chunk;
  } catch (err) {
    await new Promise((resolve) => setImmediate(resolve)); // let the extractor and source report first
    const { source, extract } = reasons();
    if (source !== null) {
      throw new Error(`Cannot read tar stream: its source failed in entry ${JSON.stringify(entry.name)}: ${(source as Error)?.message ?? String(source)}`, { cause: source });
    }
    const cause = extract ?? err;
    const text = (cause as Error)?.message ?? String(cause);
    throw new TarFormatError(`Cannot read tar entry ${JSON.stringify(entry.name)} at byte ${entry.offset}: ${text}`, entry.offset, entry.name, { cause });
  }
}

/** Drains an entry's body without looking at it. */
export async function skipBody(entry: TarEntry): Promise<void> {
  for await (const chunk of entry.body) void chunk;
}

function checkEntry(
  header: { name: string; linkname?: string | null | undefined; type?: string | null; mode?: number; uid?: number; gid?: number; size?: number; pax?: Record<string, string | Buffer> | null; rawTypeflag?: number; star?: boolean; negativeField?: string },
  body: TarEntry["body"],
  offset: number,
  state: ReaderState,
): TarEntry {
  const name = header.name;
  const bad = (reason: string): TarFormatError => new TarFormatError(`Cannot read tar entry ${JSON.stringify(name)} at byte ${offset}: ${reason}`, offset, name);
  if (state.zeroBlocks > 0) throw bad("it follows an end-of-archive zero block (runtimes stop reading there)");
  if (state.malformed !== null) throw bad(`a header at or before it has a malformed ${state.malformed} field`);
  if (header.negativeField !== undefined) throw bad(`negative ${header.negativeField} field`);
  if (header.star === true) throw bad("STAR-format headers are not supported (readers disagree on their name prefix)");
  let type = header.type ?? null;
  const flag = header.rawTypeflag ?? 0;
  // The old NUL typeflag with a trailing slash means a directory to Go; tar-stream says file.
  if (type === "file" && flag === 0 && name.endsWith("/")) type = "directory";
  if (type === null || type === "contiguous-file") {
    throw bad(`unsupported entry type ${JSON.stringify(String.fromCharCode(flag))}; only files, directories, links, devices and FIFOs are allowed in layers`);
  }
  for (const text of [name, header.linkname ?? ""]) {
    if (text.includes("\uFFFD")) throw bad("a name is not valid UTF-8");
    if (text.includes("\0")) throw bad("a name contains NUL");
  }
  const size = header.size ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw bad(`invalid size ${String(size)}`);
  if (HEADER_ONLY.has(type) && size > 0) {
    throw bad(`a ${type} entry declares ${size} data bytes; tar readers disagree on where the next header starts`);
  }
  let uid = header.uid ?? 0;
  let gid = header.gid ?? 0;
  const mode = header.mode ?? 0;
  const xattrs = new Map<string, Buffer>();
  for (const [key, value] of Object.entries(header.pax ?? {})) {
    if (key.startsWith("GNU.sparse.")) throw bad("sparse files are not supported");
    if ((key === "path" || key === "linkpath") && value.length === 0) throw bad(`empty PAX ${key} record`);
    if (key === "size" && !/^[0-9]{1,16}$/.test(String(value))) throw bad(`invalid PAX size ${JSON.stringify(String(value))}`);
    if (key === "uid" || key === "gid") {
      const text = String(value);
      if (!/^[0-9]{1,15}$/.test(text)) throw bad(`invalid PAX ${key} ${JSON.stringify(text)}`);
      if (key === "uid") uid = Number(text);
      else gid = Number(text);
    } else if (key.startsWith(XATTR_PREFIX)) {
      xattrs.set(key.slice(XATTR_PREFIX.length), Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8"));
    }
  }
  for (const [what, n] of [["mode", mode], ["uid", uid], ["gid", gid]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw bad(`invalid ${what} ${String(n)}`);
  }
  return { offset, name, linkname: header.linkname ?? null, type: type as TarEntryType, mode: mode & 0o7777, uid, gid, size, xattrs, body };
}

/** Installs the corrections on one extractor (see the module notes). */
function hookExtract(ex: ExtractInternals): ReaderState {
  for (const method of ["_consumeHeader", "_decodeLongHeader", "_applyLongHeaders"] as const) {
    if (typeof ex[method] !== "function" || !ex._buffer || typeof ex._buffer.shift !== "function") {
      throw new Error(`Cannot create tar reader: tar-stream lacks the internal ${method} this reader corrects; keep tar-stream pinned at 3.2.x`);
    }
  }
  const state: ReaderState = { zeroBlocks: 0, malformed: null };
  const consumeHeader = ex._consumeHeader;
  const decodeLongHeader = ex._decodeLongHeader;
  const applyLongHeaders = ex._applyLongHeaders;

  ex._consumeHeader = function (this: ExtractInternals): boolean {
    const buffer = this._buffer;
    const shift = buffer.shift;
    let block: Buffer | null = null;
    buffer.shift = function (this: unknown, size: number) {
      const got = shift.call(this, size);
      if (block === null && size === 512) block = got;
      return got;
    };
    try {
      return consumeHeader.call(this);
    } finally {
      buffer.shift = shift;
      if (block !== null) {
        // tar-stream returns no header for an end-of-archive block; remember that one was seen.
        if (this._header === null) state.zeroBlocks++;
        else {
          const b = block as Buffer;
          this._header.rawTypeflag = b[156];
          // tar-stream misreads negative base-256 numbers (all 0xff reads as -0, i.e. 0); Go refuses them.
          const negative = NUMERIC_FIELDS.find(([, at]) => b[at] === 0xff);
          if (negative) this._header.negativeField = negative[0];
          for (const [field, at, len] of NUMERIC_FIELDS) {
            if ((b[at]! & 0x80) === 0 && !PLAIN_OCTAL.test(b.toString("latin1", at, at + len))) state.malformed ??= field;
          }
          // Go reads STAR headers with a shorter name prefix; tar-stream does not know the format.
          this._header.star = b.toString("latin1", 257, 263) === "ustar\0" && b.toString("latin1", 508, 512) === "tar\0";
        }
      }
    }
  };

  ex._decodeLongHeader = function (this: ExtractInternals, buf: Buffer): void {
    const type = this._header?.type;
    if (type === "pax-global-header") return; // ignored, as Go's reader and the runtimes do
    if (type === "pax-header") {
      this._pax = decodePaxStrict(buf);
      return;
    }
    decodeLongHeader.call(this, buf);
  };

  ex._applyLongHeaders = function (this: ExtractInternals): void {
    const gnuPath = this._gnuLongPath;
    const gnuLink = this._gnuLongLinkPath;
    applyLongHeaders.call(this);
    if (this._header) {
      if (gnuPath) this._header.name = gnuPath;
      if (gnuLink) this._header.linkname = gnuLink;
    }
  };
  return state;
}

/**
 * Parses PAX records (`"<len> <key>=<value>\n"`), refusing anything malformed. Values of
 * `SCHILY.xattr.*` keys stay raw bytes; all other values must be UTF-8.
 */
export function decodePaxStrict(buf: Buffer): Record<string, string | Buffer> {
  const out: Record<string, string | Buffer> = {};
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    const lenText = space > at ? buf.toString("latin1", at, space) : "";
    if (!/^[1-9][0-9]{0,9}$/.test(lenText)) throw new Error(`Cannot parse PAX header: bad record length at byte ${at}`);
    const end = at + Number(lenText);
    if (end > buf.length || buf[end - 1] !== 0x0a) throw new Error(`Cannot parse PAX header: record at byte ${at} overruns or lacks its newline`);
    const record = buf.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new Error(`Cannot parse PAX header: record at byte ${at} has no key`);
    let key: string;
    try {
      key = utf8.decode(record.subarray(0, eq));
    } catch (err) {
      throw new Error(`Cannot parse PAX header: key at byte ${at} is not valid UTF-8`, { cause: err });
    }
    const raw = record.subarray(eq + 1);
    if (key.startsWith(XATTR_PREFIX)) {
      out[key] = Buffer.from(raw);
    } else {
      try {
        out[key] = utf8.decode(raw);
      } catch (err) {
        throw new Error(`Cannot parse PAX header: value of ${key} is not valid UTF-8`, { cause: err });
      }
    }
    at = end;
  }
  return out;
}
