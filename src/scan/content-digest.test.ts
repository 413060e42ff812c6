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
