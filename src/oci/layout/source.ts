/**
 * Reads an image from an OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`).
 * A tag selects the `index.json` entry whose `org.opencontainers.image.ref.name` matches; without a
 * tag the layout must hold exactly one entry.
 * @module
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { ImageNotFoundError } from "../errors.js";
import { readBounded, TooLargeError } from "../../files/read-bounded.js";
import { MAX_MANIFEST_BYTES, verifyBlob, verifyBytes } from "../internal/verify.js";
import { digestHex, type Digest } from "../v1/digest.js";
import type { Descriptor } from "../v1/descriptor.js";
import { parseImageIndex } from "../v1/manifest.js";
import type { ImageSource, Resolved } from "../v1/store.js";
import { Annotation } from "../v1/annotations.js";

const REF_NAME = Annotation.refName;

/** Opens `dir` for reading; `tag` names the entry of index.json to use. */
export function openLayoutSource(dir: string, opts: { tag?: string } = {}): ImageSource {
  const name = `OCI layout ${dir}${opts.tag ? `:${opts.tag}` : ""}`;
  const blobPath = (d: Digest): string => join(dir, "blobs", "sha256", digestHex(d));

  async function openBlob(desc: Descriptor): Promise<Readable> {
    const p = blobPath(desc.digest);
    try {
      await stat(p);
    } catch {
      throw new ImageNotFoundError(`Cannot find blob ${desc.digest} in ${name}: ${p} is missing`);
    }
    return verifyBlob(createReadStream(p), desc, { what: `blob ${desc.digest} of ${name}` });
  }

  return {
    name,
    async resolve(): Promise<Resolved> {
      let text: Buffer;
      try {
        await readFile(join(dir, "oci-layout"));
        text = await readFile(join(dir, "index.json"));
      } catch (err) {
        throw new ImageNotFoundError(`Cannot open ${name}: ${dir} is not an OCI image layout (no oci-layout or index.json)`, { cause: err });
      }
      const index = parseImageIndex(text, `${dir}/index.json`);
      const entries = opts.tag ? index.manifests.filter((m) => m.annotations?.[REF_NAME] === opts.tag) : index.manifests;
      if (entries.length !== 1) {
        const tags = index.manifests.map((m) => m.annotations?.[REF_NAME]).filter(Boolean);
        throw new ImageNotFoundError(
          opts.tag
            ? `Cannot find tag ${opts.tag} in ${dir}/index.json: ${entries.length === 0 ? "no entry" : "several entries"} (tags present: ${tags.join(", ") || "none"})`
            : `Cannot choose an image in ${dir}: index.json has ${entries.length} entries; name one as oci:${dir}:TAG (tags present: ${tags.join(", ") || "none"})`,
        );
      }
      const descriptor = entries[0]!;
      const bytes = await this.manifest(descriptor);
      return { descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }, bytes };
    },
    async manifest(desc: Descriptor): Promise<Buffer> {
      const s = await openBlob({ ...desc, size: desc.size });
      return verifyBytes(await readBounded(s, MAX_MANIFEST_BYTES, `manifest ${desc.digest} of ${name}`), desc, { what: `manifest ${desc.digest} of ${name}` });
    },
    async blobBytes(desc: Descriptor): Promise<Buffer> {
      if (desc.size > MAX_MANIFEST_BYTES) throw new TooLargeError(`Cannot read blob ${desc.digest} of ${name} into memory: ${desc.size} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`, MAX_MANIFEST_BYTES);
      return readBounded(await openBlob(desc), desc.size, `blob ${desc.digest} of ${name}`);
    },
    blob: openBlob,
    async close() {
      /* nothing held open between reads */
    },
  };
}
