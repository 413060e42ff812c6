/**
 * The executable manifest of an image: every executable regular file with its content hash, plus
 * the symlink table. Both scanners (a directory tree, `scan-directory.ts`, and the layers of an
 * image, `layer-walker.ts`) produce this shape, and this module holds the one definition of what
 * counts as an executable.
 * @module
 */
import { z } from "zod";
import { compareUtf8 } from "../bundle/utf8-order.js";

/** How an executable runs: an ELF object (programs and shared libraries), a `#!` script, or other. */
export type ExecKind = "elf" | "script" | "other";

/** One executable regular file of the image. */
export interface ExecEntry {
  /** Absolute, normalised path inside the image (`/usr/bin/env`): no `.`, `..`, `//` or trailing `/`. */
  path: string;
  /** Lower-case hex SHA-256 of the content. */
  sha256: string;
  /** Content length in bytes. */
  size: number;
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode: number;
  uid: number;
  gid: number;
  setuid: boolean;
  setgid: boolean;
  kind: ExecKind;
  /** Lower-case hex of the `security.capability` extended attribute, when the file has one. */
  capabilities?: string;
}

/** A symbolic link of the image; `target` is stored as written, never resolved. */
export interface ExecSymlink {
  path: string;
  target: string;
}

/** The executable manifest of one image (or one directory tree). */
export interface ExecManifest {
  /** Sorted by path (byte order of the UTF-8 encoding), unique. */
  entries: ExecEntry[];
  /** Every symlink of the tree, sorted by path the same way. */
  symlinks: ExecSymlink[];
}

/** How many leading content bytes {@link classifyExecutable} needs. */
export const EXEC_MAGIC_LENGTH = 4;

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const ANY_EXEC_BIT = 0o111;

/**
 * Decides whether a regular file is an executable, and of which kind. A file counts when any of
 * these holds: an x bit (user, group or other), setuid or setgid, ELF magic (`\x7fELF`, which also
 * covers shared objects that the dynamic loader maps without an x bit), or a `#!` line. The kind
 * comes from the content alone, so a 0644 ELF file is `elf` and an 0755 data file is `other`.
 *
 * @param mode permission bits (higher file-type bits are ignored)
 * @param head the first {@link EXEC_MAGIC_LENGTH} bytes of the content (fewer for short files)
 * @returns the kind, or `null` when the file is not an executable
 * @example
 * classifyExecutable(0o644, Buffer.from("\x7fELF", "latin1")); // "elf"
 * classifyExecutable(0o644, Buffer.from("hello")); // null
 */
export function classifyExecutable(mode: number, head: Uint8Array): ExecKind | null {
  const kind = kindFromContent(head);
  if (kind !== "other") return kind;
  return (mode & (ANY_EXEC_BIT | S_ISUID | S_ISGID)) !== 0 ? "other" : null;
}

function kindFromContent(head: Uint8Array): ExecKind {
  if (head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) return "elf";
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) return "script";
  return "other";
}

/** Builds an entry from the facts every scanner has; derives `setuid`/`setgid` from `mode`. */
export function makeExecEntry(
  facts: { path: string; sha256: string; size: number; mode: number; uid: number; gid: number; capabilities?: string | undefined },
  kind: ExecKind,
): ExecEntry {
  const mode = facts.mode & 0o7777;
  const entry: ExecEntry = {
    path: facts.path,
    sha256: facts.sha256,
    size: facts.size,
    mode,
    uid: facts.uid,
    gid: facts.gid,
    setuid: (mode & S_ISUID) !== 0,
    setgid: (mode & S_ISGID) !== 0,
    kind,
  };
  if (facts.capabilities !== undefined) entry.capabilities = facts.capabilities;
  return entry;
}

/** Orders image paths by the bytes of their UTF-8 encoding, which is how the enforcer (C) compares them. */
export function compareImagePaths(a: string, b: string): number {
  return compareUtf8(a, b);
}

/**
 * Sorts entries and symlinks into the canonical order and checks paths are unique, so equal trees
 * always give identical manifests (and identical JSON).
 */
export function finishManifest(entries: ExecEntry[], symlinks: ExecSymlink[]): ExecManifest {
  const sortedEntries = [...entries].sort((a, b) => compareImagePaths(a.path, b.path));
  const sortedLinks = [...symlinks].sort((a, b) => compareImagePaths(a.path, b.path));
  assertUnique(sortedEntries, "entry");
  assertUnique(sortedLinks, "symlink");
  return { entries: sortedEntries, symlinks: sortedLinks };
}

function assertUnique(items: { path: string }[], what: string): void {
  for (let i = 1; i < items.length; i++) {
    if (items[i]!.path === items[i - 1]!.path) {
      throw new Error(`Cannot build executable manifest: duplicate ${what} path ${items[i]!.path}`);
    }
  }
}

const imagePath = z
  .string()
  .min(1)
  .refine((p) => p === "/" || (p.startsWith("/") && p.split("/").slice(1).every((c) => c !== "" && c !== "." && c !== "..")), {
    message: "must be an absolute, normalised path",
  })
  .refine((p) => !p.includes("\0"), { message: "must not contain NUL" });

const execEntrySchema = z.strictObject({
  path: imagePath,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
  mode: z.number().int().min(0).max(0o7777),
  uid: z.number().int().nonnegative(),
  gid: z.number().int().nonnegative(),
  setuid: z.boolean(),
  setgid: z.boolean(),
  kind: z.enum(["elf", "script", "other"]),
  capabilities: z.string().regex(/^([0-9a-f]{2})+$/).optional(),
});

/** Schema of a serialised {@link ExecManifest} (as written by `inlay scan --json`). */
export const execManifestSchema = z.strictObject({
  entries: z.array(execEntrySchema),
  symlinks: z.array(z.strictObject({ path: imagePath, target: z.string().min(1) })),
});

/**
 * Parses a manifest from outside (JSON text or an already parsed value) and checks the invariants:
 * setuid/setgid agree with mode, paths are sorted and unique.
 * @throws {SyntaxError} on malformed JSON; {@link z.ZodError} or {@link Error} on a bad shape.
 */
export function parseExecManifest(input: string | unknown): ExecManifest {
  const value: unknown = typeof input === "string" ? JSON.parse(input) : input;
  const parsed = execManifestSchema.parse(value);
  for (const e of parsed.entries) {
    if (e.setuid !== ((e.mode & S_ISUID) !== 0) || e.setgid !== ((e.mode & S_ISGID) !== 0)) {
      throw new Error(`Cannot parse executable manifest: entry ${e.path} has setuid/setgid flags that disagree with mode ${e.mode.toString(8)}`);
    }
  }
  const manifest = finishManifest(parsed.entries as ExecEntry[], parsed.symlinks);
  for (let i = 0; i < manifest.entries.length; i++) {
    if (manifest.entries[i]!.path !== parsed.entries[i]!.path) {
      throw new Error(`Cannot parse executable manifest: entries are not sorted by path (at ${parsed.entries[i]!.path})`);
    }
  }
  for (let i = 0; i < manifest.symlinks.length; i++) {
    if (manifest.symlinks[i]!.path !== parsed.symlinks[i]!.path) {
      throw new Error(`Cannot parse executable manifest: symlinks are not sorted by path (at ${parsed.symlinks[i]!.path})`);
    }
  }
  return manifest;
}
