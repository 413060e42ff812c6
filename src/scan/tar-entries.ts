/**
 * Reads the entries of one uncompressed tar stream the way the Go `archive/tar` reader does (the
 * reader behind containerd, Docker and containers/storage), so the scanner sees the same files a
 * container runtime unpacks. Where tar readers disagree on hostile input, the archive is refused
 * rather than read one way:
 *
 * - a PAX global header changes nothing (Go and the runtimes ignore it);
 * - a GNU long name or link wins over a PAX `path`/`linkpath` (Go's order);
 * - PAX records are parsed strictly; `path`, `linkpath`, `size`, `uid`, `gid` are applied, and
 *   `SCHILY.xattr.*` values are kept as bytes (capability sets are binary);
 * - the ustar `prefix` field is joined to the name for ustar headers only (not GNU or v7 ones);
 * - a header-only entry (directory, link, device, FIFO) that declares data is refused: some readers
 *   skip the data, others read the next header from it;
 * - the old NUL typeflag with a trailing `/` is a directory (typeflag `0` stays a regular file);
 * - a non-zero block after an end-of-archive zero block is refused (Go stops or fails there);
 * - numeric fields in any but the plain octal form (`"\0 12"` is 10 to Go, 0 to others), negative
 *   base-256 numbers, sparse files, unknown entry types, STAR-format headers, empty names, names
 *   that are not valid UTF-8 and checksums that match neither the unsigned nor the signed sum are
 *   refused; PAX and GNU long-name headers are limited to 1 MiB, as in Go.
 *
 * {@link TarEntryReader} is a synchronous push parser: chunks go in, each entry's header is handed to
 * a callback and its body streamed to the sink the callback returns, as sub-views of the chunks
 * (nothing is copied except a header split across two chunks). One pass, no per-entry streams.
 * @module
 */

/** The entry types a layer may contain. */
export type TarEntryType = "file" | "link" | "symlink" | "character-device" | "block-device" | "directory" | "fifo";

/** One entry's header, with PAX and GNU long headers applied. */
export interface TarHeader {
  /** Byte offset of the entry's own header in the stream (after any PAX/GNU headers before it). */
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
}

/** Where an entry's body goes; `end` is called once all `size` bytes were passed to `update`. */
export interface TarBodySink {
  update(chunk: Uint8Array): void;
  end(): void;
}

/**
 * What the reader does with an entry's body: a sink to stream it to, `"skip"` to pass over it, or
 * `"stop"` to stop reading the archive (the rest of the input is then ignored).
 */
export type TarEntryAction = TarBodySink | "skip" | "stop";

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

const BLOCK = 512;
/** Largest PAX or GNU long-name header body accepted (Go's `maxSpecialFileSize`). */
const MAX_META_SIZE = 1024 * 1024;
const XATTR_PREFIX = "SCHILY.xattr.";
const HEADER_ONLY: ReadonlySet<TarEntryType> = new Set(["link", "symlink", "character-device", "block-device", "directory", "fifo"]);
const TYPES: Record<string, TarEntryType> = { "0": "file", "1": "link", "2": "symlink", "3": "character-device", "4": "block-device", "5": "directory", "6": "fifo" };
const utf8 = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder("utf-8");

/** Numeric fields checked in every header: name, offset, length. */
const NUMERIC_FIELDS = [
  ["mode", 100, 8],
  ["uid", 108, 8],
  ["gid", 116, 8],
  ["size", 124, 12],
] as const;
type NumericField = (typeof NUMERIC_FIELDS)[number][0];

/**
 * Octal fields every reader parses alike: optional leading spaces, octal digits, then only spaces
 * or NULs. Anything else (a NUL before the digits, a digit after a space) is read differently by
 * different readers, and a different `size` moves every later header.
 */
const PLAIN_OCTAL = /^ *[0-7]*[ \0]*$/;

/** What a PAX or GNU long-name header leaves for the entry after it. */
interface Pending {
  pax: Record<string, string | Buffer> | null;
  gnuName: string | null;
  gnuLink: string | null;
}

type State =
  | { t: "header" }
  /** An entry's body: `left` bytes still to come, then `pad` bytes of padding. */
  | { t: "body"; header: TarHeader; sink: TarBodySink | null; left: number; pad: number }
  /** A PAX (`x`) or GNU long-name (`L`, `K`) header's body, collected into `buf`. */
  | { t: "meta"; kind: "x" | "L" | "K"; buf: Buffer; got: number; pad: number; offset: number; name: string }
  /** Bytes passed over: a global PAX header's body, or padding. */
  | { t: "skip"; left: number }
  | { t: "stopped" };

/**
 * A push parser for one tar stream. Feed it with {@link push}, then call {@link end}. Both throw
 * {@link TarFormatError} for a malformed or ambiguous archive; after a throw the reader must not be
 * used again. `onEntry` is called for every entry in order and may throw (the error propagates out
 * of `push`).
 */
export class TarEntryReader {
  readonly #onEntry: (header: TarHeader) => TarEntryAction;
  /** A header block split across chunks. */
  readonly #block = Buffer.alloc(BLOCK);
  #blockFill = 0;
  /** Stream offset of the next byte `push` will see. */
  #pos = 0;
  #zeroBlocks = 0;
  #state: State = { t: "header" };
  #pending: Pending = { pax: null, gnuName: null, gnuLink: null };

  constructor(onEntry: (header: TarHeader) => TarEntryAction) {
    this.#onEntry = onEntry;
  }

  /** True once `onEntry` asked to stop; later input is ignored. */
  get stopped(): boolean {
    return this.#state.t === "stopped";
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#pos;
  }

  /** The entry whose body is being read, if any (for error messages about a failed source). */
  get currentEntry(): TarHeader | undefined {
    return this.#state.t === "body" ? this.#state.header : undefined;
  }

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const s = this.#state;
      const avail = chunk.length - at;
      switch (s.t) {
        case "stopped":
          this.#pos += avail;
          return;
        case "skip": {
          const n = Math.min(s.left, avail);
          s.left -= n;
          at += n;
          this.#pos += n;
          if (s.left === 0) this.#state = { t: "header" };
          break;
        }
        case "body": {
          if (s.left > 0) {
            const n = Math.min(s.left, avail);
            s.sink?.update(chunk.subarray(at, at + n));
            s.left -= n;
            at += n;
            this.#pos += n;
            if (s.left === 0) s.sink?.end();
          } else {
            const n = Math.min(s.pad, avail);
            s.pad -= n;
            at += n;
            this.#pos += n;
          }
          if (s.left === 0 && s.pad === 0) this.#state = { t: "header" };
          break;
        }
        case "meta": {
          const want = s.buf.length - s.got;
          if (want > 0) {
            const n = Math.min(want, avail);
            s.buf.set(chunk.subarray(at, at + n), s.got);
            s.got += n;
            at += n;
            this.#pos += n;
          } else {
            const n = Math.min(s.pad, avail);
            s.pad -= n;
            at += n;
            this.#pos += n;
          }
          if (s.got === s.buf.length && s.pad === 0) {
            this.#state = { t: "header" };
            this.#applyMeta(s);
          }
          break;
        }
        case "header": {
          if (this.#blockFill === 0 && avail >= BLOCK) {
            const block = chunk.subarray(at, at + BLOCK);
            at += BLOCK;
            this.#header(block);
          } else {
            const n = Math.min(BLOCK - this.#blockFill, avail);
            // `#pos` stays at the block's start until the block is complete.
            this.#block.set(chunk.subarray(at, at + n), this.#blockFill);
            this.#blockFill += n;
            at += n;
            if (this.#blockFill === BLOCK) {
              this.#blockFill = 0;
              this.#header(this.#block);
            }
          }
          break;
        }
      }
    }
  }

  /** Checks that the archive did not stop inside a header or an entry. */
  end(): void {
    const s = this.#state;
    if (s.t === "stopped") return;
    if (s.t === "body") {
      throw new TarFormatError(`Cannot read tar entry ${JSON.stringify(s.header.name)} at byte ${s.header.offset}: the archive ends inside its data (a truncated layer)`, s.header.offset, s.header.name);
    }
    if (s.t === "meta") {
      throw new TarFormatError(`Cannot read tar header at byte ${s.offset}: the archive ends inside it (a truncated layer)`, s.offset, s.name);
    }
    // After the two zero blocks that end an archive, Go reads nothing more; a short run of zeros
    // (a writer's partial record padding) is accepted there, anything else is a truncated header.
    const trailingZeros = this.#zeroBlocks >= 2 && isZero(this.#block.subarray(0, this.#blockFill));
    if (s.t === "skip" || (this.#blockFill > 0 && !trailingZeros)) {
      throw new TarFormatError(`Cannot read tar stream: it ends at byte ${this.#pos + this.#blockFill} inside a header or its data (a truncated layer)`, this.#pos);
    }
  }

  /** Handles one complete 512-byte header block starting at stream offset `this.#pos`. */
  #header(block: Uint8Array): void {
    const offset = this.#pos;
    this.#pos += BLOCK;
    if (isZero(block)) {
      this.#zeroBlocks++;
      return;
    }
    const b = Buffer.from(block.buffer, block.byteOffset, BLOCK);
    const rawName = fieldBytes(b, 0, 100);
    const ustar = b.toString("latin1", 257, 263) === "ustar\0";
    const prefix = ustar ? fieldBytes(b, 345, 155) : Buffer.alloc(0);
    const joined = prefix.length > 0 ? Buffer.concat([prefix, Buffer.from("/"), rawName]) : rawName;
    const shownName = lossy.decode(joined);
    const bad = (reason: string): TarFormatError => new TarFormatError(`Cannot read tar entry ${JSON.stringify(shownName)} at byte ${offset}: ${reason}`, offset, shownName);

    if (!checksumMatches(b)) {
      throw new TarFormatError(`Cannot read tar header at byte ${offset}: its checksum does not match (a corrupt layer, or not a tar archive)`, offset);
    }
    if (this.#zeroBlocks > 0) throw bad("it follows an end-of-archive zero block (runtimes stop reading there)");
    const numbers = {} as Record<NumericField, number>;
    for (const [field, at, len] of NUMERIC_FIELDS) {
      const v = parseNumeric(b, at, len);
      if (v === "negative") throw bad(`negative ${field} field`);
      if (v === "malformed") throw bad(`its header has a malformed ${field} field (tar readers disagree on its value)`);
      if (v === "overflow") throw bad(`its ${field} field is too large`);
      numbers[field] = v;
    }
    if (ustar && b.toString("latin1", 508, 512) === "tar\0") throw bad("STAR-format headers are not supported (readers disagree on their name prefix)");
    const flag = String.fromCharCode(b[156]!);

    if (flag === "x" || flag === "L" || flag === "K") {
      const size = numbers.size;
      if (size > MAX_META_SIZE) throw bad(`its ${flag === "x" ? "PAX" : "GNU long-name"} header holds ${size} bytes, more than the ${MAX_META_SIZE}-byte limit`);
      if (size === 0) this.#applyMeta({ kind: flag, buf: Buffer.alloc(0), offset, name: shownName });
      else this.#state = { t: "meta", kind: flag, buf: Buffer.alloc(size), got: 0, pad: padding(size), offset, name: shownName };
      return;
    }
    if (flag === "g") {
      // A global PAX header is ignored, as Go's reader and the runtimes do.
      const left = numbers.size + padding(numbers.size);
      if (left > 0) this.#state = { t: "skip", left };
      return;
    }

    let name: string;
    let linkname: string;
    try {
      name = utf8.decode(joined);
      linkname = utf8.decode(fieldBytes(b, 157, 100));
    } catch {
      throw bad("a name is not valid UTF-8");
    }
    let type: TarEntryType | undefined = TYPES[flag];
    // The old NUL typeflag: a directory when the name ends in a slash, a file otherwise (Go's rule).
    if (flag === "\0") type = name.endsWith("/") ? "directory" : "file";
    if (type === undefined) {
      throw bad(`unsupported entry type ${JSON.stringify(flag)}; only files, directories, links, devices and FIFOs are allowed in layers`);
    }
    let { size, uid, gid } = numbers;
    const xattrs = new Map<string, Buffer>();
    const pending = this.#pending;
    this.#pending = { pax: null, gnuName: null, gnuLink: null };
    for (const [key, value] of Object.entries(pending.pax ?? {})) {
      if (key.startsWith("GNU.sparse.")) throw bad("sparse files are not supported");
      if (key === "path" || key === "linkpath") {
        const text = String(value);
        if (text.length === 0) throw bad(`empty PAX ${key} record`);
        if (key === "path") name = text;
        else linkname = text;
      } else if (key === "size") {
        const text = String(value);
        if (!/^[0-9]{1,16}$/.test(text)) throw bad(`invalid PAX size ${JSON.stringify(text)}`);
        size = Number(text);
      } else if (key === "uid" || key === "gid") {
        const text = String(value);
        if (!/^[0-9]{1,15}$/.test(text)) throw bad(`invalid PAX ${key} ${JSON.stringify(text)}`);
        if (key === "uid") uid = Number(text);
        else gid = Number(text);
      } else if (key.startsWith(XATTR_PREFIX)) {
        xattrs.set(key.slice(XATTR_PREFIX.length), Buffer.isBuffer(value) ? value : Buffer.from(value, "utf8"));
      }
    }
    if (pending.gnuName !== null) name = pending.gnuName;
    if (pending.gnuLink !== null) linkname = pending.gnuLink;
    const named = (reason: string): TarFormatError => new TarFormatError(`Cannot read tar entry ${JSON.stringify(name)} at byte ${offset}: ${reason}`, offset, name);
    if (name.length === 0) throw named("the entry has an empty name");
    for (const text of [name, linkname]) {
      if (text.includes("\0")) throw named("a name contains NUL");
    }
    if (!Number.isSafeInteger(size) || size < 0) throw named(`invalid size ${String(size)}`);
    if (HEADER_ONLY.has(type) && size > 0) {
      throw named(`a ${type} entry declares ${size} data bytes; tar readers disagree on where the next header starts`);
    }
    const header: TarHeader = { offset, name, linkname: linkname.length > 0 ? linkname : null, type, mode: numbers.mode & 0o7777, uid, gid, size, xattrs };
    const action = this.#onEntry(header);
    if (action === "stop") {
      this.#state = { t: "stopped" };
      return;
    }
    const sink = action === "skip" ? null : action;
    if (size === 0) {
      sink?.end();
      return;
    }
    this.#state = { t: "body", header, sink, left: size, pad: padding(size) };
  }

  #applyMeta(m: { kind: "x" | "L" | "K"; buf: Buffer; offset: number; name: string }): void {
    if (m.kind === "x") {
      try {
        this.#pending.pax = decodePaxStrict(m.buf);
      } catch (err) {
        throw new TarFormatError(`Cannot read tar header at byte ${m.offset}: ${(err as Error).message}`, m.offset, m.name, { cause: err });
      }
      return;
    }
    const end = m.buf.indexOf(0);
    let text: string;
    try {
      text = utf8.decode(end < 0 ? m.buf : m.buf.subarray(0, end));
    } catch {
      throw new TarFormatError(`Cannot read tar header at byte ${m.offset}: a GNU long name is not valid UTF-8`, m.offset, m.name);
    }
    if (m.kind === "L") this.#pending.gnuName = text;
    else this.#pending.gnuLink = text;
  }
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function isZero(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** A string field's bytes up to its first NUL. */
function fieldBytes(b: Buffer, at: number, len: number): Buffer {
  const field = b.subarray(at, at + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

/** Go accepts a header whose checksum field matches the unsigned or the signed byte sum. */
function checksumMatches(b: Buffer): boolean {
  const text = b.toString("latin1", 148, 156);
  if (!PLAIN_OCTAL.test(text)) return false;
  const digits = text.replace(/^ +/, "").replace(/[ \0]+$/, "");
  if (digits.length === 0) return false;
  const stored = parseInt(digits, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c >= 0x80 ? c - 0x100 : c;
  }
  return stored === unsigned || stored === signed;
}

/** A numeric header field: plain octal, or base-256 when the first byte has its top bit set. */
function parseNumeric(b: Buffer, at: number, len: number): number | "negative" | "malformed" | "overflow" {
  const first = b[at]!;
  if ((first & 0x80) !== 0) {
    if ((first & 0x40) !== 0) return "negative";
    let v = first & 0x3f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[at + i]!;
      if (v > Number.MAX_SAFE_INTEGER) return "overflow";
    }
    return v;
  }
  const text = b.toString("latin1", at, at + len);
  if (!PLAIN_OCTAL.test(text)) return "malformed";
  const digits = text.replace(/^ +/, "").replace(/[ \0]+$/, "");
  if (digits.length === 0) return 0;
  const v = parseInt(digits, 8);
  return Number.isSafeInteger(v) ? v : "overflow";
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
