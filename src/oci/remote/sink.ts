/**
 * Writes to a registry: HEAD before upload, cross-repository mount with fallback to upload,
 * streamed monolithic uploads, manifests by digest with their exact bytes and media type, and the
 * tag last so nothing is visible under it before everything it references is present.
 * @module
 */
import type { Readable } from "node:stream";
import type { Descriptor } from "../v1/descriptor.js";
import type { BlobOrigin, ImageSink } from "../v1/store.js";
import { ImageNotFoundError, RegistryAuthError, RegistryResponseError } from "../errors.js";
import { DigestMismatchError } from "../internal/verify.js";
import { RegistryClient, type ClientOptions, type RequestOptions } from "./client.js";
import { notFoundAdvice } from "./registry-hosts.js";
import { formatReference, type ImageReference } from "./reference.js";

/** Opens a registry repository for writing; `commit` tags (or checks the digest of) `ref`. */
export function openRegistrySink(ref: ImageReference, opts: ClientOptions & { client?: RegistryClient } = {}): ImageSink {
  const client = opts.client ?? new RegistryClient(ref.registry, opts);
  const repo = ref.repository;
  const push = [`repository:${repo}:pull,push`];
  const name = `registry ${ref.registry} image ${formatReference(ref)}`;
  /** Upload sessions a refused mount opened (202): upload there instead of POSTing again. */
  const pending = new Map<string, string>();

  /**
   * A write request; a 404 means the repository does not exist, which registries that do not
   * create repositories on push (ECR) answer with NAME_UNKNOWN.
   */
  async function write(path: string, o: RequestOptions): Promise<Response> {
    try {
      return await client.request(path, o);
    } catch (err) {
      if (err instanceof RegistryResponseError && err.status === 404) {
        throw new ImageNotFoundError(`Cannot push to repository ${repo} on registry ${client.label}: it does not exist (${err.message})${notFoundAdvice(ref.registry, repo)}`, { cause: err });
      }
      throw err;
    }
  }

  async function startUpload(what: string): Promise<string> {
    const res = await write(`/v2/${repo}/blobs/uploads/`, { method: "POST", scopes: push, body: Buffer.alloc(0) });
    await res.body?.cancel();
    const loc = res.headers.get("location");
    if (!loc) throw new RegistryResponseError(`Cannot upload ${what} to ${name}: the registry answered HTTP ${res.status} to POST /v2/${repo}/blobs/uploads/ without an upload Location`, res.status);
    return client.resolveLocation(loc, what);
  }

  return {
    name,
    async hasBlob(desc: Descriptor, o: { origin?: BlobOrigin } = {}): Promise<boolean> {
      const head = await client.request(`/v2/${repo}/blobs/${desc.digest}`, { method: "HEAD", scopes: push, accept: [404] });
      if (head.status === 200) return true;
      const origin = o.origin;
      if (!origin || origin.registry !== ref.registry || origin.repository === repo) return false;
      // Mounting is best effort: registries may refuse the second scope or the mount itself.
      try {
        const q = new URLSearchParams({ mount: desc.digest, from: origin.repository });
        const res = await client.request(`/v2/${repo}/blobs/uploads/?${q}`, {
          method: "POST",
          scopes: [...push, `repository:${origin.repository}:pull`],
          body: Buffer.alloc(0),
        });
        await res.body?.cancel();
        if (res.status === 201) return true;
        const loc = res.headers.get("location");
        if (res.status === 202 && loc) pending.set(desc.digest, client.resolveLocation(loc, `blob ${desc.digest}`));
        return false;
      } catch (err) {
        // A 404 may be about the mount's source: upload instead, whose own POST tells whether the
        // destination repository exists.
        if (err instanceof RegistryAuthError || (err instanceof RegistryResponseError && err.status === 404)) return false;
        throw err;
      }
    },
    async putBlob(desc: Descriptor, data: Readable): Promise<void> {
      const what = `blob ${desc.digest}`;
      let loc: string;
      try {
        loc = pending.get(desc.digest) ?? (await startUpload(what));
      } catch (err) {
        // `data` is ours from here on: it will never be read, so dispose of it, and keep the errors
        // its producer may still push into it (it is usually one branch of a tee) from crashing the
        // process as unhandled 'error' events. The failure itself is reported by the throw.
        data.on("error", () => undefined);
        data.destroy();
        throw err;
      }
      pending.delete(desc.digest);
      const u = new URL(loc);
      u.searchParams.set("digest", desc.digest);
      const status = await client.upload(u.toString(), {
        scopes: push,
        headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
        body: data,
      });
      if (status !== 201) throw new RegistryResponseError(`Cannot upload ${what} to ${name}: the registry answered HTTP ${status} to the upload, not 201 Created`, status);
    },
    async putManifest(desc: Descriptor, bytes: Buffer): Promise<void> {
      const res = await write(`/v2/${repo}/manifests/${desc.digest}`, {
        method: "PUT",
        scopes: push,
        headers: { "content-type": desc.mediaType },
        body: bytes,
      });
      await res.body?.cancel();
    },
    async commit(root: Descriptor, bytes: Buffer): Promise<void> {
      // A destination may name the digest the result must have (a reproducible embed, pinned):
      // a different result is an integrity failure, and nothing is written under that name.
      if (ref.digest && ref.digest !== root.digest) {
        throw new DigestMismatchError(`the result for ${name} (the destination names its digest)`, ref.digest, root.digest);
      }
      const res = await write(`/v2/${repo}/manifests/${ref.tag ?? root.digest}`, {
        method: "PUT",
        scopes: push,
        headers: { "content-type": root.mediaType },
        body: bytes,
      });
      await res.body?.cancel();
    },
    async close() {
      pending.clear();
    },
  };
}
