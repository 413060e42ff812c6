/**
 * The one layer Inlay adds: `/.inlay/` (0755), `/.inlay/bundle` (0644) and
 * `/.inlay/inlay-enforcer` (0755), all root-owned so a non-root `User` can run the enforcer.
 * Deterministic: fixed order, mtime 0, no user names, gzip at a fixed level, so the same enforcer
 * and bundle always give the same blob digest.
 * @module
 */
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { pack } from "tar-stream";
import { digestOf, type Digest } from "../oci/v1/digest.js";

export interface InlayLayer {
  /** The gzip blob. */
  blob: Buffer;
  digest: Digest;
  diffId: Digest;
}

const MTIME = new Date(0);
const MAX_TAR_BYTES = 1024 * 1024 * 1024;
const GZIP_LEVEL = 9;

/**
 * Builds the layer from the enforcer binary and the bundle bytes. The tar streams through its
 * diff_id hash into gzip, so only the compressed blob is held (the bundle of an image with many
 * executables is megabytes; the tar and its copies were held twice more). The blob is the same as a
 * one-shot gzip of the whole tar at level 9: deflate's output does not depend on how its input is
 * cut (`inlay-layer.test.ts` checks it).
 */
export async function buildInlayLayer(enforcer: Buffer, bundle: Buffer): Promise<InlayLayer> {
  const p = pack();
  const base = { mtime: MTIME, uid: 0, gid: 0, uname: "", gname: "" };
  const tarHash = createHash("sha256");
  let tarBytes = 0;
  const hashTar = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      tarBytes += chunk.length;
      if (tarBytes > MAX_TAR_BYTES) return cb(new RangeError(`Cannot read the Inlay layer: larger than the ${MAX_TAR_BYTES}-byte limit`));
      tarHash.update(chunk);
      cb(null, chunk);
    },
  });
  const out: Buffer[] = [];
  const written = pipeline(p, hashTar, createGzip({ level: GZIP_LEVEL }), async (gz: AsyncIterable<Buffer>) => {
    for await (const c of gz) out.push(c);
  });
  written.catch(() => undefined); // awaited below, after the entries
  await new Promise<void>((resolve, reject) => p.entry({ ...base, name: ".inlay/", type: "directory", mode: 0o755 }, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve, reject) => p.entry({ ...base, name: ".inlay/bundle", mode: 0o644 }, bundle, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve, reject) => p.entry({ ...base, name: ".inlay/inlay-enforcer", mode: 0o755 }, enforcer, (e) => (e ? reject(e) : resolve())));
  p.finalize();
  await written;
  const blob = Buffer.concat(out);
  return { blob, digest: digestOf(blob), diffId: `sha256:${tarHash.digest("hex")}` };
}
