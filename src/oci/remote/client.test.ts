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

test("RegistryClient sends a streamed upload once and does not follow a redirect it could not replay", async () => {
  const { createServer } = await import("node:http");
  const { Readable } = await import("node:stream");
  const seen: { method: string; url: string; bytes: number }[] = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", bytes });
      if (req.url === "/v2/a/blobs/uploads/1") res.writeHead(307, { location: "/v2/a/blobs/uploads/2" }).end();
      else res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const c = new RegistryClient(`127.0.0.1:${port}`);
    const body = Buffer.alloc(300_000, 7);
    const ok = await c.request("/v2/a/blobs/uploads/ok", { method: "PUT", scopes: [], body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]) });
    assert.equal(ok.status, 201);
    await assert.rejects(c.request("/v2/a/blobs/uploads/1", { method: "PUT", scopes: [], body: Readable.from([body]) }), /Cannot reach registry 127\.0\.0\.1:\d+ \(PUT \/v2\/a\/blobs\/uploads\/1\): .*redirect/);
    assert.deepEqual(seen, [
      { method: "PUT", url: "/v2/a/blobs/uploads/ok", bytes: 300_000 },
      { method: "PUT", url: "/v2/a/blobs/uploads/1", bytes: 300_000 },
    ]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
