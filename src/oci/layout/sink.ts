/**
 * Writes an image into an OCI image layout directory. Blobs are written to a temp file, verified,
 * then renamed into place; `index.json` is rewritten atomically at commit, replacing any entry with
 * the same tag, so a failed write leaves the previous index untouched.
 * @module
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { verifyBytes, VerifyStream } from "../internal/verify.js";
import { digestHex } from "../v1/digest.js";
import type { Descriptor } from "../v1/descriptor.js";
import { parseImageIndex, type ImageIndex } from "../v1/manifest.js";
import { MediaType } from "../v1/media-types.js";
import type { ImageSink } from "../v1/store.js";
import { Annotation } from "../v1/annotations.js";

const REF_NAME = Annotation.refName;

async function writeAtomic(path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** Opens (creating if needed) a layout directory for writing; `tag` becomes the ref.name of the root. */
export function openLayoutSink(dir: string, opts: { tag?: string } = {}): ImageSink {
  const name = `OCI layout ${dir}${opts.tag ? `:${opts.tag}` : ""}`;
  const blobsDir = join(dir, "blobs", "sha256");
  let ready: Promise<void> | undefined;
  const init = (): Promise<void> =>
    (ready ??= (async () => {
      await mkdir(blobsDir, { recursive: true });
      await writeAtomic(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    })());

  async function putBytes(desc: Descriptor, bytes: Buffer): Promise<void> {
    await init();
    verifyBytes(bytes, desc, { what: `blob ${desc.digest} for ${name}` });
    await writeAtomic(join(blobsDir, digestHex(desc.digest)), bytes);
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
      try {
        await pipeline(data, new VerifyStream(`blob ${desc.digest} for ${name}`, desc.digest, desc.size), createWriteStream(tmp));
        await rename(tmp, final);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    putManifest: putBytes,
    async commit(root: Descriptor, bytes: Buffer): Promise<void> {
      await putBytes(root, bytes);
      let index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
      try {
        index = parseImageIndex(await readFile(join(dir, "index.json")), `${dir}/index.json`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
      const entry: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.size };
      if (root.platform) entry.platform = root.platform;
      if (opts.tag) entry.annotations = { [REF_NAME]: opts.tag };
      const keep = index.manifests.filter((m) =>
        opts.tag ? m.annotations?.[REF_NAME] !== opts.tag : !(m.digest === root.digest && !m.annotations?.[REF_NAME]),
      );
      index.manifests = [...keep, entry];
      await writeAtomic(join(dir, "index.json"), JSON.stringify(index));
    },
    async close() {
      /* temp files are removed as each write ends */
    },
  };
}
