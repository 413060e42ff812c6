import { test } from "node:test";
import assert from "node:assert/strict";
import { generateToken, hashPassword, hashToken, hasTokenKind, verifyPassword } from "./secrets.js";

test("generateToken makes distinct prefixed tokens", () => {
  const a = generateToken("enrolment");
  const b = generateToken("enrolment");
  assert.notEqual(a, b);
  assert.ok(hasTokenKind(a, "enrolment"));
  assert.ok(!hasTokenKind(a, "api"));
  assert.match(a, /^inlay_enr_[A-Za-z0-9_-]{43}$/);
});

test("hashToken is SHA-256 hex and never the token itself", () => {
  const t = generateToken("api");
  assert.match(hashToken(t), /^[0-9a-f]{64}$/);
  assert.equal(hashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

test("verifyPassword accepts the password and rejects others and malformed hashes", async () => {
  const h = await hashPassword("correct horse");
  assert.match(h, /^scrypt\$32768\$8\$1\$/);
  assert.ok(!h.includes("correct horse"));
  assert.equal(await verifyPassword("correct horse", h), true);
  assert.equal(await verifyPassword("correct horsE", h), false);
  assert.equal(await verifyPassword("x", "sha256$abc"), false);
});
