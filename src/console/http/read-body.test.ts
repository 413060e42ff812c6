import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { ApiError } from "./api-error.js";
import { gunzipLimited, readBodyLimited } from "./read-body.js";

function streamOf(parts: string[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const p of parts) ctl.enqueue(new TextEncoder().encode(p));
      ctl.close();
    },
  });
  return new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
}

test("readBodyLimited returns bodies within the limit", async () => {
  assert.equal((await readBodyLimited(streamOf(["ab", "cd"]), 4)).toString(), "abcd");
});

test("readBodyLimited refuses undeclared bodies that grow past the limit", async () => {
  await assert.rejects(readBodyLimited(streamOf(["abc", "de"]), 4), (e: unknown) => e instanceof ApiError && e.status === 413);
});

test("readBodyLimited refuses a declared Content-Length over the limit before reading", async () => {
  const req = new Request("http://x/", { method: "POST", body: "0123456789", headers: { "content-length": "10" } });
  await assert.rejects(readBodyLimited(req, 4), (e: unknown) => e instanceof ApiError && e.status === 413);
});

test("readBodyLimited reports a body that breaks off as the client's failure (400), not the console's", async () => {
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(new TextEncoder().encode("abc"));
      ctl.error(new Error("aborted"));
    },
  });
  const req = new Request("http://x/", { method: "POST", body, duplex: "half" } as RequestInit);
  await assert.rejects(readBodyLimited(req, 100), (e: unknown) => e instanceof ApiError && e.status === 400 && /the connection broke off after \d+ bytes \(aborted\)/.test(e.message));
});

test("gunzipLimited caps inflated size and names corrupt input", async () => {
  const bomb = gzipSync(Buffer.alloc(1 << 20));
  assert.ok(bomb.length < 2048);
  await assert.rejects(gunzipLimited(bomb, 1000), (e: unknown) => e instanceof ApiError && e.status === 413);
  await assert.rejects(gunzipLimited(Buffer.from("not gzip"), 1000), (e: unknown) => e instanceof ApiError && e.status === 400 && /not valid gzip/.test(e.message));
  assert.equal((await gunzipLimited(gzipSync("hi"), 10)).toString(), "hi");
});
