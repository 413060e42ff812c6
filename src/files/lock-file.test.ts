import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { LockBusyError, withLockFile } from "./lock-file.js";

test("withLockFile lets one holder in at a time and removes the lock afterwards", async () => {
  const tmp = await makeTempDir("inlay-lock-");
  try {
    const lock = join(tmp.path, "x.lock");
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withLockFile(lock, async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    assert.equal(most, 1);
    assert.deepEqual(await readdir(tmp.path), []);
    // A failing holder releases the lock too.
    await assert.rejects(withLockFile(lock, async () => Promise.reject(new Error("boom"))), /boom/);
    assert.deepEqual(await readdir(tmp.path), []);
  } finally {
    await tmp.dispose();
  }
});

test("withLockFile takes over a lock left by a crash and names one that stays held", async () => {
  const tmp = await makeTempDir("inlay-lock-");
  try {
    const lock = join(tmp.path, "x.lock");
    await writeFile(lock, "12345\n");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    assert.equal(await withLockFile(lock, async () => "ran", { staleMs: 30_000 }), "ran");
    await writeFile(lock, "12345\n");
    await assert.rejects(withLockFile(lock, async () => "ran", { waitMs: 100, staleMs: 30_000 }), (err: unknown) => {
      assert.ok(err instanceof LockBusyError);
      assert.match(err.message, /x\.lock has been held by another writer for over 0 s; if none is running, remove the file/);
      return true;
    });
    assert.deepEqual(await readdir(tmp.path), ["x.lock"], "a lock held by someone else is not removed");
  } finally {
    await tmp.dispose();
  }
});
