/**
 * The first half of the layer walker: one uncompressed layer tar reduced to a list of records, each
 * an entry's header facts plus, for a regular file, its size and, when it can be an executable, its
 * kind and SHA-256. The second half (`layer-walker.ts`) applies the records of every layer to the
 * tree of names, base first. On the main thread it takes the records as they are read
 * ({@link LayerRecordReader.takeRecords}), so they never pile up; splitting the two also lets the
 * records of several layers be read at once (in worker threads, `layer-scan-pool.ts`) while the
 * tree is still built strictly in layer order.
 *
 * A failure is not thrown here but recorded where it happened (on the record whose body failed, or
 * after the last record), so the walker applies everything before it first and reports exactly the
 * error it would have met reading the tar itself.
 * @module
 */
import { ContentDigest } from "./content-digest.js";
import { classifyExecutable, type ExecKind } from "./exec-manifest.js";
import { TarEntryReader, type TarHeader } from "./tar-entries.js";

/**
 * What the walker keeps of a regular file's content: its length, and, for content that can be an
 * executable, its kind and SHA-256. The first bytes themselves are not kept: the kind is all the
 * walker needs of them, and it is fixed per inode (a hard link with another mode is refused).
 */
export interface RecordContent {
  /** Lower-case hex SHA-256; null when the content was not hashed (`kind` is then null too). */
  sha256: string | null;
  size: number;
  /** `classifyExecutable` of the entry's mode and first bytes; null for a data file. */
  kind: ExecKind | null;
}

/** One tar entry as the walker needs it: its header facts (xattrs only when there are some), and its content. */
export interface LayerRecord extends Omit<TarHeader, "offset" | "xattrs"> {
  /** `SCHILY.xattr.*` records; absent when there are none. */
  xattrs?: Map<string, Buffer>;
  /** A regular file's content; absent when the body was not needed or not read. */
  content?: RecordContent;
  /** Reading this entry's body failed; set on the last record only. */
  bodyError?: unknown;
}

/** The records of one layer, and the failure that ended reading early, if any. */
export interface LayerScan {
  records: LayerRecord[];
  /** Reading the next header failed after the last record (the tar or its source was bad). */
  error?: unknown;
}

/** Limits, the same as the walker's (see `BuildExecManifestOptions`). */
export interface LayerRecordLimits {
  maxEntrySize: number;
  maxEntries: number;
}

const WHITEOUT = ".wh.";
const WHITEOUT_META = ".wh..wh.";

/**
 * True when the walker never reads this entry's content whatever the tree holds: the root itself,
 * whiteouts and opaque markers (the last component starts with `.wh.`), root-level AUFS metadata
 * (the first starts with `.wh..wh.`), and names with a `..` component (refused).
 */
function contentUnused(name: string): boolean {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) return true;
  return parts[0]!.startsWith(WHITEOUT_META) || parts[parts.length - 1]!.startsWith(WHITEOUT);
}

/**
 * Reads one uncompressed layer tar into records as its bytes are pushed in, synchronously: the
 * same reading whether the bytes come from a stream on the main thread (`layer-walker.ts`) or from
 * batches a scan worker receives. Stops early, ignoring further input, after `maxEntries + 1` records (the
 * walker refuses the image at that record) and at a file larger than `maxEntrySize` whose content
 * the walker would need (it refuses that record before reading the content). Pushed chunks are not
 * kept: their memory may be reused once `push` returns.
 */
export class LayerRecordReader {
  readonly #records: LayerRecord[] = [];
  readonly #reader: TarEntryReader;
  #failure: LayerScan | undefined;
  /** Records read, including those taken. */
  #count = 0;

  constructor(limits: LayerRecordLimits) {
    const records = this.#records;
    this.#reader = new TarEntryReader((entry) => {
      const record: LayerRecord = { name: entry.name, linkname: entry.linkname, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size };
      if (entry.xattrs.size > 0) record.xattrs = entry.xattrs;
      records.push(record);
      if (++this.#count > limits.maxEntries) return "stop";
      if (entry.type !== "file" || contentUnused(entry.name)) return "skip";
      if (entry.size > limits.maxEntrySize) return "stop";
      const digest = new ContentDigest(entry.mode);
      return {
        update: (chunk) => digest.update(chunk),
        end: () => {
          const { sha256, size, head } = digest.digest();
          record.content = { sha256, size, kind: classifyExecutable(entry.mode, head) };
        },
      };
    });
  }

  /** True when no more input is needed: reading stopped early or failed. */
  get finished(): boolean {
    return this.#failure !== undefined || this.#reader.stopped;
  }

  push(chunk: Uint8Array): void {
    if (this.finished) return;
    try {
      this.#reader.push(chunk);
    } catch (err) {
      this.#fail(err, false);
    }
  }

  /** The source of the bytes failed with `err`. */
  sourceFailed(err: unknown): void {
    if (this.finished) return;
    const entry = this.#reader.currentEntry;
    const where = entry ? `in entry ${JSON.stringify(entry.name)}` : `after byte ${this.#reader.position}`;
    this.#fail(new Error(`Cannot read tar stream: its source failed ${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err }), entry !== undefined);
  }

  /**
   * Hands out the records read so far whose entry is complete (its body read or passed over), in
   * order, and forgets them: a caller that applies them as they come keeps memory flat in the
   * number of entries. The record whose body is still being read stays, to receive its content or
   * the failure that happens there.
   */
  takeRecords(): LayerRecord[] {
    const records = this.#records;
    const open = this.#failure === undefined && this.#reader.currentEntry !== undefined ? 1 : 0;
    return records.length > open ? records.splice(0, records.length - open) : [];
  }

  /** Ends the input and returns the records not taken yet, with the failure that ended reading, if any. */
  end(): LayerScan {
    if (!this.finished) {
      const inBody = this.#reader.currentEntry !== undefined;
      try {
        this.#reader.end();
      } catch (err) {
        this.#fail(err, inBody);
      }
    }
    return this.#failure ?? { records: this.#records };
  }

  /** A failure inside an entry's body belongs to that entry's record (the walker applies everything before it first). */
  #fail(err: unknown, inBody: boolean): void {
    const records = this.#records;
    const last = records.at(-1);
    if (inBody && last !== undefined) {
      last.bodyError = err;
      this.#failure = { records };
    } else {
      this.#failure = { records, error: err };
    }
  }
}
