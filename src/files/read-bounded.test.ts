import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { readBounded, TooLargeError } from "./read-bounded.js";

test("readBounded reads a file or stream up to the limit and refuses one byte more", async () => {
  const tmp = await makeTempDir("inlay-read-bounded-");
  try {
    const file = join(tmp.path, "f");
    await writeFile(file, "12345");
    assert.equal((await readBounded(file, 5)).toString(), "12345");
    await assert.rejects(readBounded(file, 4), /^TooLargeError: it is larger than 4 bytes$/);
    assert.equal((await readBounded(Readable.from([Buffer.from("ab"), Buffer.from("c")]), 3)).toString(), "abc");
    await assert.rejects(readBounded(join(tmp.path, "missing"), 4), (err: NodeJS.ErrnoException) => err.code === "ENOENT");
  } finally {
    await tmp.dispose();
  }
});

test("readBounded stops reading /dev/zero at the limit", async () => {
  await assert.rejects(readBounded("/dev/zero", 1024 * 1024), /^TooLargeError: it is larger than 1048576 bytes$/);
});

test("readBounded names the input when told what it reads, and keeps the limit on the error", async () => {
  await assert.rejects(readBounded(Readable.from([Buffer.alloc(3), Buffer.alloc(3)]), 5, "manifest v1 of r"), (err: unknown) => {
    assert.ok(err instanceof TooLargeError && err instanceof RangeError);
    assert.equal(err.message, "Cannot read manifest v1 of r: larger than the 5-byte limit");
    assert.equal(err.limit, 5);
    return true;
  });
});

test("readBounded reads a web stream (a fetch body) and copies chunks its producer may reuse", async () => {
  const shared = new Uint8Array([1, 2, 3]);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(shared);
      c.enqueue(new Uint8Array([4]));
      c.close();
    },
  });
  const bytes = await readBounded(body as unknown as AsyncIterable<Uint8Array>, 4);
  shared.fill(9);
  assert.deepEqual([...bytes], [1, 2, 3, 4]);
  const endless = new ReadableStream<Uint8Array>({ pull: (c) => c.enqueue(new Uint8Array(1024)) });
  await assert.rejects(readBounded(endless as unknown as AsyncIterable<Uint8Array>, 10_000), TooLargeError);
});
