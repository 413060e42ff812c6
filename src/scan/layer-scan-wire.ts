/**
 * The messages between the layer-scan pool and its worker threads, and the conversion of a
 * {@link LayerScan} (records and errors) to and from what `postMessage` can carry. Errors keep
 * their class where callers branch on it (tar format, digest and size mismatches, corrupt layer
 * data), their message
 * and their `cause` chain, so a failure in a worker reads and exits exactly as it would in-process.
 * @module
 */
import { CorruptLayerError } from "../oci/errors.js";
import { DigestMismatchError, SizeMismatchError } from "../oci/internal/verify.js";
import type { LayerRecord, LayerRecordLimits, LayerScan } from "./layer-records.js";
import { TarFormatError } from "./tar-entries.js";

/** What a worker needs to read one layer (its uncompressed tar, checked against `diffId` there). */
export interface LayerJob {
  diffId: string;
  /** Names the layer in messages, e.g. `layer 2 (sha256:…) of registry …`. */
  what: string;
  limits: LayerRecordLimits;
}

export interface WireError {
  kind: "tar" | "digest" | "size" | "corrupt" | "error";
  name: string;
  message: string;
  offset?: number;
  entryName?: string;
  expected?: string;
  actual?: string;
  cause?: WireError;
}

export type WireRecord = Omit<LayerRecord, "bodyError" | "xattrs"> & {
  xattrs?: Map<string, Uint8Array>;
  bodyError?: WireError;
};

export interface WireScan {
  records: WireRecord[];
  error?: WireError;
}

/** What a worker is started with: the batch slots it shares with the pool. */
export interface WorkerSetup {
  /** `slots` batches of `batch` bytes, written by the pool and read by the worker. */
  shared: SharedArrayBuffer;
  batch: number;
  slots: number;
}

/** Pool → worker. `id` names the job; a worker ignores messages of a job it no longer runs. */
export type ToWorker =
  | { t: "start"; id: number; job: LayerJob }
  /** `len` bytes of the layer's tar at the start of batch slot `slot` of the shared buffer. */
  | { t: "data"; id: number; slot: number; len: number }
  | { t: "end"; id: number }
  /** The tar stream failed (e.g. a digest or diff_id check); the worker reports it as its source's failure. */
  | { t: "error"; id: number; error: WireError };

/** Worker → pool. */
export type FromWorker =
  /** The bytes of batch slot `slot` are consumed; the pool may fill it again. */
  | { t: "ack"; id: number; slot: number }
  /** Complete records, in order, sent as they are read so the worker does not hold the layer's. */
  | { t: "records"; id: number; records: WireRecord[] }
  /** The layer's last records (after those sent before) and the failure that ended reading, if any. */
  | { t: "done"; id: number; scan: WireScan };

const MAX_CAUSE_DEPTH = 8;

export function errorToWire(err: unknown, depth = 0): WireError {
  const e = err instanceof Error ? err : new Error(String(err));
  const wire: WireError = { kind: "error", name: e.name, message: e.message };
  if (e instanceof TarFormatError) {
    wire.kind = "tar";
    wire.offset = e.offset;
    if (e.entryName !== undefined) wire.entryName = e.entryName;
  } else if (e instanceof DigestMismatchError) {
    wire.kind = "digest";
    wire.expected = e.expected;
    wire.actual = e.actual;
  } else if (e instanceof SizeMismatchError) {
    wire.kind = "size";
  } else if (e instanceof CorruptLayerError) {
    wire.kind = "corrupt";
  }
  if (e.cause !== undefined && depth < MAX_CAUSE_DEPTH) wire.cause = errorToWire(e.cause, depth + 1);
  return wire;
}

export function errorFromWire(wire: WireError): Error {
  const options = wire.cause ? { cause: errorFromWire(wire.cause) } : undefined;
  let e: Error;
  if (wire.kind === "tar") e = new TarFormatError(wire.message, wire.offset ?? 0, wire.entryName, options);
  else if (wire.kind === "digest") e = new DigestMismatchError("", wire.expected ?? "", wire.actual ?? "");
  else if (wire.kind === "size") e = new SizeMismatchError("", 0, "");
  else if (wire.kind === "corrupt") e = new CorruptLayerError(wire.message, options);
  else e = new Error(wire.message, options);
  e.message = wire.message;
  if (wire.kind === "error") e.name = wire.name;
  if (options && e.cause === undefined) e.cause = options.cause;
  return e;
}

export function recordsToWire(records: readonly LayerRecord[]): WireRecord[] {
  return records.map((r) => {
    const { bodyError, ...rest } = r;
    return bodyError === undefined ? (rest as WireRecord) : { ...rest, bodyError: errorToWire(bodyError) };
  });
}

export function scanToWire(scan: LayerScan): WireScan {
  const records = recordsToWire(scan.records);
  return scan.error === undefined ? { records } : { records, error: errorToWire(scan.error) };
}

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export function recordsFromWire(wire: readonly WireRecord[]): LayerRecord[] {
  return wire.map((w) => {
    const { bodyError, xattrs, ...rest } = w;
    const r: LayerRecord = rest;
    if (xattrs) r.xattrs = new Map([...xattrs].map(([k, v]) => [k, asBuffer(v)]));
    if (bodyError) r.bodyError = errorFromWire(bodyError);
    return r;
  });
}

export function scanFromWire(wire: WireScan): LayerScan {
  const records = recordsFromWire(wire.records);
  return wire.error === undefined ? { records } : { records, error: errorFromWire(wire.error) };
}
