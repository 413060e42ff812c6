/**
 * Worker-thread entry of the {@link ValidationPool}: runs {@link parseBatch} on batches posted
 * by the main thread and posts the result back with the request's sequence number.
 * @module
 */
import { parentPort } from "node:worker_threads";
import { parseBatch } from "./parse-batch.js";

if (parentPort === null) throw new Error("Cannot run the validation worker: not started as a worker thread");
const port = parentPort;
port.on("message", (m: { seq: number; text: string; instance: string; maxEvents: number }) => {
  let result;
  try {
    result = parseBatch(m.text, { instance: m.instance, maxEvents: m.maxEvents });
  } catch (err) {
    result = { ok: false, code: "internal", message: String(err) };
  }
  port.postMessage({ seq: m.seq, result });
});
