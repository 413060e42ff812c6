/**
 * Reads layer tars into records (`LayerRecordReader`) in worker threads, so tar parsing and hashing
 * every file run beside the main thread (which downloads, verifies and inflates the layers), one
 * layer per worker. The main thread copies each layer's uncompressed bytes into {@link CREDITS}
 * batch slots of a buffer it shares with the worker and posts each filled slot; the worker hands a
 * slot back once it has read it. Memory stays bounded whatever the layer size, and nothing is
 * allocated per batch.
 * @module
 */
import { Writable, type Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import type { LayerRecord, LayerScan } from "./layer-records.js";
import { errorToWire, recordsFromWire, scanFromWire, type FromWorker, type LayerJob, type ToWorker, type WorkerSetup } from "./layer-scan-wire.js";

/** Bytes per batch slot. */
const BATCH = 2 * 1024 * 1024;
/** Batch slots per worker. */
const CREDITS = 4;
const WORKER_INITIAL_OLD_SPACE_MB = 64;
const WORKER_URL = new URL("./layer-scan-worker.js", import.meta.url);

/** One worker thread; runs one job at a time. */
class ScanWorker {
  readonly #worker: Worker;
  /** {@link CREDITS} batch slots shared with the thread. */
  readonly #shared: SharedArrayBuffer;
  #seq = 0;
  /** Set once the thread failed or exited; the pool then drops this worker. */
  broken: Error | undefined;
  #onFailure: ((err: Error) => void) | undefined;

  constructor() {
    // A fresh isolate starts with a tiny old-generation limit; with layer data flowing through it,
    // that meant a full collection every ~20 MiB of a layer (46 per embed of the 1 GiB benchmark
    // image, seen with --trace-gc) and none with a 64 MiB start. The flag is read when a heap is
    // created, so it affects only isolates created after this point: these workers.
    setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MB}`);
    this.#shared = new SharedArrayBuffer(BATCH * CREDITS);
    const setup: WorkerSetup = { shared: this.#shared, batch: BATCH, slots: CREDITS };
    this.#worker = new Worker(WORKER_URL, { workerData: setup });
    this.#worker.unref();
    const fail = (err: Error): void => {
      this.broken ??= err;
      this.#onFailure?.(err);
    };
    this.#worker.on("error", (err) => fail(err));
    this.#worker.on("exit", (code) => fail(new Error(`the thread exited with code ${code}`)));
  }

  /**
   * Sends `blob` (a layer's uncompressed tar, which the worker checks against `job.diffId`) to the
   * worker and resolves with the layer's records once the worker has read it, or stopped early (the
   * scan then carries the reason). A failure of
   * `blob` reaches the worker as its source's failure. The caller destroys `blob` if it has not
   * ended when this resolves.
   */
  scan(blob: Readable, job: LayerJob): Promise<LayerScan> {
    if (this.broken) return Promise.reject(this.#failed(job, this.broken));
    const id = ++this.#seq;
    const worker = this.#worker;
    const post = (m: ToWorker): void => worker.postMessage(m);
    const shared = this.#shared;
    return new Promise<LayerScan>((resolve, reject) => {
      let resume: (() => void) | undefined;
      let settled = false;
      /** The records the worker sent while reading, in order. */
      const earlier: LayerRecord[] = [];
      /** Slots the thread has handed back (all of them at the start of a job). */
      const free = Array.from({ length: CREDITS }, (_, i) => CREDITS - 1 - i);
      let slot: Buffer | undefined;
      let slotIndex = -1;
      let fill = 0;
      const flush = (): void => {
        if (!slot || fill === 0) return;
        post({ t: "data", id, slot: slotIndex, len: fill });
        slot = undefined;
        fill = 0;
      };
      const feeder = new Writable({
        highWaterMark: BATCH,
        write(chunk: Buffer, _enc, cb) {
          if (settled) return cb();
          const copyFrom = (at: number): void => {
            while (at < chunk.length) {
              if (!slot) {
                const next = free.pop();
                if (next === undefined) {
                  resume = () => copyFrom(at);
                  return;
                }
                slotIndex = next;
                slot = Buffer.from(shared, next * BATCH, BATCH);
              }
              const n = chunk.copy(slot, fill, at);
              fill += n;
              at += n;
              if (fill === BATCH) flush();
            }
            cb();
          };
          copyFrom(0);
        },
        final(cb) {
          if (!settled) {
            flush();
            post(sourceError === undefined ? { t: "end", id } : { t: "error", id, error: errorToWire(sourceError) });
          }
          cb();
        },
      });
      const finish = (): void => {
        settled = true;
        worker.off("message", onMessage);
        blob.off("error", onBlobError);
        this.#onFailure = undefined;
        blob.unpipe(feeder);
        resume = undefined;
        worker.unref();
      };
      const onMessage = (m: FromWorker): void => {
        if (m.id !== id || settled) return;
        if (m.t === "ack") {
          free.push(m.slot);
          const r = resume;
          resume = undefined;
          r?.();
        } else if (m.t === "records") {
          for (const r of recordsFromWire(m.records)) earlier.push(r);
        } else {
          finish();
          const last = scanFromWire(m.scan);
          for (const r of last.records) earlier.push(r);
          resolve(last.error === undefined ? { records: earlier } : { records: earlier, error: last.error });
        }
      };
      // A stream that fails at its end (a digest check) has passed all its bytes: the worker gets
      // them first, then the failure, so it reads as far as the main thread would have.
      let sourceError: Error | undefined;
      const onBlobError = (err: Error): void => {
        if (settled || sourceError !== undefined) return;
        sourceError = err;
        feeder.end();
      };
      this.#onFailure = (err) => {
        if (settled) return;
        finish();
        blob.destroy();
        reject(this.#failed(job, err));
      };
      worker.on("message", onMessage);
      // Keep the process alive while a job runs: the main thread may be waiting on nothing else.
      worker.ref();
      post({ t: "start", id, job });
      blob.on("error", onBlobError);
      blob.pipe(feeder);
    });
  }

  #failed(job: LayerJob, err: Error): Error {
    return new Error(`Cannot read ${job.what}: its scan worker failed: ${err.message}`, { cause: err });
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** A fixed number of scan workers, started on first use. */
export class LayerScanPool {
  /** How many layers are read at once. */
  readonly size: number;
  readonly #all: ScanWorker[] = [];
  readonly #idle: ScanWorker[] = [];
  readonly #waiting: ((w: ScanWorker) => void)[] = [];
  #closed = false;

  constructor(opts: { workers?: number } = {}) {
    this.size = Math.max(1, opts.workers ?? 2);
  }

  /** Waits for a free worker (first come, first served). Give it back with {@link release}. */
  acquire(): Promise<ScanWorker> {
    if (this.#closed) return Promise.reject(new Error("Cannot scan a layer: the scan pool is closed"));
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.#all.length < this.size) {
      const w = new ScanWorker();
      this.#all.push(w);
      return Promise.resolve(w);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  release(w: ScanWorker): void {
    if (w.broken) {
      this.#all.splice(this.#all.indexOf(w), 1);
      void w.terminate();
      const next = this.#waiting.shift();
      if (next) {
        const fresh = new ScanWorker();
        this.#all.push(fresh);
        next(fresh);
      }
      return;
    }
    const next = this.#waiting.shift();
    if (next) next(w);
    else this.#idle.push(w);
  }

  /** Stops every worker. Jobs still running fail. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#all.map((w) => w.terminate()));
    this.#all.length = 0;
    this.#idle.length = 0;
  }
}

export type { ScanWorker };
