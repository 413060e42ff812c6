/**
 * Worker thread of the layer-scan pool (`layer-scan-pool.ts`): receives one layer's compressed,
 * already digest-verified bytes, inflates them, checks the diff_id and reads the tar into records
 * (`readLayerRecords`), then posts the records back. One job at a time. The bytes arrive in slots
 * of a buffer shared with the pool (nothing is allocated or transferred per batch, which would
 * count as new external memory and drive V8 into frequent full collections); each slot is handed
 * back once the decoder has consumed it, which is also the pool's back-pressure.
 * @module
 */
import type { Writable } from "node:stream";
import { parentPort, workerData } from "node:worker_threads";
import { layerDecoder } from "../oci/internal/decompress.js";
import { readLayerRecords, type LayerScan } from "./layer-records.js";
import { errorFromWire, errorToWire, scanToWire, type FromWorker, type ToWorker, type WireScan, type WorkerSetup } from "./layer-scan-wire.js";

const port = parentPort;
if (!port) throw new Error("Cannot start the layer-scan worker: it must run in a worker thread");

interface Job {
  id: number;
  input: Writable;
  /** False when the decoder may keep written chunks: each batch is then copied first. */
  inputReleased: boolean;
}

let current: Job | undefined;
const setup = workerData as WorkerSetup;
const slots = Array.from({ length: setup.slots }, (_, i) => Buffer.from(setup.shared, i * setup.batch, setup.batch));

function post(m: FromWorker): void {
  port!.postMessage(m);
}

function startJob(m: Extract<ToWorker, { t: "start" }>): void {
  const decoder = layerDecoder({ compression: m.job.compression, diffId: m.job.diffId, what: m.job.what });
  const job: Job = { id: m.id, input: decoder.input, inputReleased: decoder.inputReleased };
  current = job;
  // readLayerRecords reports failures in its result; the catch is for a bug. When it stops early,
  // the pool stops sending on "done", so batches still here are simply dropped.
  void readLayerRecords(decoder.output, m.job.limits)
    .catch((err: unknown): LayerScan => ({ records: [], error: err }))
    .then((scan) => {
      if (current === job) current = undefined;
      job.input.destroy();
      let wire: WireScan;
      try {
        wire = scanToWire(scan);
      } catch (err) {
        wire = { records: [], error: errorToWire(err) };
      }
      post({ t: "done", id: job.id, scan: wire });
    });
}

port.on("message", (m: ToWorker) => {
  if (m.t === "start") return startJob(m);
  const job = current;
  if (!job || job.id !== m.id || job.input.destroyed) return;
  if (m.t === "data") {
    const { slot, len } = m;
    const view = slots[slot]!.subarray(0, len);
    // The write callback runs once the decoder has consumed the chunk and its output has room;
    // only then may the pool overwrite the slot.
    job.input.write(job.inputReleased ? view : Buffer.from(view), () => {
      if (!job.input.destroyed) post({ t: "ack", id: job.id, slot });
    });
  } else if (m.t === "end") {
    job.input.end();
  } else {
    job.input.destroy(errorFromWire(m.error));
  }
});
