/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * half-written file.
 * @module
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to a temporary file beside `path` (same directory, so the rename is atomic),
 * flushes it to disk, then renames it over `path`. On failure the temporary file is removed.
 * @throws {Error} "Cannot write <path>: <cause>"
 */
export async function writeFileAtomic(path: string, data: Uint8Array, options: { mode?: number } = {}): Promise<void> {
  // The rename would replace a device, FIFO or socket with a regular file: run as root,
  // `-o /dev/full` or `-o /dev/stdout` would silently "succeed" by deleting the node.
  const existing = await stat(path).catch(() => undefined);
  if (existing !== undefined && !existing.isFile() && !existing.isDirectory()) {
    throw new Error(`Cannot write ${path}: it is not a regular file (a device, FIFO or socket); give the path of a file to create or replace`);
  }
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const fh = await open(tmp, "wx", options.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    // The cleanup's own failure (ENOTDIR when a file is where the directory should be) must not
    // hide the reason.
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`Cannot write ${path}: ${(err as Error).message}`, { cause: err });
  }
}
