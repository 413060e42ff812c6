/**
 * Worker thread of the layer-scan pool (`layer-scan-pool.ts`): receives one layer's uncompressed
 * tar bytes, checks them against the layer's diff_id and reads them into records
 * (`LayerRecordReader`: tar parsing and a SHA-256 of every file), posting the records back as they
 * are complete (so the thread never holds a layer's worth) and the last ones at the end; a
 * diff_id mismatch fails the layer as a failure of its source, after all its bytes were read, just
 * as reading a verified stream on the main thread does. One job at a time. The bytes arrive in
 * slots of a buffer shared with the pool (nothing is allocated or transferred per batch, which
 * would count as new external memory and drive V8 into frequent full collections); each slot is
 * handed back as soon as it is read, which is also the pool's back-pressure.
 * @module
 */
import { parentPort, workerData } from "node:worker_threads";
import { DigestCheck } from "../oci/internal/verify.js";
import { LayerRecordReader } from "./layer-records.js";
import { errorFromWire, errorToWire, recordsToWire, scanToWire, type FromWorker, type ToWorker, type WireScan, type WorkerSetup } from "./layer-scan-wire.js";

const port = parentPort;
if (!port) throw new Error("Cannot start the layer-scan worker: it must run in a worker thread");

interface Job {
  id: number;
  reader: LayerRecordReader;
  diffId: DigestCheck;
}

let current: Job | undefined;
const setup = workerData as WorkerSetup;
const slots = Array.from({ length: setup.slots }, (_, i) => Buffer.from(setup.shared, i * setup.batch, setup.batch));

function post(m: FromWorker): void {
  port!.postMessage(m);
}

/** Ends the current job and posts its records; the pool stops sending once it has them. */
function finish(job: Job): void {
  if (current === job) current = undefined;
  let wire: WireScan;
  try {
    wire = scanToWire(job.reader.end());
  } catch (err) {
    // end() reports failures in its result; this is for a bug.
    wire = { records: [], error: errorToWire(err) };
  }
  post({ t: "done", id: job.id, scan: wire });
}

port.on("message", (m: ToWorker) => {
  if (m.t === "start") {
    current = { id: m.id, reader: new LayerRecordReader(m.job.limits), diffId: new DigestCheck(`${m.job.what} (uncompressed, against its diff_id)`, m.job.diffId) };
    return;
  }
  const job = current;
  if (!job || job.id !== m.id) return;
  if (m.t === "data") {
    // The reader keeps nothing of a pushed chunk, so the slot is free again right away.
    const bytes = slots[m.slot]!.subarray(0, m.len);
    job.diffId.update(bytes);
    job.reader.push(bytes);
    post({ t: "ack", id: job.id, slot: m.slot });
    if (job.reader.finished) return finish(job);
    const records = job.reader.takeRecords();
    if (records.length > 0) post({ t: "records", id: job.id, records: recordsToWire(records) });
  } else if (m.t === "end") {
    try {
      job.diffId.check();
    } catch (err) {
      job.reader.sourceFailed(err);
    }
    finish(job);
  } else {
    job.reader.sourceFailed(errorFromWire(m.error));
    finish(job);
  }
});
