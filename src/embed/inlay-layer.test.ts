import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { extract } from "tar-stream";
import { Readable } from "node:stream";
import { buildInlayLayer } from "./inlay-layer.js";

const sha = (b: Uint8Array): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Names, modes and contents of a tar's entries, in order. */
async function entriesOf(tar: Buffer): Promise<{ name: string; mode: number | undefined; type: string | undefined; uid: number | undefined; mtime: number | undefined; body: Buffer }[]> {
  const out: { name: string; mode: number | undefined; type: string | undefined; uid: number | undefined; mtime: number | undefined; body: Buffer }[] = [];
  const x = extract();
  const done = new Promise<void>((resolve, reject) => {
    x.on("entry", (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        out.push({ name: h.name, mode: h.mode, type: h.type, uid: h.uid, mtime: h.mtime?.getTime(), body: Buffer.concat(chunks) });
        next();
      });
    });
    x.on("finish", resolve);
    x.on("error", reject);
  });
  Readable.from([tar]).pipe(x);
  await done;
  return out;
}

test("buildInlayLayer: the blob is the one-shot level-9 gzip of the tar, its digests match, and it holds the three entries", async () => {
  // Megabytes of bundle, partly incompressible, so deflate sees many input chunks and blocks.
  const bundle = Buffer.concat([Buffer.from("inlay-bundle 1\n"), Buffer.from(randomBytes(1024 * 1024).toString("hex")), Buffer.alloc(3 * 1024 * 1024, "exe 0 /usr/bin/x\n")]);
  const enforcer = randomBytes(300 * 1024);
  const layer = await buildInlayLayer(enforcer, bundle);
  const tar = gunzipSync(layer.blob);
  assert.equal(layer.digest, sha(layer.blob));
  assert.equal(layer.diffId, sha(tar));
  assert.ok(layer.blob.equals(gzipSync(tar, { level: 9 })), "streamed gzip must equal the one-shot gzip (layer digests stay as before)");
  const entries = await entriesOf(tar);
  assert.deepEqual(
    entries.map((e) => [e.name, e.type, e.mode, e.uid, e.mtime]),
    [
      [".inlay/", "directory", 0o755, 0, 0],
      [".inlay/bundle", "file", 0o644, 0, 0],
      [".inlay/inlay-enforcer", "file", 0o755, 0, 0],
    ],
  );
  assert.ok(entries[1]!.body.equals(bundle));
  assert.ok(entries[2]!.body.equals(enforcer));
  const again = await buildInlayLayer(enforcer, bundle);
  assert.equal(again.digest, layer.digest, "the same inputs give the same blob");
});
