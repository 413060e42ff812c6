import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { layerStreams } from "./layer-streams.js";
import { memorySink, memorySource } from "../../test/helpers/memory-store.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}` as const;

test("layerStreams copies each missing blob and hands the walker the verified uncompressed tar", async () => {
  const tars = [Buffer.alloc(200_000, 1), Buffer.alloc(300_000, 2)];
  const blobs = tars.map((t) => gzipSync(t));
  const descs = blobs.map((b) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(b), size: b.length }));
  const sink = memorySink();
  const seen: Buffer[] = [];
  for await (const s of layerStreams(memorySource(new Map(blobs.map((b, i) => [descs[i]!.digest, b]))), { layers: descs, diffIds: tars.map(sha) }, { sink })) {
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    seen.push(Buffer.concat(chunks));
  }
  assert.deepEqual(seen, tars);
  assert.deepEqual([...sink.stored.values()], blobs);
});

test("layerStreams fails on a wrong diff_id and stops cleanly when the consumer gives up", async () => {
  const tar = Buffer.alloc(100_000, 3);
  const blob = gzipSync(tar);
  const desc = { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(blob), size: blob.length };
  const src = memorySource(new Map([[desc.digest, blob]]));
  await assert.rejects(async () => {
    for await (const s of layerStreams(src, { layers: [desc], diffIds: [sha(Buffer.from("other"))] })) s.resume();
  }, /against its diff_id/);
  const sink = memorySink();
  const it = layerStreams(src, { layers: [desc, desc], diffIds: [sha(tar), sha(tar)] }, { sink });
  const first = await it.next();
  assert.equal(first.done, false);
  await it.return(undefined);
  assert.equal(sink.stored.size, 0, "an abandoned upload stores nothing");
});
