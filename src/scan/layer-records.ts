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
import { ContentDigest } from "./content-digest.js";
import { TarEntryReader, TarFormatError, type TarEntryType } from "./tar-entries.js";

/** One tar entry as the walker needs it. */
export interface LayerRecord {
  /** The name as stored (not normalised). */
  name: string;
  linkname: string | null;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  /** Size from the header. */
  size: number;
  /** `SCHILY.xattr.*` records; absent when there are none. */
  xattrs?: Map<string, Buffer>;
  /** A regular file's content digest; absent when the body was not needed or not read. */
  content?: { sha256: string; size: number; head: Buffer };
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
 * Reads one uncompressed layer tar to its end (or to its first failure) and returns its records.
 * Stops early, without reading further (the input is destroyed), after `maxEntries + 1` records
 * (the walker refuses the image at that record) and at a file larger than `maxEntrySize` whose
 * content the walker would need (it refuses that record before reading the content).
 */
export async function readLayerRecords(tar: Readable, limits: LayerRecordLimits): Promise<LayerScan> {
  const records: LayerRecord[] = [];
  const reader = new TarEntryReader((entry) => {
    const record: LayerRecord = { name: entry.name, linkname: entry.linkname, type: entry.type, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size };
    if (entry.xattrs.size > 0) record.xattrs = entry.xattrs;
    records.push(record);
    if (records.length > limits.maxEntries) return "stop";
    if (entry.type !== "file" || contentUnused(entry.name)) return "skip";
    if (entry.size > limits.maxEntrySize) return "stop";
    const digest = new ContentDigest();
    return { update: (chunk) => digest.update(chunk), end: () => (record.content = digest.digest()) };
  });
  /** A failure inside an entry's body belongs to that entry's record (the walker applies everything before it first). */
  const fail = (err: unknown, inBody: boolean): LayerScan => {
    const last = records.at(-1);
    if (inBody && last !== undefined) {
      last.bodyError = err;
      return { records };
    }
    return { records, error: err };
  };
  try {
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      reader.push(chunk);
      if (reader.stopped) {
        tar.destroy();
        return { records };
      }
    }
  } catch (err) {
    if (err instanceof TarFormatError) return fail(err, false);
    const entry = reader.currentEntry;
    const where = entry ? `in entry ${JSON.stringify(entry.name)}` : `after byte ${reader.position}`;
    return fail(new Error(`Cannot read tar stream: its source failed ${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err }), entry !== undefined);
  }
  const inBody = reader.currentEntry !== undefined;
  try {
    reader.end();
  } catch (err) {
    return fail(err, inBody);
  }
  return { records };
}
