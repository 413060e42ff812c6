/**
 * Reads an image from a `docker save` tar. The Docker ≥ 25 hybrid form (an OCI layout plus
 * `manifest.json`) is read through its `index.json`; the older form (`manifest.json` with
 * `<id>/layer.tar` paths) gets a Docker schema2 manifest synthesised from `manifest.json` and the
 * config's diff_ids. Members are streamed by offset, never loaded whole.
 * @module
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { z } from "zod";
import { ImageNotFoundError } from "../errors.js";
import { indexTar, type TarMember } from "../internal/tar-index.js";
import { readBounded, TooLargeError } from "../../files/read-bounded.js";
import { MAX_MANIFEST_BYTES, verifyBlob, verifyBytes } from "../internal/verify.js";
import { Annotation } from "../v1/annotations.js";
import { parseImageConfig } from "../v1/config.js";
import { digestOf, isDigest, type Digest } from "../v1/digest.js";
import type { Descriptor } from "../v1/descriptor.js";
import { parseImageIndex, parseJson } from "../v1/manifest.js";
import { MediaType } from "../v1/media-types.js";
import type { ImageSource, Resolved } from "../v1/store.js";

const legacyManifestSchema = z.array(
  z.looseObject({ Config: z.string(), RepoTags: z.array(z.string()).nullable().optional(), Layers: z.array(z.string()) }),
);

/** Opens a docker-archive tar; `tag` (`name:tag`) picks one of several images. */
export function openDockerArchiveSource(file: string, opts: { tag?: string } = {}): ImageSource {
  const name = `docker archive ${file}${opts.tag ? `:${opts.tag}` : ""}`;
  let members: Map<string, TarMember> | undefined;
  /** Blobs addressed by digest: `blobs/sha256/<hex>` or, in the old form, the synthesised ones. */
  const byDigest = new Map<string, TarMember | Buffer>();

  async function index(): Promise<Map<string, TarMember>> {
    if (!members) {
      try {
        members = await indexTar(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new ImageNotFoundError(`Cannot open ${name}: ${file} does not exist`, { cause: err });
        throw err;
      }
      for (const m of members.values()) {
        const mm = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(m.name);
        if (mm) byDigest.set(`sha256:${mm[1]}`, m);
      }
    }
    return members;
  }

  async function readMember(m: TarMember, what: string): Promise<Buffer> {
    if (m.size > MAX_MANIFEST_BYTES) throw new TooLargeError(`Cannot read ${what} from ${name}: ${m.size} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`, MAX_MANIFEST_BYTES);
    const fh = await open(file, "r");
    try {
      const buf = Buffer.alloc(m.size);
      const { bytesRead } = await fh.read(buf, 0, m.size, m.offset);
      if (bytesRead !== m.size) throw new SyntaxError(`Cannot read ${what} from ${name}: the file is truncated`);
      return buf;
    } finally {
      await fh.close();
    }
  }

  function memberStream(m: TarMember): Readable {
    return m.size === 0 ? createReadStream(file, { start: 1, end: 0 }) : createReadStream(file, { start: m.offset, end: m.offset + m.size - 1 });
  }

  async function openBlob(desc: Descriptor): Promise<Readable> {
    await index();
    const m = byDigest.get(desc.digest);
    if (!m) throw new ImageNotFoundError(`Cannot find blob ${desc.digest} in ${name}: the archive does not contain it`);
    const raw = Buffer.isBuffer(m) ? Readable.from([m]) : memberStream(m);
    return verifyBlob(raw, desc, { what: `blob ${desc.digest} of ${name}` });
  }

  async function resolveLegacy(ms: Map<string, TarMember>): Promise<Resolved> {
    const mj = ms.get("manifest.json");
    if (!mj) throw new ImageNotFoundError(`Cannot open ${name}: it has neither index.json nor manifest.json; is it a docker-archive?`);
    const r = legacyManifestSchema.safeParse(parseJson(await readMember(mj, "manifest.json"), `manifest.json of ${name}`));
    if (!r.success) throw new SyntaxError(`Cannot parse manifest.json of ${name}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    const entries = opts.tag ? r.data.filter((e) => (e.RepoTags ?? []).some((t) => t === opts.tag || t.endsWith(`/${opts.tag}`))) : r.data;
    if (entries.length !== 1) {
      const tags = r.data.flatMap((e) => e.RepoTags ?? []);
      throw new ImageNotFoundError(`Cannot choose an image in ${name}: ${entries.length} entries match (tags present: ${tags.join(", ") || "none"}); name one as docker-archive:${file}:NAME:TAG`);
    }
    const e = entries[0]!;
    const cm = ms.get(e.Config.replace(/^\.\//, ""));
    if (!cm) throw new SyntaxError(`Cannot read ${name}: manifest.json names config ${e.Config}, which the archive lacks`);
    const cfgBytes = await readMember(cm, `config ${e.Config}`);
    const config = parseImageConfig(cfgBytes, `${e.Config} in ${name}`);
    if (config.rootfs.diff_ids.length !== e.Layers.length) {
      throw new SyntaxError(`Cannot read ${name}: manifest.json lists ${e.Layers.length} layers, the config ${config.rootfs.diff_ids.length} diff_ids`);
    }
    const cfgDigest = digestOf(cfgBytes);
    byDigest.set(cfgDigest, cm);
    const layers: Descriptor[] = [];
    for (const [i, lp] of e.Layers.entries()) {
      const lm = ms.get(lp.replace(/^\.\//, ""));
      if (!lm) throw new SyntaxError(`Cannot read ${name}: manifest.json names layer ${lp}, which the archive lacks`);
      const head = await readMember({ ...lm, size: Math.min(4, lm.size) }, `layer ${lp}`);
      const gz = head[0] === 0x1f && head[1] === 0x8b;
      let digest: Digest;
      if (!gz) digest = config.rootfs.diff_ids[i] as Digest;
      else {
        // A compressed layer's blob digest is not in the config: hash the member once.
        const h = createHash("sha256");
        for await (const c of memberStream(lm)) h.update(c as Buffer);
        digest = `sha256:${h.digest("hex")}`;
      }
      if (!isDigest(digest)) throw new SyntaxError(`Cannot read ${name}: diff_id ${i} is not a sha256 digest`);
      byDigest.set(digest, lm);
      layers.push({ mediaType: gz ? MediaType.dockerLayerGzip : MediaType.dockerLayer, digest, size: lm.size });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: { mediaType: MediaType.dockerConfig, digest: cfgDigest, size: cfgBytes.length },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const descriptor = { mediaType: MediaType.dockerManifest, digest: digestOf(bytes), size: bytes.length };
    byDigest.set(descriptor.digest, bytes);
    return { descriptor, bytes };
  }

  return {
    name,
    async resolve(): Promise<Resolved> {
      const ms = await index();
      const ij = ms.get("index.json");
      if (!ij) return resolveLegacy(ms);
      const idx = parseImageIndex(await readMember(ij, "index.json"), `index.json in ${name}`);
      const tagOf = (d: Descriptor): string[] => [d.annotations?.[Annotation.refName], d.annotations?.[Annotation.containerdImageName]].filter((x): x is string => !!x);
      const entries = opts.tag
        ? idx.manifests.filter((m) => tagOf(m).some((t) => t === opts.tag || t.endsWith(`/${opts.tag}`) || t.endsWith(`:${opts.tag}`)))
        : idx.manifests;
      if (entries.length !== 1) {
        throw new ImageNotFoundError(
          `Cannot choose an image in ${name}: ${entries.length} index.json entries match (names present: ${idx.manifests.flatMap(tagOf).join(", ") || "none"})`,
        );
      }
      const d = entries[0]!;
      const bytes = await this.manifest(d);
      return { descriptor: { mediaType: d.mediaType, digest: d.digest, size: d.size }, bytes };
    },
    async manifest(desc: Descriptor): Promise<Buffer> {
      await index();
      const m = byDigest.get(desc.digest);
      if (!m) throw new ImageNotFoundError(`Cannot find manifest ${desc.digest} in ${name}`);
      const bytes = Buffer.isBuffer(m) ? m : await readMember(m, `manifest ${desc.digest}`);
      return verifyBytes(bytes, desc, { what: `manifest ${desc.digest} of ${name}` });
    },
    async blobBytes(desc: Descriptor): Promise<Buffer> {
      return readBounded(await openBlob(desc), Math.min(desc.size, MAX_MANIFEST_BYTES), `blob ${desc.digest} of ${name}`);
    },
    blob: openBlob,
    async close() {
      byDigest.clear();
    },
  };
}

