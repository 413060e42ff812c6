import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { boundedLines, EndlessLineError, OVERLONG_HEAD_BYTES, type BoundedLine } from "./bounded-lines.js";

async function lines(chunks: (Buffer | string)[], max: number, giveUpAt?: number): Promise<BoundedLine[]> {
  const out: BoundedLine[] = [];
  for await (const l of boundedLines(Readable.from(chunks), max, giveUpAt)) out.push(l);
  return out;
}

test("boundedLines gives the same lines however the bytes are cut into chunks", async () => {
  const text = "first\r\n\nzwölf € ✓\nlast without break";
  const bytes = Buffer.from(text, "utf8");
  const whole = await lines([bytes], 100);
  assert.deepEqual(
    whole.map((l) => l.text),
    ["first\r", "", "zwölf € ✓", "last without break"],
  );
  assert.ok(whole.every((l) => !l.overlong));
  // Every place to cut, multi-byte characters included.
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(await lines([bytes.subarray(0, cut), bytes.subarray(cut)], 100), whole, `cut at ${cut}`);
  }
  assert.deepEqual(await lines([...bytes].map((b) => Buffer.from([b])), 100), whole, "one byte per chunk");
  assert.deepEqual((await lines(["a\n"], 100)).map((l) => l.text), ["a"], "a final line break makes no empty last line");
  assert.deepEqual(await lines([], 100), []);
});

test("boundedLines keeps only the head of a line over the limit and goes on after it", async () => {
  const long = "x".repeat(50) + "y".repeat(100);
  const got = await lines(["short\n", long.slice(0, 70), long.slice(70), "\nnext\n"], 100);
  assert.deepEqual(got, [
    { text: "short", overlong: false },
    { text: long.slice(0, OVERLONG_HEAD_BYTES), overlong: true },
    { text: "next", overlong: false },
  ]);
  // Exactly at the limit is still whole.
  assert.deepEqual(await lines(["z".repeat(100)], 100), [{ text: "z".repeat(100), overlong: false }]);
});

test("boundedLines stops at a line that never ends instead of reading for ever", async () => {
  let read = 0;
  const endless = new Readable({
    read() {
      read += 65536;
      this.push(Buffer.alloc(65536));
    },
  });
  const seen: BoundedLine[] = [];
  await assert.rejects(
    (async () => {
      for await (const l of boundedLines(endless, 1024, 1024 * 1024)) seen.push(l);
    })(),
    (err: unknown) => err instanceof EndlessLineError && err.message === "a line goes on past 1048576 bytes without a line break",
  );
  assert.deepEqual(seen, []);
  assert.ok(read <= 2 * 1024 * 1024, `read ${read} bytes`);
});
