import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstat, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { writeFileAtomic } from "./write-file-atomic.js";

test("writeFileAtomic replaces a file whole and leaves no temporary file", async () => {
  const tmp = await makeTempDir("inlay-write-atomic-");
  try {
    const path = join(tmp.path, "out");
    await writeFile(path, "old");
    await writeFileAtomic(path, Buffer.from("new content"));
    assert.equal(await readFile(path, "utf8"), "new content");
    assert.deepEqual(await readdir(tmp.path), ["out"]);
  } finally {
    await tmp.dispose();
  }
});

test("writeFileAtomic names the path and the real reason, and leaves nothing behind", async () => {
  const tmp = await makeTempDir("inlay-write-atomic-");
  try {
    const file = join(tmp.path, "a-file");
    await writeFile(file, "kept");
    const dir = join(tmp.path, "a-dir");
    await mkdir(dir);
    await assert.rejects(writeFileAtomic(join(file, "out"), Buffer.from("x")), new RegExp(`^Error: Cannot write ${file}/out: ENOTDIR: not a directory, open`));
    await assert.rejects(writeFileAtomic(dir, Buffer.from("x")), new RegExp(`^Error: Cannot write ${dir}: EISDIR`));
    await assert.rejects(writeFileAtomic(join(tmp.path, "missing", "out"), Buffer.from("x")), /Cannot write .*missing\/out: ENOENT/);
    assert.deepEqual((await readdir(tmp.path)).sort(), ["a-dir", "a-file"]);
    assert.deepEqual(await readdir(dir), []);
    assert.equal(await readFile(file, "utf8"), "kept");
  } finally {
    await tmp.dispose();
  }
});

test("writeFileAtomic refuses to replace a FIFO (or device) instead of renaming a file over it", async () => {
  const tmp = await makeTempDir("inlay-write-atomic-");
  try {
    const fifo = join(tmp.path, "pipe");
    execFileSync("mkfifo", [fifo]);
    await assert.rejects(writeFileAtomic(fifo, Buffer.from("x")), new RegExp(`^Error: Cannot write ${fifo}: it is not a regular file`));
    assert.ok((await lstat(fifo)).isFIFO(), "the FIFO is still there");
    assert.deepEqual(await readdir(tmp.path), ["pipe"]);
  } finally {
    await tmp.dispose();
  }
});
