/**
 * Builds the executable manifest of a directory tree on disk (a root filesystem unpacked by the
 * caller, or the directory given to `inlay bundle write --manifest-dir`).
 * @module
 */
import { constants as fsc } from "node:fs";
import { lstat, open, readdir, readlink, realpath, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { ContentDigest } from "./content-digest.js";
import {
  classifyExecutable,
  EXEC_MAGIC_LENGTH,
  finishManifest,
  makeExecEntry,
  type ExecEntry,
  type ExecManifest,
  type ExecSymlink,
} from "./exec-manifest.js";

const READ_CHUNK = 64 * 1024;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Walks `dir` and returns the manifest of its executables, with paths relative to `dir` written as
 * absolute image paths (`dir/usr/bin/env` → `/usr/bin/env`).
 *
 * Symlinks are recorded (path and target as written), never followed, so a link pointing out of the
 * tree cannot pull outside files in; only `dir` itself is resolved once. Each regular file is opened
 * with `O_NOFOLLOW` and checked to be the inode seen by `lstat`, so a file swapped for a symlink
 * while scanning is an error rather than a read outside the tree. Devices, FIFOs and sockets are
 * never opened. File content is streamed through the hash (constant memory).
 *
 * Not recorded: the `security.capability` attribute (Node has no xattr API), so entries from this
 * scanner never carry `capabilities`.
 *
 * Meant for a tree nobody else changes during the scan (a build output). Swaps are detected where
 * Node allows it (each directory and file is re-checked against its `lstat`), but Node has no
 * `openat`-style walk, so a tree rewritten concurrently by an adversary is out of scope.
 *
 * @param dir the root of the tree
 * @returns the manifest, sorted
 * @throws {Error} "Cannot scan directory ..." naming the path when a name is not valid UTF-8, a
 *   file changed during the scan, or the file system fails
 * @example
 * const manifest = await scanDirectory("./rootfs");
 * console.log(manifest.entries.map((e) => `${e.sha256}  ${e.path}`).join("\n"));
 */
export async function scanDirectory(dir: string): Promise<ExecManifest> {
  let root: string;
  try {
    root = await realpath(dir);
    const st = await lstat(root);
    if (!st.isDirectory()) throw new Error("not a directory");
  } catch (err) {
    throw new Error(`Cannot scan directory ${dir}: ${(err as Error).message}`, { cause: err });
  }

  const entries: ExecEntry[] = [];
  const symlinks: ExecSymlink[] = [];
  // Explicit stack instead of recursion: deep trees cannot exhaust the call stack.
  const rootStat = await lstat(root);
  const pending: { disk: string; image: string; dev: number; ino: number }[] = [{ disk: root, image: "", dev: rootStat.dev, ino: rootStat.ino }];
  while (pending.length > 0) {
    const { disk, image, dev, ino } = pending.pop()!;
    let names: Buffer[];
    try {
      names = await readdir(disk, { encoding: "buffer" });
      // readdir follows a symlink; make sure the name still is the directory lstat saw.
      const again = await lstat(disk);
      if (!again.isDirectory() || again.dev !== dev || again.ino !== ino) throw new Error("directory changed while scanning");
    } catch (err) {
      throw new Error(`Cannot scan directory ${root}: reading ${image || "/"} failed: ${(err as Error).message}`, { cause: err });
    }
    for (const raw of names) {
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch (err) {
        throw new Error(`Cannot scan directory ${root}: a name in ${image || "/"} is not valid UTF-8 (${raw.toString("hex")})`, { cause: err });
      }
      const diskPath = join(disk, name);
      const imagePath = `${image}/${name}`;
      const st = await lstat(diskPath).catch((err: Error) => {
        throw new Error(`Cannot scan directory ${root}: ${imagePath}: ${err.message}`, { cause: err });
      });
      if (st.isDirectory()) {
        pending.push({ disk: diskPath, image: imagePath, dev: st.dev, ino: st.ino });
      } else if (st.isSymbolicLink()) {
        const target = await readlink(diskPath).catch((err: Error) => {
          throw new Error(`Cannot scan directory ${root}: ${imagePath}: ${err.message}`, { cause: err });
        });
        symlinks.push({ path: imagePath, target });
      } else if (st.isFile()) {
        const entry = await scanFile(diskPath, imagePath, { dev: st.dev, ino: st.ino }).catch((err: Error) => {
          throw new Error(`Cannot scan directory ${root}: ${imagePath}: ${err.message}`, { cause: err });
        });
        if (entry) entries.push(entry);
      }
      // Devices, FIFOs and sockets are not executables and are never opened (opening a FIFO blocks).
    }
  }
  return finishManifest(entries, symlinks);
}

/** Reads one regular file; returns its entry, or null when it is not an executable. */
async function scanFile(diskPath: string, imagePath: string, seen: { dev: number; ino: number }): Promise<ExecEntry | null> {
  // O_NONBLOCK: if the name was swapped for a FIFO after lstat, open must not hang.
  const fh: FileHandle = await open(diskPath, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.dev !== seen.dev || st.ino !== seen.ino) {
      throw new Error("file changed while scanning (not the inode seen by lstat)");
    }
    const buf = Buffer.alloc(READ_CHUNK);
    const digest = new ContentDigest();
    const first = await fh.read(buf, 0, EXEC_MAGIC_LENGTH, 0);
    digest.update(buf.subarray(0, first.bytesRead));
    const kind = classifyExecutable(Number(st.mode), digest.head);
    if (kind === null) return null;
    let position = first.bytesRead;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, position);
      if (bytesRead === 0) break;
      digest.update(buf.subarray(0, bytesRead));
      position += bytesRead;
    }
    const { sha256, size } = digest.digest();
    if (sha256 === null) throw new Error("content was not hashed"); // a digest without a mode hashes everything
    if (size !== st.size) throw new Error(`file changed while scanning (read ${size} bytes, stat says ${st.size})`);
    return makeExecEntry({ path: imagePath, sha256, size, mode: Number(st.mode), uid: st.uid, gid: st.gid }, kind);
  } finally {
    await fh.close();
  }
}
