/**
 * Builds an image's executable manifest from its layer tars, applying them base→top in memory the
 * way a container runtime unpacks them (OCI image-spec `layer.md`, containerd's applier), without
 * ever writing to disk.
 *
 * Nothing is extracted: the root filesystem is a tree of names held in memory (file content is
 * reduced to its SHA-256 while it streams past), so a hostile layer has no file system to escape
 * into. Absolute names, `..` tricks and symlink escapes can at worst change which in-memory node a
 * name lands on, and the resolution rules below make that the node a runtime would use.
 *
 * Rules, in the runtime's terms:
 * - names are normalised: a leading `/` or `./` is dropped, `.` and empty components are ignored;
 *   a `..` component is refused (runtimes disagree on it); an entry naming the root is ignored;
 * - parent components are resolved inside the root, following symlinks like a `chroot` would
 *   (`bin → usr/bin` puts `bin/foo` at `usr/bin/foo`; `..` and absolute targets stop at the root);
 *   missing parents are created; a parent that is a file is an error;
 * - `.wh.NAME` removes NAME and its subtree from lower layers; `.wh..wh..opq` hides every lower child
 *   of its directory; entries of the same layer survive both, whatever their order in the tar;
 *   whiteouts never appear in the result; root-level `.wh..wh.*` AUFS metadata is skipped;
 * - a directory over a directory changes attributes only; any other entry replaces what was there,
 *   subtree included; a later duplicate entry wins, as on disk;
 * - a hard link gets the content of its target as of that point, including a target from a lower
 *   layer (then the target is copied up first, as overlayfs does); its xattrs apply to the shared
 *   inode; a link whose mode or owner differs from its target's is refused (runtimes disagree on
 *   which applies); a link to a symlink is a symlink with the same target;
 * - devices and FIFOs occupy their name but are never executables.
 * @module
 */
import type { Readable } from "node:stream";
import { DigestStore } from "./digest-store.js";
import { finishManifest, makeExecEntry, type ExecEntry, type ExecKind, type ExecManifest, type ExecSymlink } from "./exec-manifest.js";
import { LayerRecordReader, type LayerRecord, type LayerRecordLimits, type LayerScan } from "./layer-records.js";
import { TarFormatError } from "./tar-entries.js";

/** Limits that keep a hostile image from exhausting memory or time. */
export interface BuildExecManifestOptions {
  /** Largest file content accepted, in bytes (default 64 GiB). */
  maxEntrySize?: number;
  /** Most tar entries plus implicitly created directories over all layers (default 2,000,000). */
  maxEntries?: number;
}

/** A layer the walker refuses: malformed, ambiguous, or over a limit. Names the layer and entry. */
export class LayerRejectedError extends Error {
  /** 0-based index of the layer (base first), as in the image manifest's `layers`. */
  readonly layer: number;
  /** The entry's name as stored in the tar, when the problem concerns one entry. */
  readonly entry: string | undefined;
  constructor(message: string, layer: number, entry?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LayerRejectedError";
    this.layer = layer;
    this.entry = entry;
  }
}

const DEFAULT_MAX_ENTRY_SIZE = 64 * 1024 ** 3;
const DEFAULT_MAX_ENTRIES = 2_000_000;
/** Symlinks followed while resolving one name (containerd's resolver allows 255). */
const MAX_SYMLINK_HOPS = 255;
/** Longest symlink target Linux accepts (PATH_MAX - 1). */
const MAX_LINK_TARGET = 4095;
const WHITEOUT = ".wh.";
const WHITEOUT_META = ".wh..wh.";
const OPAQUE = ".wh..wh..opq";

/** An executable's inode, shared by its hard links. */
interface Inode {
  kind: ExecKind;
  /** Where the walker's {@link DigestStore} holds the content's SHA-256. */
  digest: number;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  /** Extended attributes; absent when there are none (saves a Map per file). */
  xattrs: Map<string, Buffer> | undefined;
  /** Layer that last wrote this inode (created it, or copied it up for a hard link). */
  layer: number;
}

/**
 * Every node records the last layer that put it in its upper directory (`layer`). A regular file is
 * an `exec` (an executable, with its inode) or a `data` file: most files of an image are data, and
 * the manifest reads nothing of them, so a data file keeps only what a hard link to it is checked
 * against. Its inode needs no sharing: nothing of it can change (a link with another mode or owner
 * is refused, and xattrs matter only to executables), so a link to it is a data file of its own.
 * Data nodes are immutable, and one node serves every data file of the same layer, mode and owner
 * made in a row (see `RootModel.#dataNode`): a file then costs its name and its directory entry.
 */
type Node =
  | { t: "dir"; layer: number; children: Map<string, Node> }
  | { t: "exec"; layer: number; inode: Inode }
  | DataNode
  | { t: "symlink"; layer: number; target: string }
  | { t: "special"; layer: number };
type DirNode = Extract<Node, { t: "dir" }>;
type DataNode = Readonly<{ t: "data"; layer: number; mode: number; uid: number; gid: number }>;

/** Raised inside one entry; turned into a {@link LayerRejectedError} with the layer index. */
class EntryError extends Error {}

/**
 * Applies `layers` (each an **uncompressed** layer tar, base first) and returns the manifest of the
 * resulting root filesystem. Each stream is read to its end exactly once; memory stays flat in file
 * size (only the tree of names is kept).
 *
 * @param layers the layer tars in manifest order
 * @param opts limits
 * @returns the manifest, sorted
 * @throws {LayerRejectedError} "Cannot apply layer N entry NAME: ..." for malformed, ambiguous or
 *   oversized input (no partial manifest is returned)
 * @throws {Error} "Cannot read layer N: ..." when a stream itself fails (its error is the `cause`)
 * @example
 * const manifest = await buildExecManifest(
 *   (async function* () { for (const f of files) yield createReadStream(f); })(),
 * );
 */
export async function buildExecManifest(layers: AsyncIterable<Readable>, opts: BuildExecManifestOptions = {}): Promise<ExecManifest> {
  const limits = limitsOf(opts);
  const model = new RootModel(limits.maxEntries);
  let index = 0;
  for await (const tar of layers) {
    await applyLayerTar(model, tar, index, limits);
    index++;
  }
  return model.manifest();
}

/**
 * Reads one layer tar and applies each record as soon as its entry is complete, so the records of
 * a layer never pile up (held until the layer's end, they cost about 180 bytes per entry). A
 * refused record stops reading, which destroys `tar`.
 */
async function applyLayerTar(model: RootModel, tar: Readable, index: number, limits: LayerRecordLimits): Promise<void> {
  const reader = new LayerRecordReader(limits);
  const layer = new LayerApplier(model, index, limits.maxEntrySize);
  try {
    for await (const chunk of tar as AsyncIterable<Buffer>) {
      reader.push(chunk);
      if (!layer.apply(reader.takeRecords()) || reader.finished) break; // leaving the loop destroys `tar`
    }
  } catch (err) {
    reader.sourceFailed(err);
  }
  layer.finish(reader.end());
}

/** The limits with their defaults filled in. */
export function limitsOf(opts: BuildExecManifestOptions): LayerRecordLimits {
  return { maxEntrySize: opts.maxEntrySize ?? DEFAULT_MAX_ENTRY_SIZE, maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES };
}

/**
 * The second half of {@link buildExecManifest}: applies the records of each layer (read by
 * a `LayerRecordReader` in worker threads, with the same limits), base first, and returns the
 * manifest. Errors are those of {@link buildExecManifest}; an error of the iterable itself is
 * passed through unchanged.
 */
export async function applyLayerScans(scans: AsyncIterable<LayerScan>, opts: BuildExecManifestOptions = {}): Promise<ExecManifest> {
  const { maxEntries, maxEntrySize } = limitsOf(opts);
  const model = new RootModel(maxEntries);
  let index = 0;
  for await (const scan of scans) {
    new LayerApplier(model, index, maxEntrySize).finish(scan);
    index++;
  }
  return model.manifest();
}

/**
 * Applies the records of one layer in order, in one or more batches, and turns the first failure
 * into the walker's error: the refusal of a record, else the failure that ended reading.
 */
class LayerApplier {
  readonly #model: RootModel;
  readonly #index: number;
  readonly #maxEntrySize: number;
  #failure: Error | undefined;
  #last: LayerRecord | undefined;

  constructor(model: RootModel, index: number, maxEntrySize: number) {
    this.#model = model;
    this.#index = index;
    this.#maxEntrySize = maxEntrySize;
  }

  /** Applies `records` after those applied before; false once a record was refused ({@link finish} throws why). */
  apply(records: readonly LayerRecord[]): boolean {
    if (this.#failure !== undefined) return false;
    for (const record of records) {
      try {
        this.#model.apply(record, this.#index, this.#maxEntrySize);
      } catch (err) {
        this.#failure = this.#error(err, record);
        return false;
      }
      this.#last = record;
    }
    return true;
  }

  /** Applies the layer's last records and throws the layer's failure, if any. */
  finish(rest: LayerScan): void {
    if (this.apply(rest.records)) {
      if (rest.error !== undefined) {
        this.#failure = this.#error(rest.error, undefined);
      } else {
        // Reading stops early only at a record the model refuses; reaching here means the two disagree.
        const last = this.#last;
        if (last !== undefined && last.type === "file" && last.content === undefined && last.bodyError === undefined && last.size > this.#maxEntrySize) {
          const err = new Error(`Cannot apply layer ${this.#index}: reading stopped at entry ${JSON.stringify(last.name)} but the walker did not refuse it`);
          this.#failure = this.#error(err, undefined);
        }
      }
    }
    if (this.#failure !== undefined) throw this.#failure;
  }

  #error(err: unknown, record: LayerRecord | undefined): Error {
    const index = this.#index;
    if (err instanceof EntryError) {
      return new LayerRejectedError(`Cannot apply layer ${index} entry ${JSON.stringify(record?.name)}: ${err.message}`, index, record?.name, { cause: err });
    }
    if (err instanceof TarFormatError) {
      return new LayerRejectedError(`Cannot apply layer ${index}: ${err.message}`, index, err.entryName, { cause: err });
    }
    return new Error(`Cannot read layer ${index}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

/** Splits a tar name into clean components; `[]` means the root. */
function splitName(name: string, what: string): string[] {
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw new EntryError(`${what} contains a ".." component`);
    parts.push(part);
  }
  return parts;
}

/**
 * A copy of a name component that holds only its own characters. Components split from a tar name
 * of 13 or more characters are slices that keep the whole name alive (V8 shares the characters),
 * which cost about 60 bytes more per file in the tree. JSON round-trips any string exactly.
 */
function ownString(s: string): string {
  return s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string);
}

/** The in-memory root filesystem. */
class RootModel {
  #root: DirNode = { t: "dir", layer: -1, children: new Map() };
  /** The SHA-256 of every executable inode. */
  readonly #digests = new DigestStore();
  /** The data node made last; frozen, so a change meant for one file cannot reach another. */
  #lastData: DataNode = Object.freeze({ t: "data", layer: -1, mode: -1, uid: -1, gid: -1 });
  #budget: number;
  #maxEntries: number;

  constructor(maxEntries: number) {
    this.#budget = maxEntries;
    this.#maxEntries = maxEntries;
  }

  #spend(): void {
    if (--this.#budget < 0) throw new EntryError(`the image has more than ${this.#maxEntries} entries (maxEntries)`);
  }

  /** Applies one record; where the tar reader would have read the entry's body, its read error is thrown. */
  apply(entry: LayerRecord, layer: number, maxEntrySize: number): void {
    this.#spend();
    const parts = splitName(entry.name, "the name");
    const base = parts.pop();
    if (base === undefined) return bodyRead(entry); // the root itself: runtimes ignore it
    // AUFS metadata at the root (`.wh..wh.plnk/...`, `.wh..wh.aufs`) is skipped, as runtimes do.
    if ((parts[0] ?? base).startsWith(WHITEOUT_META) && !(parts.length === 0 && base === OPAQUE)) return bodyRead(entry);
    if (base === OPAQUE) {
      const dir = this.#resolveDir(parts, layer, "whiteout");
      if (dir !== null) pruneLower(dir, layer);
      return bodyRead(entry);
    }
    if (base.startsWith(WHITEOUT_META)) throw new EntryError(`reserved whiteout name ${base}`);
    if (base.startsWith(WHITEOUT)) {
      const hidden = base.slice(WHITEOUT.length);
      if (hidden === "" || hidden === "." || hidden === "..") throw new EntryError(`invalid whiteout name ${base}`);
      // A whiteout below a missing directory or a file has nothing to hide.
      const parent = this.#resolveDir(parts, layer, "whiteout");
      if (parent === null) return bodyRead(entry);
      const victim = parent.children.get(hidden);
      if (victim !== undefined) {
        if (victim.layer !== layer) parent.children.delete(hidden);
        else if (victim.t === "dir") pruneLower(victim, layer);
      }
      return bodyRead(entry);
    }

    const parent = this.#resolveDir(parts, layer, "create")!;
    const existing = parent.children.get(base);
    if (entry.type === "directory") {
      if (existing?.t === "dir") existing.layer = layer;
      else parent.children.set(ownString(base), { t: "dir", layer, children: new Map() });
      return bodyRead(entry);
    }
    // Everything else replaces what was there, subtree included; removal comes first, as on disk,
    // so a hard link to the name it replaces (or to something beneath it) finds nothing.
    parent.children.delete(base);
    switch (entry.type) {
      case "file": {
        if (entry.size > maxEntrySize) throw new EntryError(`size ${entry.size} exceeds the limit of ${maxEntrySize} bytes (maxEntrySize)`);
        bodyRead(entry);
        if (entry.content === undefined) throw new Error(`Cannot apply entry ${JSON.stringify(entry.name)}: its content was not read`);
        const { sha256, size, kind } = entry.content;
        if (size !== entry.size) throw new EntryError(`read ${size} bytes, header says ${entry.size}`);
        const { mode, uid, gid } = entry;
        if (kind === null) {
          parent.children.set(ownString(base), this.#dataNode(layer, mode, uid, gid));
          return;
        }
        // ContentDigest hashes by the same rule, from the same mode and first bytes: a bug if it did not.
        if (sha256 === null) throw new Error(`Cannot apply entry ${JSON.stringify(entry.name)}: the executable's content was not hashed`);
        const inode: Inode = { kind, digest: this.#digests.add(sha256), size, mode, uid, gid, xattrs: entry.xattrs, layer };
        parent.children.set(ownString(base), { t: "exec", layer, inode });
        return;
      }
      case "symlink": {
        const target = entry.linkname ?? "";
        if (target === "") throw new EntryError("symlink without a target");
        if (Buffer.byteLength(target) > MAX_LINK_TARGET) throw new EntryError(`symlink target longer than ${MAX_LINK_TARGET} bytes`);
        parent.children.set(ownString(base), { t: "symlink", layer, target });
        return bodyRead(entry);
      }
      case "character-device":
      case "block-device":
      case "fifo":
        parent.children.set(ownString(base), { t: "special", layer });
        return bodyRead(entry);
      case "link":
        parent.children.set(ownString(base), this.#hardlink(entry, layer));
        return bodyRead(entry);
      default:
        throw new EntryError(`unsupported entry type ${String(entry.type)}`);
    }
  }

  #hardlink(entry: LayerRecord, layer: number): Node {
    const linkname = entry.linkname ?? "";
    const parts = splitName(linkname, "the hard link target");
    const base = parts.pop();
    if (base === undefined) throw new EntryError("hard link to the root directory");
    const dir = this.#resolveDir(parts, layer, "lookup");
    const target = dir?.children.get(base);
    if (target === undefined) throw new EntryError(`hard link target ${JSON.stringify(linkname)} does not exist`);
    switch (target.t) {
      case "dir":
        throw new EntryError(`hard link target ${JSON.stringify(linkname)} is a directory`);
      case "symlink":
        return { t: "symlink", layer, target: target.target };
      case "special":
        return { t: "special", layer };
      case "data": {
        checkLinkOwner(entry, linkname, target);
        // The copy-up of the target puts its name in this layer's upper directory (a file node's
        // layer is always its inode's layer); the inode itself is unchanged, see `Node`.
        const node = this.#dataNode(layer, target.mode, target.uid, target.gid);
        dir!.children.set(base, node);
        return node;
      }
      case "exec": {
        checkLinkOwner(entry, linkname, target.inode);
        if (target.inode.layer !== layer) {
          // Copy-up: the target's name gets a private copy in this layer, shared with the new name;
          // other names of the lower inode keep the lower one.
          const xattrs = target.inode.xattrs;
          target.inode = { ...target.inode, xattrs: xattrs ? new Map(xattrs) : undefined, layer };
          target.layer = layer;
        }
        const inode = target.inode;
        if (entry.xattrs !== undefined) {
          inode.xattrs ??= new Map();
          for (const [k, v] of entry.xattrs) inode.xattrs.set(k, v);
        }
        return { t: "exec", layer, inode };
      }
    }
  }

  /** A data node for these facts: the last one made when it matches (they are immutable, see `Node`). */
  #dataNode(layer: number, mode: number, uid: number, gid: number): DataNode {
    const last = this.#lastData;
    if (last.layer === layer && last.mode === mode && last.uid === uid && last.gid === gid) return last;
    this.#lastData = Object.freeze({ t: "data", layer, mode, uid, gid });
    return this.#lastData;
  }

  /**
   * Resolves directory components inside the root, following symlinks chroot-style.
   * - `create` (an entry's parent): missing directories are made; a file on the way is an error.
   * - `lookup` (a hard link's target): a missing component gives `null`; a file is an error.
   * - `whiteout`: a missing component or a file gives `null` (nothing there to hide).
   * `create` and `whiteout` mark every directory on the way as present in `layer`'s upper directory.
   */
  #resolveDir(parts: string[], layer: number, how: "create" | "lookup" | "whiteout"): DirNode | null {
    const create = how === "create";
    const stack: DirNode[] = [this.#root];
    const todo = [...parts].reverse();
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.pop()!;
      if (part === "" || part === ".") continue;
      if (part === "..") {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const dir = stack[stack.length - 1]!;
      const child = dir.children.get(part);
      if (child === undefined) {
        if (!create) return null;
        this.#spend();
        const made: DirNode = { t: "dir", layer, children: new Map() };
        dir.children.set(ownString(part), made);
        stack.push(made);
      } else if (child.t === "dir") {
        stack.push(child);
      } else if (child.t === "symlink") {
        if (++hops > MAX_SYMLINK_HOPS) throw new EntryError(`more than ${MAX_SYMLINK_HOPS} symlinks while resolving a parent directory`);
        if (child.target.startsWith("/")) stack.length = 1;
        for (const p of child.target.split("/").reverse()) todo.push(p);
      } else {
        if (how === "whiteout") return null;
        throw new EntryError(`a parent component (${part}) is not a directory`);
      }
    }
    if (how !== "lookup") for (const d of stack) d.layer = layer;
    return stack[stack.length - 1]!;
  }

  /** Collects the manifest of the current tree. */
  manifest(): ExecManifest {
    const entries: ExecEntry[] = [];
    const symlinks: ExecSymlink[] = [];
    const todo: { dir: DirNode; path: string }[] = [{ dir: this.#root, path: "" }];
    while (todo.length > 0) {
      const { dir, path } = todo.pop()!;
      // forEach, not for-of: no [name, node] pair is made per name (most of them data files). Paths
      // are joined, not concatenated: `${a}/${b}` is two rope nodes per path on top of the text.
      dir.children.forEach((node, name) => {
        if (node.t === "dir") todo.push({ dir: node, path: [path, name].join("/") });
        else if (node.t === "symlink") symlinks.push({ path: [path, name].join("/"), target: node.target });
        else if (node.t === "exec") {
          const { inode } = node;
          const caps = inode.xattrs?.get("security.capability");
          const facts = { path: [path, name].join("/"), sha256: this.#digests.hex(inode.digest), size: inode.size, mode: inode.mode, uid: inode.uid, gid: inode.gid, capabilities: caps?.toString("hex") };
          entries.push(makeExecEntry(facts, inode.kind));
        }
      });
    }
    return finishManifest(entries, symlinks);
  }
}

/** Where the tar reader would have read (or skipped) the entry's body: its failure surfaces here. */
function bodyRead(entry: LayerRecord): void {
  if (entry.bodyError !== undefined) throw entry.bodyError;
}

/**
 * Refuses a hard link whose mode or owner differs from its target's. Tar writers give a link the
 * mode and owner of its inode; when they differ, runtimes disagree: some chmod the shared inode,
 * some do not, and chown drops setuid on the way.
 */
function checkLinkOwner(entry: LayerRecord, linkname: string, t: { mode: number; uid: number; gid: number }): void {
  if (entry.mode !== t.mode || entry.uid !== t.uid || entry.gid !== t.gid) {
    throw new EntryError(
      `hard link declares mode ${octal(entry.mode)} owner ${entry.uid}:${entry.gid} but its target ${JSON.stringify(linkname)} has mode ${octal(t.mode)} owner ${t.uid}:${t.gid}; runtimes disagree on which applies`,
    );
  }
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/** Removes everything under `dir` that no entry of `layer` put there (opaque directory semantics). */
function pruneLower(dir: DirNode, layer: number): void {
  const todo: DirNode[] = [dir];
  while (todo.length > 0) {
    const d = todo.pop()!;
    for (const [name, child] of d.children) {
      if (child.layer !== layer) d.children.delete(name);
      else if (child.t === "dir") todo.push(child);
    }
  }
}
