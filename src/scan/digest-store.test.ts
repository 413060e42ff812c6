import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DigestStore } from "./digest-store.js";

const sha = (i: number): string => createHash("sha256").update(`file-${i}`).digest("hex");

test("DigestStore gives back every digest as the same lower-case hex, across pages", () => {
  const store = new DigestStore();
  const n = 5000; // more than two 2,048-digest pages
  const indexes = Array.from({ length: n }, (_, i) => store.add(sha(i)));
  assert.deepEqual(indexes, Array.from({ length: n }, (_, i) => i));
  assert.equal(store.size, n);
  for (let i = 0; i < n; i++) assert.equal(store.hex(indexes[i]!), sha(i));
  const edge = store.add("0".repeat(63) + "f");
  assert.equal(store.hex(edge), "0".repeat(63) + "f");
  assert.equal(store.hex(0), sha(0), "later pages do not disturb earlier ones");
});

test("DigestStore refuses anything but 64 lower-case hex digits, and unknown indexes", () => {
  const store = new DigestStore();
  for (const bad of ["", "ab", sha(1).toUpperCase(), sha(1).slice(0, 63) + "g", sha(1) + "0", ` ${sha(1).slice(1)}`]) {
    assert.throws(() => store.add(bad), /^Error: Cannot store digest .*: expected 64 lower-case hex digits/, JSON.stringify(bad));
  }
  assert.equal(store.size, 0, "a refused digest takes no index");
  store.add(sha(1));
  for (const index of [-1, 1, 0.5, Number.NaN]) assert.throws(() => store.hex(index), RangeError);
});
