/**
 * Writes a `docker save`-style tar in the hybrid form of Docker ≥ 25: an OCI layout (`oci-layout`,
 * `index.json`, `blobs/sha256/`) plus `manifest.json` and `repositories` for older loaders. Layers
 * keep their compression (loaders decompress them). The tar is built in a temp file next to the
 * destination and renamed into place at commit; a failed write leaves nothing behind. Failures of
 * the file itself are {@link DestinationError}s naming it.
 * @module
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack, type Pack } from "tar-stream";
import { DestinationError } from "../errors.js";
import { verifyBytes, VerifyStream } from "../internal/verify.js";
import { Annotation } from "../v1/annotations.js";
import { digestHex } from "../v1/digest.js";
import type { Descriptor } from "../v1/descriptor.js";
import { parseImageIndex, parseImageManifest } from "../v1/manifest.js";
import { isImageManifestMediaType, isIndexMediaType, MediaType } from "../v1/media-types.js";
import type { ImageSink } from "../v1/store.js";

/** Members get a fixed time so the same image always gives the same archive bytes. */
const MTIME = new Date(0);

/** Opens `file` for writing; `tag` (`name:tag`) goes into RepoTags and index.json. */
export function openDockerArchiveSink(file: string, opts: { tag?: string } = {}): ImageSink {
  const name = `docker archive ${file}`;
  const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  let p: Pack | undefined;
  let done: Promise<void> | undefined;
  const written = new Set<string>();
  const manifests = new Map<string, Buffer>();

  /** Set when the temp file failed (cannot be created, no space): the cause of every later failure. */
  let fileFailure: DestinationError | undefined;
  /** Set before this sink destroys the tar itself: the file then fails with that cause, not its own. */
  let tearingDown = false;

  function tar(): Pack {
    if (!p) {
      p = pack();
      const out = createWriteStream(tmp);
      out.on("error", (err) => {
        if (!tearingDown) fileFailure ??= new DestinationError(`Cannot write ${name}: ${err.message}`, { cause: err });
      });
      done = pipeline(p, out);
      done.catch(() => undefined);
    }
    return p;
  }

  /** Awaits a step of writing the tar; when the file failed meanwhile, that is the error to report. */
  async function step<T>(run: Promise<T>): Promise<T> {
    try {
      return await run;
    } catch (err) {
      throw fileFailure ?? err;
    }
  }

  function addBuffer(path: string, data: Buffer): Promise<void> {
    return step(
      new Promise((resolve, reject) => {
        tar().entry({ name: path, size: data.length, mode: 0o644, mtime: MTIME, uid: 0, gid: 0 }, data, (err) => (err ? reject(err) : resolve()));
      }),
    );
  }

  async function addBlobBytes(desc: Descriptor, bytes: Buffer): Promise<void> {
    if (written.has(desc.digest)) return;
    verifyBytes(bytes, desc, { what: `blob ${desc.digest} for ${name}` });
    await addBuffer(`blobs/sha256/${digestHex(desc.digest)}`, bytes);
    written.add(desc.digest);
  }

  /** manifest.json entries: one per image manifest reachable from the root (multi-arch stays in index.json). */
  function legacyEntries(root: Descriptor, bytes: Buffer): { Config: string; RepoTags: string[]; Layers: string[] }[] {
    const out: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    const visit = (d: Descriptor, b: Buffer): void => {
      if (isImageManifestMediaType(d.mediaType)) {
        const m = parseImageManifest(b, `manifest ${d.digest}`);
        if (!m.layers.every((l) => written.has(l.digest))) return;
        out.push({
          Config: `blobs/sha256/${digestHex(m.config.digest)}`,
          RepoTags: out.length === 0 && opts.tag ? [opts.tag] : [],
          Layers: m.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
        });
      } else if (isIndexMediaType(d.mediaType)) {
        for (const c of parseImageIndex(b, `index ${d.digest}`).manifests) {
          const cb = manifests.get(c.digest);
          if (cb) visit(c, cb);
        }
      }
    };
    visit(root, bytes);
    return out;
  }

  return {
    name,
    async hasBlob(desc: Descriptor): Promise<boolean> {
      return written.has(desc.digest);
    },
    async putBlob(desc: Descriptor, data: Readable): Promise<void> {
      if (written.has(desc.digest)) {
        data.resume();
        return;
      }
      const t = tar();
      await step(new Promise<void>((resolve, reject) => {
        const entry = t.entry({ name: `blobs/sha256/${digestHex(desc.digest)}`, size: desc.size, mode: 0o644, mtime: MTIME, uid: 0, gid: 0 }, (err) =>
          err ? reject(err) : resolve(),
        );
        pipeline(data, new VerifyStream(`blob ${desc.digest} for ${name}`, desc.digest, desc.size), entry).catch((err) => {
          tearingDown = true;
          t.destroy(err as Error);
          reject(err);
        });
      }));
      written.add(desc.digest);
    },
    async putManifest(desc: Descriptor, bytes: Buffer): Promise<void> {
      manifests.set(desc.digest, bytes);
      await addBlobBytes(desc, bytes);
    },
    async commit(root: Descriptor, bytes: Buffer): Promise<void> {
      manifests.set(root.digest, bytes);
      await addBlobBytes(root, bytes);
      const entry: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size };
      if (opts.tag) {
        const short = opts.tag.includes(":") ? opts.tag.slice(opts.tag.lastIndexOf(":") + 1) : opts.tag;
        entry.annotations = { [Annotation.containerdImageName]: opts.tag, [Annotation.refName]: short };
      }
      const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] };
      await addBuffer("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
      await addBuffer("index.json", Buffer.from(JSON.stringify(index)));
      const legacy = legacyEntries(root, bytes);
      await addBuffer("manifest.json", Buffer.from(JSON.stringify(legacy)));
      if (opts.tag && legacy[0]) {
        const colon = opts.tag.lastIndexOf(":");
        const repo = colon > 0 ? opts.tag.slice(0, colon) : opts.tag;
        const tagName = colon > 0 ? opts.tag.slice(colon + 1) : "latest";
        const top = legacy[0].Layers.at(-1)?.slice("blobs/sha256/".length) ?? "";
        await addBuffer("repositories", Buffer.from(JSON.stringify({ [repo]: { [tagName]: top } })));
      }
      tar().finalize();
      await step(done!);
      try {
        await rename(tmp, file);
      } catch (err) {
        throw new DestinationError(`Cannot write ${name}: ${(err as Error).message}`, { cause: err });
      }
      p = undefined;
    },
    async close() {
      if (p) {
        tearingDown = true;
        p.destroy();
        await done?.catch(() => undefined);
        await rm(tmp, { force: true });
        p = undefined;
      }
    },
  };
}
