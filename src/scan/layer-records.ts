/**
 * The first half of the layer walker: one uncompressed layer tar reduced to a list of records, each
 * an entry's header facts plus, for a regular file, the SHA-256 and first bytes of its content. The
 * second half (`layer-walker.ts`) applies the records of every layer to the tree of names, base
 * first. Splitting the two lets the records of several layers be read at once (in worker threads,
 * `layer-scan-pool.ts`) while the tree is still built strictly in layer order.
 *
 * A failure is not thrown here but recorded where it happened (on the record whose body failed, or
 * after the last record), so the walker applies everything before it first and reports exactly the
 * error it would have met reading the tar itself.
 * @module
 */
import type { Readable } from "node:stream";
import { ContentDigest, type ContentFacts } from "./content-digest.js";
import { TarEntryReader, type TarHeader } from "./tar-entries.js";

/** One tar entry as the walker needs it: its header facts (xattrs only when there are some), and its content. */
export interface LayerRecord extends Omit<TarHeader, "offset" | "xattrs"> {
  /** `SCHILY.xattr.*` records; absent when there are none. */
  xattrs?: Map<string, Buffer>;
  /** A regular file's content digest; absent when the body was not needed or not read. */
  content?: ContentFacts;
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
 * same reading whether the bytes come from a stream here ({@link readLayerRecords}) or from batches
 * a scan worker receives. Stops early, ignoring further input, after `maxEntries + 1` records (the
 * walker refuses the image at that record) and at a file larger than `maxEntrySize` whose content
 * the walker would need (it refuses that record before reading the content). Pushed chunks are not
 * kept: their memory may be reused once `push` returns.
 */
export class LayerRecordReader {
  readonly #records: LayerRecord[] = [];
  readonly #reader: TarEntryReader;
  #failure: LayerScan | undefined;

  constructor(limits: LayerRecordLimits) {
    const records = this.#records;
    this.#reader = new TarEntryReader((entry) => {
      const record: LayerRecord = { name: entry.name, linkname: entry.linkname, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size };
      if (entry.xattrs.size > 0) record.xattrs = entry.xattrs;
      records.push(record);
      if (records.length > limits.maxEntries) return "stop";
      if (entry.type !== "file" || contentUnused(entry.name)) return "skip";
      if (entry.size > limits.maxEntrySize) return "stop";
      const digest = new ContentDigest(entry.mode);
      return { update: (chunk) => digest.update(chunk), end: () => (record.content = digest.digest()) };
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

  /** Ends the input and returns the records, with the failure that ended reading, if any. */
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

/**
 * Reads one uncompressed layer tar to its end (or to its first failure) and returns its records
 * (see {@link LayerRecordReader}); when reading stops early the input is destroyed.
 */
export async function readLayerRecords(tar: Readable, limits: LayerRecordLimits): Promise<LayerScan> {
  const reader = new LayerRecordReader(limits);
  try {
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      reader.push(chunk);
      if (reader.finished) break; // leaving the loop destroys `tar`
    }
  } catch (err) {
    reader.sourceFailed(err);
  }
  return reader.end();
}
