/**
 * `mkdir -p` that always ends. Node 20's `mkdir(dir, { recursive: true })` retries for ever when
 * creating a directory fails with ENOENT although its parent exists (a path under /proc or /sys);
 * here each missing ancestor is created once, so the same path is an error.
 * @module
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Creates `dir` and its missing parents. Throws the system error of the directory that could not
 * be made (ENOTDIR or EEXIST when a file is in the way, EACCES, EROFS, ENOENT, …).
 */
export async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") {
      if ((await stat(dir)).isDirectory()) return;
      throw err;
    }
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw err;
    await makeDirs(parent);
  }
  try {
    await mkdir(dir);
  } catch (err) {
    // Made meanwhile by someone else: fine if it is a directory.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST" || !(await stat(dir)).isDirectory()) throw err;
  }
}
