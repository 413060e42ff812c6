import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientPool, formatLocation, parseLocation, parseRegistryEndpoint } from "./transport.js";

test("parseLocation accepts the three transports as skopeo writes them", () => {
  assert.deepEqual(parseLocation("oci:/tmp/x:v1"), { transport: "oci", dir: "/tmp/x", tag: "v1" });
  assert.deepEqual(parseLocation("oci:/tmp/x"), { transport: "oci", dir: "/tmp/x" });
  assert.deepEqual(parseLocation("docker-archive:/a.tar:example/app:v1"), { transport: "docker-archive", file: "/a.tar", tag: "example/app:v1" });
  const l = parseLocation("docker://127.0.0.1:5000/app:v1");
  assert.equal(formatLocation(l), "docker://127.0.0.1:5000/app:v1");
  assert.throws(() => parseLocation("/tmp/x"), /use docker:\/\/HOST\/REPO:TAG/);
  assert.throws(() => parseLocation("oci:"), /expected oci:DIR/);
});

test("parseLocation normalises Docker Hub references", () => {
  assert.equal(formatLocation(parseLocation("docker://alpine")), "docker://docker.io/library/alpine:latest");
  assert.equal(formatLocation(parseLocation("docker://index.docker.io/alpine:3")), "docker://docker.io/library/alpine:3");
});

test("parseRegistryEndpoint maps a registry name to an origin; plain HTTP only to loopback or when allowed", () => {
  assert.deepEqual(parseRegistryEndpoint("docker.io=http://127.0.0.1:5000"), { registry: "docker.io", origin: "http://127.0.0.1:5000" });
  assert.deepEqual(parseRegistryEndpoint("index.docker.io=https://mirror.example/"), { registry: "docker.io", origin: "https://mirror.example" });
  assert.deepEqual(parseRegistryEndpoint("r.example=http://10.0.0.5:5000", { insecureRegistries: ["r.example"] }), { registry: "r.example", origin: "http://10.0.0.5:5000" });
  assert.throws(() => parseRegistryEndpoint("r.example=http://10.0.0.5:5000"), /plain HTTP to a host that is not loopback \(allow it with --insecure-registry r\.example\)/);
  assert.throws(() => parseRegistryEndpoint("docker.io"), /expected NAME=URL/);
  assert.throws(() => parseRegistryEndpoint("bad host=https://x"), /expected NAME=URL/);
  assert.throws(() => parseRegistryEndpoint("r.example=https://u:p@mirror.example"), /carries credentials/);
  assert.throws(() => parseRegistryEndpoint("r.example=https://mirror.example/v2/"), /path, query or fragment/);
  assert.throws(() => parseRegistryEndpoint("r.example=ftp://mirror.example"), /scheme ftp:/);
  assert.throws(() => parseRegistryEndpoint("r.example=mirror.example"), /scheme mirror\.example:|not a URL/);
});

test("ClientPool sends a mapped registry to its endpoint and every other registry to its own host", () => {
  const pool = new ClientPool({ endpoints: new Map([["docker.io", "http://127.0.0.1:5000"]]) });
  assert.equal(pool.get("docker.io").baseUrl, "http://127.0.0.1:5000");
  assert.equal(pool.get("docker.io").label, "docker.io (endpoint http://127.0.0.1:5000)");
  assert.equal(pool.get("registry-1.docker.io").baseUrl, "http://127.0.0.1:5000");
  assert.equal(pool.get("r.example").baseUrl, "https://r.example");
  assert.equal(new ClientPool().get("docker.io").baseUrl, "https://registry-1.docker.io");
});
