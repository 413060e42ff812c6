import { test } from "node:test";
import assert from "node:assert/strict";
import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { makeDirs } from "./make-dirs.js";

test("makeDirs creates missing parents and accepts an existing directory", async () => {
  const tmp = await makeTempDir("inlay-make-dirs-");
  try {
    const deep = join(tmp.path, "a", "b", "c");
    await makeDirs(deep);
    assert.ok((await stat(deep)).isDirectory());
    await makeDirs(deep);
    await Promise.all([makeDirs(join(deep, "x", "y")), makeDirs(join(deep, "x", "z"))]);
    assert.ok((await stat(join(deep, "x", "z"))).isDirectory());
  } finally {
    await tmp.dispose();
  }
});

test("makeDirs fails with the system error, and ends, where recursive mkdir would loop or a file is in the way", async () => {
  const tmp = await makeTempDir("inlay-make-dirs-");
  try {
    const file = join(tmp.path, "file");
    await writeFile(file, "x");
    await assert.rejects(makeDirs(file), { code: "EEXIST" });
    await assert.rejects(makeDirs(join(file, "sub", "dir")), { code: "ENOTDIR" });
    // procfs refuses new directories with ENOENT; Node's recursive mkdir spins on this for ever.
    await assert.rejects(makeDirs("/proc/inlay-no-such-dir/blobs"), { code: "ENOENT" });
  } finally {
    await tmp.dispose();
  }
});
