/**
 * Loaded with `node --import` into a benchmarked command: at exit, prints the CPU time of the
 * process's main thread (user + system, from /proc) to stderr as `INLAY_BENCH_MAIN_CPU=<ms>`, so a
 * benchmark can tell the main thread's share from that of zlib's thread pool and V8's helpers.
 * @module
 */
import { procCpuMs } from "./proc-cpu.js";

process.on("exit", () => {
  try {
    process.stderr.write(`INLAY_BENCH_MAIN_CPU=${procCpuMs(`/proc/self/task/${process.pid}/stat`)}\n`);
  } catch {
    // Not Linux: the benchmark then has no main-thread figure.
  }
});
