import { test } from "node:test";
import assert from "node:assert/strict";
import { parseChallenge, RegistryClient, registryErrorText } from "./client.js";

test("parseChallenge reads Bearer parameters, quoted or not", () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="reg",scope="repository:a:pull,push"'), {
    scheme: "bearer",
    params: { realm: "https://auth.example/token", service: "reg", scope: "repository:a:pull,push" },
  });
  assert.deepEqual(parseChallenge('Basic realm="x"'), { scheme: "basic", params: { realm: "x" } });
  assert.equal(parseChallenge("Negotiate abc"), undefined);
});

test("RegistryClient uses https unless the host is loopback or insecure is asked for", () => {
  assert.equal(new RegistryClient("127.0.0.1:5000").baseUrl, "http://127.0.0.1:5000");
  assert.equal(new RegistryClient("reg.example").baseUrl, "https://reg.example");
  assert.equal(new RegistryClient("reg.example", { insecure: true }).baseUrl, "http://reg.example");
  assert.equal(new RegistryClient("docker.io").baseUrl, "https://registry-1.docker.io");
});

test("RegistryClient refuses upload locations on another origin", () => {
  const c = new RegistryClient("127.0.0.1:5000");
  assert.equal(c.resolveLocation("/v2/a/blobs/uploads/1?x=1", "blob"), "http://127.0.0.1:5000/v2/a/blobs/uploads/1?x=1");
  assert.throws(() => c.resolveLocation("http://169.254.169.254/x", "blob"), /another origin/);
});

test("registryErrorText prefers the distribution error list", () => {
  assert.equal(registryErrorText('{"errors":[{"code":"DENIED","message":"no"}]}'), "DENIED: no");
  assert.equal(registryErrorText("plain"), "plain");
});
