/**
 * The work `inlay embed` cannot skip, each piece measured alone on an OCI layout's blobs held in
 * memory, in a bare Node process (nothing of Inlay loaded, so no module's heap or timers weigh on
 * it; run by bench/embed-throughput.ts): the blob digests, inflating, and hashing the uncompressed
 * bytes (the diff_ids; executables are hashed again from the same bytes). No I/O, no HTTP, no
 * streams between the pieces: a floor for any implementation on Node's zlib and OpenSSL's SHA-256.
 *
 * Child: `node dist/bench/embed-floor.js LAYOUT_DIR` prints a {@link Floor} as JSON.
 * @module
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { layoutLayers } from "./lib/layout-layers.js";
import { GunzipStream } from "../src/oci/internal/gunzip-stream.js";

const MiB = 1024 * 1024;



/** CPU time in ms (all threads, zlib's thread pool included) of each piece of mandatory work. */
export interface Floor {
  /** sha256 of the compressed blobs (their digests). */
  shaBlobMs: number;
  /** gzip inflate of the blobs as embed does it (GunzipStream: node:zlib raw inflate, no CRC-32; 1 MiB output chunks). */
  inflateMs: number;
  /** sha256 of the uncompressed bytes (the diff_ids). */
  shaTarMs: number;
  blobMiB: number;
  tarMiB: number;
}


function cpuMs(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function sha256Of(chunks: Buffer[]): string {
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
}

function inflate(blob: Buffer, keep: boolean): Promise<Buffer[]> {
  return new Promise<Buffer[]>((resolve, reject) => {
    const out: Buffer[] = [];
    const z = new GunzipStream({ what: "floor", chunkSize: MiB, inflatedAhead: 4 * MiB });
    z.on("data", (c: Buffer) => void (keep && out.push(c)));
    z.on("end", () => resolve(out));
    z.on("error", reject);
    z.end(blob);
  });
}

/**
 * See the module comment. Every blob is read into memory first; then each piece runs over all layers
 * on its own, so no timed piece pays for reading or freeing what another one needed: the blob
 * digests, then inflating with the output dropped as it comes (as embed consumes it), then each
 * layer inflated again untimed and its bytes hashed.
 */
async function measureFloor(dir: string): Promise<Floor> {
  const layers = await layoutLayers<{ digest: string }>(dir);
  const blobs: Buffer[] = [];
  for (const l of layers) blobs.push(await readFile(join(dir, "blobs/sha256", l.digest.slice(7))));
  const f: Floor = { shaBlobMs: 0, inflateMs: 0, shaTarMs: 0, blobMiB: blobs.reduce((n, b) => n + b.length, 0) / MiB, tarMiB: 0 };
  let c0 = process.cpuUsage();
  const digests = blobs.map((blob) => {
    const pieces: Buffer[] = [];
    for (let at = 0; at < blob.length; at += MiB) pieces.push(blob.subarray(at, at + MiB));
    return sha256Of(pieces);
  });
  f.shaBlobMs = cpuMs(c0);
  c0 = process.cpuUsage();
  for (const blob of blobs) await inflate(blob, false);
  f.inflateMs = cpuMs(c0);
  for (const [i, l] of layers.entries()) {
    if (`sha256:${digests[i]}` !== l.digest) throw new Error(`Cannot measure the floor: blob ${l.digest} does not match its digest`);
    const tar = await inflate(blobs[i]!, true);
    c0 = process.cpuUsage();
    const diffId = sha256Of(tar);
    f.shaTarMs += cpuMs(c0);
    if (`sha256:${diffId}` !== l.diffId) throw new Error(`Cannot measure the floor: layer ${l.digest} does not match its diff_id`);
    f.tarMiB += tar.reduce((n, c) => n + c.length, 0) / MiB;
  }
  return f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await measureFloor(process.argv[2] ?? ".")) + "\n");
}
