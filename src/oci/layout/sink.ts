/**
 * Writes an image into an OCI image layout directory. Blobs are written to a temp file, verified,
 * then renamed into place; `index.json` is rewritten atomically at commit, replacing any entry with
 * the same tag, so a failed write leaves the previous index untouched. File-system failures are
 * {@link DestinationError}s naming the path.
 * @module
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DestinationError } from "../errors.js";
import { LockBusyError, withLockFile } from "../../files/lock-file.js";
import { makeDirs } from "../../files/make-dirs.js";
import { verifyBytes, VerifyStream } from "../internal/verify.js";
import { digestHex } from "../v1/digest.js";
import type { Descriptor } from "../v1/descriptor.js";
import { parseImageIndex, type ImageIndex } from "../v1/manifest.js";
import { MediaType } from "../v1/media-types.js";
import type { ImageSink } from "../v1/store.js";
import { Annotation } from "../v1/annotations.js";

const REF_NAME = Annotation.refName;

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === "string";
}

async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Opens (creating if needed) a layout directory for writing; `tag` becomes the ref.name of the root. */
export function openLayoutSink(dir: string, opts: { tag?: string } = {}): ImageSink {
  const name = `OCI layout ${dir}${opts.tag ? `:${opts.tag}` : ""}`;
  const blobsDir = join(dir, "blobs", "sha256");
  /** Runs a file-system step; a system error becomes a DestinationError naming the layout. */
  async function fsStep<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (isSystemError(err)) throw new DestinationError(`Cannot write ${name}: ${err.message}`, { cause: err });
      throw err;
    }
  }
  let ready: Promise<void> | undefined;
  const init = (): Promise<void> =>
    (ready ??= fsStep(async () => {
      await makeDirs(blobsDir);
      await writeAtomic(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    }));

  async function putBytes(desc: Descriptor, bytes: Buffer): Promise<void> {
    await init();
    verifyBytes(bytes, desc, { what: `blob ${desc.digest} for ${name}` });
    await fsStep(() => writeAtomic(join(blobsDir, digestHex(desc.digest)), bytes));
  }

  /** Adds `root` to index.json under the tag (replacing the entry it had); call with the lock held. */
  async function updateIndex(root: Descriptor): Promise<void> {
    let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    let existing: Buffer | undefined;
    try {
      existing = await readFile(join(dir, "index.json"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw isSystemError(err) ? new DestinationError(`Cannot write ${name}: ${err.message}`, { cause: err }) : err;
    }
    if (existing) index = parseImageIndex(existing, `${dir}/index.json`);
    const entry: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size };
    if (root.platform) entry.platform = root.platform;
    if (opts.tag) entry.annotations = { [REF_NAME]: opts.tag };
    const keep = index.manifests.filter((m) =>
      opts.tag ? m.annotations?.[REF_NAME] !== opts.tag : !(m.digest === root.digest && !m.annotations?.[REF_NAME]),
    );
    index.manifests = [...keep, entry];
    await fsStep(() => writeAtomic(join(dir, "index.json"), JSON.stringify(index)));
  }

  return {
    name,
    async hasBlob(desc: Descriptor): Promise<boolean> {
      try {
        const st = await stat(join(blobsDir, digestHex(desc.digest)));
        return st.size === desc.size;
      } catch {
        return false;
      }
    },
    async putBlob(desc: Descriptor, data: Readable): Promise<void> {
      await init();
      const final = join(blobsDir, digestHex(desc.digest));
      const tmp = `${final}.tmp-${randomBytes(6).toString("hex")}`;
      const out = createWriteStream(tmp);
      let writeError: Error | undefined;
      out.on("error", (err) => (writeError ??= err));
      try {
        await pipeline(data, new VerifyStream(`blob ${desc.digest} for ${name}`, desc.digest, desc.size), out);
        await fsStep(() => rename(tmp, final));
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        // The source's and the digest check's failures stay what they are; the file's become DestinationErrors.
        if (writeError !== undefined && err === writeError) throw new DestinationError(`Cannot write ${name}: ${writeError.message}`, { cause: err });
        throw err;
      }
    },
    putManifest: putBytes,
    async commit(root: Descriptor, bytes: Buffer): Promise<void> {
      await putBytes(root, bytes);
      // Several writers may share a layout (parallel CI jobs, one per platform or image): without
      // the lock, two read-modify-writes of index.json would lose one of the entries.
      try {
        await withLockFile(join(dir, "index.json.lock"), () => updateIndex(root));
      } catch (err) {
        if (err instanceof LockBusyError) throw new DestinationError(`Cannot write ${name}: ${err.message}`, { cause: err });
        throw isSystemError(err) ? new DestinationError(`Cannot write ${name}: ${err.message}`, { cause: err }) : err;
      }
    },
    async close() {
      /* temp files are removed as each write ends */
    },
  };
}
