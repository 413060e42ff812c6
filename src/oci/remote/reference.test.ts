import { test } from "node:test";
import assert from "node:assert/strict";
import { apiHost, formatReference, isLoopbackHost, parseReference } from "./reference.js";

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

test("parseReference normalises Docker Hub names as docker does: docker.io, index.docker.io and library/", () => {
  const alpine = { registry: "docker.io", repository: "library/alpine", tag: "latest" };
  for (const s of ["alpine", "alpine:latest", "docker.io/alpine", "index.docker.io/alpine", "docker.io/library/alpine", "index.docker.io/library/alpine:latest"]) {
    assert.deepEqual(parseReference(s), alpine, s);
  }
  assert.deepEqual(parseReference("bitnami/redis:7"), { registry: "docker.io", repository: "bitnami/redis", tag: "7" });
  assert.deepEqual(parseReference("docker.io/bitnami/redis"), { registry: "docker.io", repository: "bitnami/redis", tag: "latest" });
  // registry-1.docker.io is only the API host: docker keeps it as written (no library/ prefix), and so do we.
  assert.deepEqual(parseReference("registry-1.docker.io/library/alpine"), { registry: "registry-1.docker.io", repository: "library/alpine", tag: "latest" });
  for (const r of ["docker.io", "index.docker.io", "registry-1.docker.io"]) assert.equal(apiHost(r), "registry-1.docker.io");
  assert.equal(formatReference(parseReference("alpine:3.20")), "docker.io/library/alpine:3.20");
  const d = `sha256:${"b".repeat(64)}`;
  assert.deepEqual(parseReference(`alpine:3@${d}`), { registry: "docker.io", repository: "library/alpine", tag: "3", digest: d });
});

test("parseReference: registry hosts (ECR, ports, IPv6, upper case) and names it must refuse", () => {
  assert.deepEqual(parseReference("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:v1"), {
    registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    repository: "team/app",
    tag: "v1",
  });
  // One-component repositories elsewhere get no library/ prefix.
  assert.deepEqual(parseReference("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app"), { registry: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", repository: "app", tag: "latest" });
  assert.deepEqual(parseReference("[::1]:5000/a"), { registry: "[::1]:5000", repository: "a", tag: "latest" });
  // An upper-case first component is a host (docker's rule), so "Foo/bar" is not a Docker Hub image.
  assert.equal(parseReference("Foo/bar").registry, "Foo");
  assert.throws(() => parseReference("bad_host.example/x"), /invalid registry host "bad_host\.example"/);
  assert.throws(() => parseReference("Alpine"), /invalid repository name "library\/Alpine"/);
  assert.throws(() => parseReference(`r.example/${"a".repeat(250)}`), /longer than 255/);
  assert.throws(() => parseReference("r.example/a//b"), /invalid repository name/);
});
