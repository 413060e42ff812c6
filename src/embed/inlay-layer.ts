/**
 * The one layer Inlay adds: `/.inlay/` (0755), `/.inlay/bundle` (0644) and
 * `/.inlay/inlay-enforcer` (0755), all root-owned so a non-root `User` can run the enforcer.
 * Deterministic: fixed order, mtime 0, no user names, gzip at a fixed level, so the same enforcer
 * and bundle always give the same blob digest.
 * @module
 */
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { digestOf, type Digest } from "../oci/v1/digest.js";
import { readBounded } from "../oci/internal/verify.js";

export interface InlayLayer {
  /** The gzip blob. */
  blob: Buffer;
  digest: Digest;
  diffId: Digest;
}

const MTIME = new Date(0);

/** Builds the layer from the enforcer binary and the bundle bytes. */
export async function buildInlayLayer(enforcer: Buffer, bundle: Buffer): Promise<InlayLayer> {
  const p = pack();
  const base = { mtime: MTIME, uid: 0, gid: 0, uname: "", gname: "" };
  const collected = readBounded(p as AsyncIterable<Buffer>, { max: 1024 * 1024 * 1024, what: "the Inlay layer" });
  await new Promise<void>((resolve, reject) => p.entry({ ...base, name: ".inlay/", type: "directory", mode: 0o755 }, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve, reject) => p.entry({ ...base, name: ".inlay/bundle", mode: 0o644 }, bundle, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve, reject) => p.entry({ ...base, name: ".inlay/inlay-enforcer", mode: 0o755 }, enforcer, (e) => (e ? reject(e) : resolve())));
  p.finalize();
  const tar = await collected;
  const blob = gzipSync(tar, { level: 9 });
  return { blob, digest: digestOf(blob), diffId: digestOf(tar) };
}
