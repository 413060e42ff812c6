/**
 * Reads an image or index from a registry: the reference resolves to exact manifest bytes whose
 * digest is checked (against the reference's digest or the registry's Docker-Content-Digest), and
 * every blob is streamed through a digest and size check.
 * @module
 */
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { ImageNotFoundError, RegistryResponseError } from "../errors.js";
import { readBounded, TooLargeError } from "../../files/read-bounded.js";
import { MAX_MANIFEST_BYTES, verifyBlob, verifyBytes, DigestMismatchError } from "../internal/verify.js";
import { digestOf } from "../v1/digest.js";
import type { Descriptor } from "../v1/descriptor.js";
import { MANIFEST_ACCEPT } from "../v1/media-types.js";
import { sniffManifestMediaType } from "../v1/manifest.js";
import type { ImageSource, Resolved, BlobOrigin } from "../v1/store.js";
import { RegistryClient, registryErrorText, responseText, type ClientOptions } from "./client.js";
import { notFoundAdvice } from "./registry-hosts.js";
import { formatReference, type ImageReference } from "./reference.js";

function bodyStream(res: Response): Readable {
  if (!res.body) return Readable.from([]);
  return Readable.fromWeb(res.body as unknown as WebReadableStream);
}

/** Opens a registry image for reading. `client` may be shared with a sink on the same registry. */
export function openRegistrySource(ref: ImageReference, opts: ClientOptions & { client?: RegistryClient } = {}): ImageSource {
  const client = opts.client ?? new RegistryClient(ref.registry, opts);
  const repo = ref.repository;
  const scopes = [`repository:${repo}:pull`];
  const name = `registry ${ref.registry} image ${formatReference(ref)}`;
  const origin: BlobOrigin = { registry: ref.registry, repository: repo };

  async function getManifest(reference: string): Promise<{ bytes: Buffer; contentType: string | undefined; headerDigest: string | undefined }> {
    const res = await client.request(`/v2/${repo}/manifests/${reference}`, {
      scopes,
      headers: { accept: MANIFEST_ACCEPT.join(", ") },
      accept: [404],
    });
    if (res.status === 404) {
      const said = registryErrorText(await responseText(res));
      // NAME_UNKNOWN: the repository itself is missing (not just this tag).
      const noRepo = /NAME_UNKNOWN/.test(said);
      throw new ImageNotFoundError(
        `Cannot find ${reference.startsWith("sha256:") ? "manifest" : "tag"} ${reference} in repository ${repo} on registry ${client.label}: the registry answered 404${said ? ` (${said})` : ""}` +
          (noRepo ? notFoundAdvice(ref.registry, repo) : ` (check the name and tag, e.g. with \`skopeo list-tags docker://${ref.registry}/${repo}\`)`),
      );
    }
    let bytes: Buffer;
    try {
      bytes = await readBounded(bodyStream(res), MAX_MANIFEST_BYTES, `manifest ${reference} of ${name}`);
    } catch (err) {
      await res.body?.cancel().catch(() => undefined);
      if (err instanceof TooLargeError) throw err;
      throw new RegistryResponseError(`Cannot read manifest ${reference} of ${name}: the registry's answer broke off (${(err as Error).message})`, 0, { cause: err });
    }
    return { bytes, contentType: res.headers.get("content-type") ?? undefined, headerDigest: res.headers.get("docker-content-digest") ?? undefined };
  }

  return {
    name,
    origin,
    async resolve(): Promise<Resolved> {
      const reference = ref.digest ?? ref.tag ?? "latest";
      const { bytes, contentType, headerDigest } = await getManifest(reference);
      const digest = digestOf(bytes);
      const expected = ref.digest ?? headerDigest;
      if (expected && expected.startsWith("sha256:") && expected !== digest) {
        throw new DigestMismatchError(`manifest ${reference} of ${name}`, expected, digest);
      }
      const mediaType = sniffManifestMediaType(bytes, contentType);
      if (!mediaType) throw new SyntaxError(`Cannot tell the media type of manifest ${reference} of ${name}: no Content-Type and no mediaType field`);
      return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
    },
    async manifest(desc: Descriptor): Promise<Buffer> {
      const { bytes } = await getManifest(desc.digest);
      return verifyBytes(bytes, desc, { what: `manifest ${desc.digest} of ${name}` });
    },
    async blobBytes(desc: Descriptor): Promise<Buffer> {
      if (desc.size > MAX_MANIFEST_BYTES) throw new TooLargeError(`Cannot read blob ${desc.digest} of ${name} into memory: ${desc.size} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`, MAX_MANIFEST_BYTES);
      const s = await this.blob(desc);
      return readBounded(s, desc.size, `blob ${desc.digest} of ${name}`);
    },
    async blob(desc: Descriptor): Promise<Readable> {
      const res = await client.download(`/v2/${repo}/blobs/${desc.digest}`, { scopes, accept: [404] });
      if (res.status === 404) {
        res.body.destroy();
        throw new ImageNotFoundError(`Cannot find blob ${desc.digest} in repository ${repo} on registry ${ref.registry}: the registry answered 404`);
      }
      // A connection that breaks off mid-body is the registry's failure, named as such (not a bug).
      const sourceError = (err: Error, bytes: number): Error =>
        new RegistryResponseError(`Cannot read blob ${desc.digest} of ${name}: the registry's answer broke off after ${bytes} of ${desc.size} bytes (${err.message})`, 0, { cause: err });
      return verifyBlob(res.body, desc, { what: `blob ${desc.digest} of ${name}`, sourceError });
    },
    async close() {
      /* fetch keeps no per-source state */
    },
  };
}
