/**
 * A short exclusive lock between writers, processes or not, by a file created with O_EXCL. Meant
 * for read-modify-write steps that take milliseconds (an OCI layout's index.json): a lock file
 * older than `staleMs` is left over from a crash and is taken over. Age rather than the owner's pid
 * decides, because writers in other containers sharing the directory see other pid namespaces.
 * @module
 */
import { open, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** The lock stayed held by someone else for the whole wait. */
export class LockBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockBusyError";
  }
}

export interface LockOptions {
  /** How long to wait for a lock held by someone else (default 60 s). */
  waitMs?: number;
  /** A lock file at least this old is left over from a crash (default 30 s). */
  staleMs?: number;
}

/**
 * Runs `run` while holding `lockPath`, then removes it. Throws {@link LockBusyError} when the lock
 * stays held for `waitMs`, and the file system's error when the lock cannot be created at all.
 */
export async function withLockFile<T>(lockPath: string, run: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const waitMs = opts.waitMs ?? 60_000;
  const staleMs = opts.staleMs ?? 30_000;
  const deadline = Date.now() + waitMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    try {
      const fh = await open(lockPath, "wx", 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const age = await stat(lockPath).then(
      (st) => Date.now() - st.mtimeMs,
      () => 0, // gone meanwhile: try again at once
    );
    if (age >= staleMs) {
      await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockBusyError(`${lockPath} has been held by another writer for over ${Math.round(waitMs / 1000)} s; if none is running, remove the file`);
    }
    await sleep(delay);
  }
  try {
    return await run();
  } finally {
    await rm(lockPath, { force: true });
  }
}
