import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ContentDigest } from "./content-digest.js";

test("ContentDigest hashes across chunk boundaries and keeps only the first four bytes", () => {
  const d = new ContentDigest();
  for (const part of ["\x7f", "E", "LF and the rest", ""]) d.update(Buffer.from(part, "latin1"));
  const { sha256, size, head } = d.digest();
  assert.equal(sha256, createHash("sha256").update("\x7fELF and the rest", "latin1").digest("hex"));
  assert.equal(size, 17);
  assert.deepEqual(head, Buffer.from("\x7fELF", "latin1"));
  assert.deepEqual(new ContentDigest().digest().head, Buffer.alloc(0));
});

test("ContentDigest with a mode hashes only content that can be an executable, however it is chunked", () => {
  const sha = (s: string): string => createHash("sha256").update(s, "latin1").digest("hex");
  const feed = (mode: number, parts: string[]) => {
    const d = new ContentDigest(mode);
    for (const p of parts) d.update(Buffer.from(p, "latin1"));
    return d.digest();
  };
  assert.deepEqual(feed(0o644, ["plain ", "data"]), { sha256: null, size: 10, head: Buffer.from("plai") });
  assert.equal(feed(0o644, ["\x7f", "EL", "F rest"]).sha256, sha("\x7fELF rest"), "ELF without an x bit is hashed");
  assert.equal(feed(0o644, ["#", "!/bin/sh"]).sha256, sha("#!/bin/sh"), "a script without an x bit is hashed");
  assert.equal(feed(0o755, ["da", "ta"]).sha256, sha("data"), "any x bit is hashed");
  assert.equal(feed(0o4644, ["xyz"]).sha256, sha("xyz"), "setuid is hashed, even shorter than the magic");
  assert.deepEqual(feed(0o644, ["ab"]), { sha256: null, size: 2, head: Buffer.from("ab") });
  assert.equal(feed(0o644, []).sha256, null);
  assert.equal(feed(0o755, []).sha256, sha(""));
});
