/**
 * V8's heap policy while layers stream through `inlay embed` and `inlay scan`.
 *
 * Layer bytes pass through as short-lived Buffers, and from the small heap the CLI runs with, V8
 * schedules a full collection every ~25 MiB of layer data (about 75 per 1 GiB image, seen with
 * `--trace-gc`): it grows its next limit only ~1.1–1.3× past the live heap, and the Buffers held in
 * stream queues count toward it. `--heap-growing-percent` replaces that factor; V8 reads it each
 * time it sets a new limit (its heap controller's growing factor), so setting it at run time takes
 * effect at the next collection and changes when collections happen, never what they keep.
 *
 * The factor multiplies the live heap, so it is relaxed only while the heap is small: past
 * {@link RESTORE_ABOVE} of JS heap in use (an image with very many files, whose tree of names is
 * live), V8's own policy is restored, so a large live heap is never allowed to grow 4×.
 * @module
 */
import { getHeapStatistics, setFlagsFromString } from "node:v8";

const MiB = 1024 * 1024;
/** The growth V8 may take past the live heap while it is small: the limit becomes 4× the live heap. */
export const RELAXED_GROWTH_PERCENT = 300;
/** JS heap in use above which V8's own growth policy is restored... */
export const RESTORE_ABOVE = 48 * MiB;
/** ...and below which the relaxed growth applies again (the gap keeps it from flapping). */
export const RELAX_BELOW = 32 * MiB;
/** `--heap-growing-percent=0` is V8's default: its own dynamic factor. */
const V8_DEFAULT = 0;
const CHECK_EVERY_MS = 50;

/**
 * The growth percent to use given the JS heap in use and whether the relaxed growth applies now;
 * `0` means V8's own policy.
 */
export function growthPercentFor(usedHeapBytes: number, relaxedNow: boolean): number {
  if (relaxedNow) return usedHeapBytes > RESTORE_ABOVE ? V8_DEFAULT : RELAXED_GROWTH_PERCENT;
  return usedHeapBytes < RELAX_BELOW ? RELAXED_GROWTH_PERCENT : V8_DEFAULT;
}

/** What {@link relaxHeapGrowth} reads and sets; tests replace them. */
export interface HeapGrowthHooks {
  usedHeapBytes: () => number;
  setGrowthPercent: (percent: number) => void;
  everyMs: number;
}

const defaultHooks: HeapGrowthHooks = {
  usedHeapBytes: () => getHeapStatistics().used_heap_size,
  setGrowthPercent: (percent) => setFlagsFromString(`--heap-growing-percent=${percent}`),
  everyMs: CHECK_EVERY_MS,
};

/**
 * `INLAY_HEAP_GROWTH`: `relaxed` (the default, also when unset or empty) or `v8` (V8's own policy,
 * for comparison or when memory matters more than time).
 * @throws {RangeError} for any other value
 */
export function heapGrowthModeFromEnv(env: NodeJS.ProcessEnv = process.env): "relaxed" | "v8" {
  const text = env.INLAY_HEAP_GROWTH;
  if (text === undefined || text === "" || text === "relaxed") return "relaxed";
  if (text === "v8") return "v8";
  throw new RangeError(`Cannot use INLAY_HEAP_GROWTH=${JSON.stringify(text)}: expected "relaxed" (the default) or "v8"`);
}

/**
 * Relaxes V8's heap growth while the heap is small (see the module comment), checking the heap
 * every 50 ms on a timer that never keeps the process alive; with `mode: "v8"` it does nothing.
 * Call the returned `stop` when the layers are read; it restores V8's policy.
 */
export function relaxHeapGrowth(opts: { mode?: "relaxed" | "v8"; hooks?: HeapGrowthHooks } = {}): { stop: () => void } {
  if (opts.mode === "v8") return { stop: () => {} };
  const hooks = opts.hooks ?? defaultHooks;
  let current = growthPercentFor(hooks.usedHeapBytes(), false);
  hooks.setGrowthPercent(current);
  const timer = setInterval(() => {
    const next = growthPercentFor(hooks.usedHeapBytes(), current !== V8_DEFAULT);
    if (next !== current) hooks.setGrowthPercent((current = next));
  }, hooks.everyMs);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      if (current !== V8_DEFAULT) hooks.setGrowthPercent((current = V8_DEFAULT));
    },
  };
}
