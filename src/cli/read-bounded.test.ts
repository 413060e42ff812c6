import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { readBounded } from "./read-bounded.js";

test("readBounded reads a file or stream up to the limit and refuses one byte more", async () => {
  const tmp = await makeTempDir("inlay-read-bounded-");
  try {
    const file = join(tmp.path, "f");
    await writeFile(file, "12345");
    assert.equal((await readBounded(file, 5)).toString(), "12345");
    await assert.rejects(readBounded(file, 4), /^RangeError: it is larger than 4 bytes$/);
    assert.equal((await readBounded(Readable.from([Buffer.from("ab"), Buffer.from("c")]), 3)).toString(), "abc");
    await assert.rejects(readBounded(join(tmp.path, "missing"), 4), (err: NodeJS.ErrnoException) => err.code === "ENOENT");
  } finally {
    await tmp.dispose();
  }
});

test("readBounded stops reading /dev/zero at the limit", async () => {
  await assert.rejects(readBounded("/dev/zero", 1024 * 1024), /^RangeError: it is larger than 1048576 bytes$/);
});
