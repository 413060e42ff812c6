/**
 * Batch validation off the main thread. Per-line schema validation costs about as much CPU as
 * the database insert, so on a machine with two or more cores the console validates batches in
 * worker threads while the main thread commits earlier ones. With `size` 0, validation runs
 * inline (same results, same messages: both paths call {@link parseBatch}).
 * @module
 */
import { Worker } from "node:worker_threads";
import { parseBatch, type BatchResult } from "./parse-batch.js";

/** Validates decoded batches; see {@link createValidationPool}. */
export interface BatchValidator {
  validate(text: string, options: { instance: string; maxEvents: number }): Promise<BatchResult>;
  close(): Promise<void>;
}

/** An inline validator (no threads). */
export const inlineValidator: BatchValidator = {
  validate: async (text, options) => parseBatch(text, options),
  close: async () => undefined,
};

/**
 * Starts `size` worker threads (0 gives {@link inlineValidator}). A worker that dies is replaced
 * and its pending batches fail (the enforcer resends them: nothing was acknowledged).
 */
export function createValidationPool(size: number): BatchValidator {
  if (size <= 0) return inlineValidator;
  const url = new URL("./validation-worker.js", import.meta.url);
  let seq = 0;
  const pending = new Map<number, { resolve(r: BatchResult): void; reject(e: Error): void; worker: Worker }>();
  const load = new Map<Worker, number>();
  let closing = false;
  const spawn = (): Worker => {
    const w = new Worker(url);
    w.unref();
    load.set(w, 0);
    w.on("message", (m: { seq: number; result: BatchResult | { ok: false; code: "internal"; message: string } }) => {
      const p = pending.get(m.seq);
      if (p === undefined) return;
      pending.delete(m.seq);
      load.set(w, (load.get(w) ?? 1) - 1);
      if (m.result.ok === false && m.result.code === "internal") p.reject(new Error(`Cannot validate the batch: ${m.result.message}`));
      else p.resolve(m.result as BatchResult);
    });
    w.on("error", (err) => {
      for (const [k, p] of pending) {
        if (p.worker === w) {
          pending.delete(k);
          p.reject(new Error("Cannot validate the batch: the validation worker failed", { cause: err }));
        }
      }
      load.delete(w);
      if (!closing) spawn();
    });
    return w;
  };
  for (let i = 0; i < size; i++) spawn();
  return {
    validate(text, options) {
      let best: Worker | undefined;
      for (const [w, n] of load) if (best === undefined || n < load.get(best)!) best = w;
      if (best === undefined) return Promise.reject(new Error("Cannot validate the batch: no validation worker is running"));
      const worker = best;
      load.set(worker, load.get(worker)! + 1);
      const id = ++seq;
      return new Promise<BatchResult>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker });
        worker.postMessage({ seq: id, text, ...options });
      });
    },
    async close() {
      closing = true;
      await Promise.all([...load.keys()].map((w) => w.terminate()));
      for (const p of pending.values()) p.reject(new Error("Cannot validate the batch: the console is shutting down"));
      pending.clear();
    },
  };
}
