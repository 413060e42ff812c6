/**
 * Where embed's CPU goes: the per-layer pipeline of `inlay embed` run over an OCI layout's blobs in
 * cumulative stages, each in a fresh Node process (run by bench/embed-throughput.ts):
 * read → + sha256 of the compressed blob → + inflate → + sha256 for the diff_id → + tar parsing →
 * + the walker (hashing every file's content, building the tree). The difference between two stages
 * is what the later one adds. Reads from local files, so the registry's HTTP cost is not included
 * (the embed rows of the benchmark include it).
 *
 * The last two stages read the same image from a registry instead (the first argument is then its
 * `docker://` reference): download with the blob digest, then also inflate and the diff_id.
 *
 * Every child applies the CLI's heap policy (src/cli/heap-growth.ts), as `inlay embed` does.
 *
 * Child: `node dist/bench/embed-stages.js LAYOUT_DIR|docker://REF STAGE` prints `{wallMs, cpuMs, userMs, sysMs, maxRssKiB}`;
 * @module
 */
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { layoutLayers } from "./lib/layout-layers.js";
import { GunzipStream } from "../src/oci/internal/gunzip-stream.js";
import type { Readable } from "node:stream";
import type { Descriptor } from "../src/oci/v1/descriptor.js";
import { uncompressedLayer } from "../src/oci/internal/decompress.js";
import { verifyBlob } from "../src/oci/internal/verify.js";
import { buildExecManifest } from "../src/scan/layer-walker.js";
import { ClientPool, openSource, parseLocation } from "../src/embed/transport.js";
import { TarEntryReader } from "../src/scan/tar-entries.js";
import { relaxHeapGrowth } from "../src/cli/heap-growth.js";

/** The stages in order; each includes the work of the ones before it. */
export const STAGES = [
  { id: "read", label: "read the compressed blobs" },
  { id: "sha", label: "+ sha256 of each blob (its digest)" },
  { id: "inflate", label: "+ gzip inflate (zlib raw inflate, thread pool; no CRC-32)" },
  { id: "diffid", label: "+ sha256 of the tar (its diff_id)" },
  { id: "tar", label: "+ tar parsing (headers; bodies skipped)" },
  { id: "walk", label: "+ walker: sha256 of every executable, tree of names" },
  { id: "http", label: "from the registry: download + sha256 of each blob" },
  { id: "http-inflate", label: "from the registry: + inflate + diff_id, as embed reads a layer" },
] as const;

export type StageId = (typeof STAGES)[number]["id"];

type Layer = Descriptor & { diffId: string };


async function drain(s: AsyncIterable<unknown>): Promise<void> {
  for await (const c of s) void c;
}

/** The registry stages: the image's layers read through the registry source, as embed reads them. */
async function runRegistryStage(ref: string, stage: "http" | "http-inflate"): Promise<void> {
  const source = openSource(parseLocation(ref), new ClientPool({ insecureRegistries: [], endpoints: new Map() }));
  try {
    const manifest = JSON.parse((await source.resolve()).bytes.toString("utf8")) as { config: Descriptor; layers: Descriptor[] };
    const config = JSON.parse((await source.blobBytes(manifest.config)).toString("utf8")) as { rootfs: { diff_ids: string[] } };
    for (const [i, l] of manifest.layers.entries()) {
      const blob = await source.blob(l);
      await drain(stage === "http" ? blob : uncompressedLayer(blob, { compression: "gzip", diffId: config.rootfs.diff_ids[i]! }));
    }
  } finally {
    await source.close();
  }
}

async function runStage(dir: string, stage: StageId): Promise<void> {
  if (stage === "http" || stage === "http-inflate") return runRegistryStage(dir, stage);
  const layers = await layoutLayers<Descriptor>(dir);
  const file = (l: Layer): Readable => createReadStream(join(dir, "blobs/sha256", l.digest.slice(7)), { highWaterMark: 64 * 1024 });
  const verified = (l: Layer): Readable => verifyBlob(file(l), l);
  const tar = (l: Layer): Readable => uncompressedLayer(verified(l), { compression: "gzip", diffId: l.diffId });
  if (stage === "walk") {
    await buildExecManifest((async function* () {
      for (const l of layers) yield tar(l);
    })());
    return;
  }
  for (const l of layers) {
    if (stage === "read") await drain(file(l));
    else if (stage === "sha") await drain(verified(l));
    else if (stage === "inflate") await drain(verified(l).pipe(new GunzipStream({ what: l.digest, chunkSize: 1024 * 1024, inflatedAhead: 4 * 1024 * 1024 })));
    else if (stage === "diffid") await drain(tar(l));
    else {
      const reader = new TarEntryReader(() => "skip");
      for await (const chunk of tar(l)) reader.push(chunk as Buffer);
      reader.end();
    }
  }
}

async function child(dir: string, stage: StageId): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await runStage(dir, stage);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  process.stdout.write(JSON.stringify({ wallMs, cpuMs: (c.user + c.system) / 1000, userMs: c.user / 1000, sysMs: c.system / 1000, maxRssKiB: process.resourceUsage().maxRSS }) + "\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const heap = relaxHeapGrowth();
  try {
    const stage = (process.argv[3] ?? "") as StageId;
    if (!STAGES.some((s) => s.id === stage)) throw new Error(`Cannot run stage ${stage}: expected one of ${STAGES.map((s) => s.id).join(", ")}`);
    await child(process.argv[2] ?? ".", stage);
  } finally {
    heap.stop();
  }
}
