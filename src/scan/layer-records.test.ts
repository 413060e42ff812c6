import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { makeTar } from "../../test/helpers/layer-tar.js";
import { LayerRecordReader, type LayerRecord } from "./layer-records.js";

const limits = { maxEntrySize: 1024 ** 3, maxEntries: 1000 };
const sha = (s: string | Buffer): string => createHash("sha256").update(s).digest("hex");
const ELF = Buffer.concat([Buffer.from("7f454c46", "hex"), Buffer.alloc(2000, 1)]);

test("LayerRecordReader keeps the kind, size and digest of a file, not its first bytes; data files are not hashed", async () => {
  const tar = await makeTar([
    { name: "bin/tool", mode: 0o644, content: ELF },
    { name: "bin/run", mode: 0o644, content: "#!/bin/sh\n" },
    { name: "bin/x", mode: 0o755, content: "plain" },
    { name: "etc/data", mode: 0o644, content: "plain data" },
    { name: "etc/empty", mode: 0o644, content: "" },
  ]);
  const reader = new LayerRecordReader(limits);
  reader.push(tar);
  const { records, error } = reader.end();
  assert.equal(error, undefined);
  assert.deepEqual(
    records.filter((r) => r.type === "file").map((r) => [r.name, r.content]),
    [
      ["bin/tool", { sha256: sha(ELF), size: ELF.length, kind: "elf" }],
      ["bin/run", { sha256: sha("#!/bin/sh\n"), size: 10, kind: "script" }],
      ["bin/x", { sha256: sha("plain"), size: 5, kind: "other" }],
      ["etc/data", { sha256: null, size: 10, kind: null }],
      ["etc/empty", { sha256: null, size: 0, kind: null }],
    ],
  );
});

test("LayerRecordReader.takeRecords hands out each complete record once, in order, and holds the one whose body is being read", async () => {
  const specs = Array.from({ length: 40 }, (_, i) => ({ name: `d/f${i}`, mode: i % 2 ? 0o755 : 0o644, content: Buffer.alloc(300 + i * 97, i) }));
  const tar = await makeTar([{ name: "d/", type: "directory" }, ...specs, { name: "d/.wh.gone", content: "x".repeat(700) }]);
  const whole = new LayerRecordReader(limits);
  whole.push(tar);
  const expected = whole.end().records;

  const reader = new LayerRecordReader(limits);
  const taken: LayerRecord[] = [];
  let sawHeld = false;
  for (let at = 0; at < tar.length; at += 211) {
    reader.push(tar.subarray(at, at + 211));
    const batch = reader.takeRecords();
    for (const r of batch) {
      // Complete: a regular file's content is known (the whiteout's body is passed over).
      if (r.type === "file" && !r.name.includes(".wh.")) assert.ok(r.content !== undefined, `${r.name} was handed out before its content was read`);
    }
    if (batch.length === 0 && taken.length > 0) sawHeld = true;
    taken.push(...batch);
    assert.deepEqual(reader.takeRecords(), [], "records are handed out once");
  }
  const rest = reader.end();
  assert.equal(rest.error, undefined);
  taken.push(...rest.records);
  assert.ok(sawHeld, "some pushes ended inside a body, with nothing complete to hand out");
  assert.deepEqual(taken, expected);
});

test("LayerRecordReader.takeRecords leaves a body's failure on the record of that body", async () => {
  const tar = await makeTar([
    { name: "a", mode: 0o755, content: "aaaa" },
    { name: "b", mode: 0o755, content: Buffer.alloc(5000, 2) },
  ]);
  const reader = new LayerRecordReader(limits);
  reader.push(tar.subarray(0, 1024 + 512 + 100)); // a complete, then inside b's body
  assert.deepEqual(reader.takeRecords().map((r) => r.name), ["a"]);
  reader.sourceFailed(new Error("connection reset"));
  assert.ok(reader.finished);
  const { records, error } = reader.end();
  assert.equal(error, undefined);
  assert.deepEqual(records.map((r) => r.name), ["b"]);
  assert.match(String((records[0]!.bodyError as Error).message), /^Cannot read tar stream: its source failed in entry "b": connection reset$/);
});

test("LayerRecordReader stops after maxEntries + 1 records, counting those already taken", async () => {
  const tar = await makeTar(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, content: "" })));
  const reader = new LayerRecordReader({ ...limits, maxEntries: 3 });
  const taken: string[] = [];
  for (let at = 0; at < tar.length && !reader.finished; at += 512) {
    reader.push(tar.subarray(at, at + 512));
    taken.push(...reader.takeRecords().map((r) => r.name));
  }
  taken.push(...reader.end().records.map((r) => r.name));
  assert.deepEqual(taken, ["f0", "f1", "f2", "f3"]);
});
