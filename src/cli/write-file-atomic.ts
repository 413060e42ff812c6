/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * half-written file.
 * @module
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Writes `data` to a temporary file beside `path` (same directory, so the rename is atomic),
 * flushes it to disk, then renames it over `path`. On failure the temporary file is removed.
 * @throws {Error} "Cannot write <path>: <cause>"
 */
export async function writeFileAtomic(path: string, data: Uint8Array, options: { mode?: number } = {}): Promise<void> {
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
