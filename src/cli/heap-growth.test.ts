import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { growthPercentFor, heapGrowthModeFromEnv, relaxHeapGrowth, RELAX_BELOW, RELAXED_GROWTH_PERCENT, RESTORE_ABOVE } from "./heap-growth.js";

const MiB = 1024 * 1024;

test("growth is relaxed while the heap is small and V8's own policy returns past the upper mark, with a gap between", () => {
  assert.equal(growthPercentFor(10 * MiB, false), RELAXED_GROWTH_PERCENT);
  assert.equal(growthPercentFor(RESTORE_ABOVE - 1, true), RELAXED_GROWTH_PERCENT, "stays relaxed up to the upper mark");
  assert.equal(growthPercentFor(RESTORE_ABOVE + 1, true), 0);
  assert.equal(growthPercentFor(RELAX_BELOW + 1, false), 0, "stays with V8's policy until the heap is below the lower mark");
  assert.equal(growthPercentFor(RELAX_BELOW - 1, false), RELAXED_GROWTH_PERCENT);
  assert.ok(RELAX_BELOW < RESTORE_ABOVE);
});

test("the governor follows the heap, then restores V8's policy on stop; mode v8 sets nothing", async () => {
  const set: number[] = [];
  let used = 8 * MiB;
  const heap = relaxHeapGrowth({ hooks: { usedHeapBytes: () => used, setGrowthPercent: (p) => set.push(p), everyMs: 5 } });
  assert.deepEqual(set, [RELAXED_GROWTH_PERCENT]);
  used = RESTORE_ABOVE + MiB;
  await sleep(40);
  assert.deepEqual(set, [RELAXED_GROWTH_PERCENT, 0], "a large live heap gets V8's policy back, once");
  used = 8 * MiB;
  await sleep(40);
  assert.deepEqual(set, [RELAXED_GROWTH_PERCENT, 0, RELAXED_GROWTH_PERCENT]);
  heap.stop();
  assert.deepEqual(set, [RELAXED_GROWTH_PERCENT, 0, RELAXED_GROWTH_PERCENT, 0]);
  await sleep(20);
  assert.equal(set.length, 4, "nothing runs after stop");

  const untouched: number[] = [];
  relaxHeapGrowth({ mode: "v8", hooks: { usedHeapBytes: () => 0, setGrowthPercent: (p) => untouched.push(p), everyMs: 5 } }).stop();
  assert.deepEqual(untouched, []);
});

test("INLAY_HEAP_GROWTH accepts relaxed (the default) and v8, and names anything else", () => {
  assert.equal(heapGrowthModeFromEnv({}), "relaxed");
  assert.equal(heapGrowthModeFromEnv({ INLAY_HEAP_GROWTH: "" }), "relaxed");
  assert.equal(heapGrowthModeFromEnv({ INLAY_HEAP_GROWTH: "relaxed" }), "relaxed");
  assert.equal(heapGrowthModeFromEnv({ INLAY_HEAP_GROWTH: "v8" }), "v8");
  assert.throws(() => heapGrowthModeFromEnv({ INLAY_HEAP_GROWTH: "off" }), /INLAY_HEAP_GROWTH="off": expected "relaxed"/);
});
