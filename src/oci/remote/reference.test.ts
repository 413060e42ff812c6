import { test } from "node:test";
import assert from "node:assert/strict";
import { isLoopbackHost, parseReference } from "./reference.js";

test("parseReference splits registry, repository, tag and digest like container tools", () => {
  assert.deepEqual(parseReference("127.0.0.1:5000/a/b:v1"), { registry: "127.0.0.1:5000", repository: "a/b", tag: "v1" });
  assert.deepEqual(parseReference("busybox"), { registry: "docker.io", repository: "library/busybox", tag: "latest" });
  assert.deepEqual(parseReference("localhost/x"), { registry: "localhost", repository: "x", tag: "latest" });
  const d = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(parseReference(`r.example/x@${d}`), { registry: "r.example", repository: "x", digest: d });
  assert.throws(() => parseReference("r.example/X:v1"), /invalid repository name/);
  assert.throws(() => parseReference("r.example/x@sha256:abc"), /digest must be sha256/);
  assert.throws(() => parseReference("r.example/x:bad tag"), /invalid tag/);
});

test("isLoopbackHost allows plain HTTP only for loopback hosts", () => {
  assert.equal(isLoopbackHost("127.0.0.1:5000"), true);
  assert.equal(isLoopbackHost("localhost:1"), true);
  assert.equal(isLoopbackHost("[::1]:5000"), true);
  assert.equal(isLoopbackHost("10.0.0.1:5000"), false);
  assert.equal(isLoopbackHost("127.0.0.1.example.com"), false);
});
