import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { uncompressedLayer } from "./decompress.js";
import { readBounded } from "../../files/read-bounded.js";
import { verifyBlob, DigestMismatchError, SizeMismatchError } from "./verify.js";

const data = Buffer.alloc(300_000, "inlay layer bytes ");
const diffId = `sha256:${createHash("sha256").update(data).digest("hex")}`;
const read = (r: Readable) => readBounded(r, 10 << 20, "test");

test("uncompressedLayer decodes gzip and zstd and checks the diff_id", async () => {
  assert.deepEqual(await read(uncompressedLayer(Readable.from([gzipSync(data)]), { compression: "gzip", diffId, what: "l" })), data);
  const zst = execFileSync("zstd", ["-q", "-c"], { input: data });
  assert.deepEqual(await read(uncompressedLayer(Readable.from([zst]), { compression: "zstd", diffId, what: "l" })), data);
  assert.deepEqual(await read(uncompressedLayer(Readable.from([data]), { compression: "none", diffId, what: "l" })), data);
  await assert.rejects(read(uncompressedLayer(Readable.from([gzipSync(Buffer.from("other"))]), { compression: "gzip", diffId, what: "layer 3" })), (e: unknown) => e instanceof DigestMismatchError && /layer 3/.test((e as Error).message));
  await assert.rejects(read(uncompressedLayer(Readable.from([Buffer.from("not gzip")]), { compression: "gzip", diffId, what: "l" })));
});

test("verifyBlob fails on a wrong digest, on extra bytes and on missing bytes", async () => {
  const desc = (b: Buffer) => ({ mediaType: "x", digest: `sha256:${createHash("sha256").update(b).digest("hex")}` as const, size: b.length });
  const b = Buffer.from("hello");
  assert.deepEqual(await read(verifyBlob(Readable.from([b]), desc(b), { what: "b" })), b);
  await assert.rejects(read(verifyBlob(Readable.from([Buffer.from("hellO")]), desc(b), { what: "b" })), DigestMismatchError);
  await assert.rejects(read(verifyBlob(Readable.from([Buffer.from("hello!")]), desc(b), { what: "b" })), SizeMismatchError);
  await assert.rejects(read(verifyBlob(Readable.from([Buffer.from("hell")]), desc(b), { what: "b" })), SizeMismatchError);
});

test("uncompressedLayer: gzip fed in uneven socket-sized chunks comes out whole across many reused batch buffers", async () => {
  // Incompressible, so the compressed stream spans several 1 MiB batches and the two batch buffers
  // are each reused more than once; a batch overwritten before zlib consumed it would corrupt it.
  const tar = randomBytes(5 * 1024 * 1024 + 123);
  const gz = gzipSync(tar, { level: 1 });
  const chunks: Buffer[] = [];
  for (let at = 0, k = 0; at < gz.length; k++) {
    const n = 1 + ((k * 7919) % 65536);
    chunks.push(gz.subarray(at, at + n));
    at += n;
  }
  const tarDiffId = `sha256:${createHash("sha256").update(tar).digest("hex")}`;
  const out: Buffer[] = [];
  for await (const c of uncompressedLayer(Readable.from(chunks), { compression: "gzip", diffId: tarDiffId })) out.push(c as Buffer);
  assert.ok(Buffer.concat(out).equals(tar));
});
