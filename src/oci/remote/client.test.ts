import { test } from "node:test";
import assert from "node:assert/strict";
import { sendEndlessBody } from "../../../test/helpers/endless-body.js";
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

test("RegistryClient.upload sends a streamed body once, follows no redirect, reports the registry's error and aborts on a failing body", async () => {
  const { createServer } = await import("node:http");
  const { Readable } = await import("node:stream");
  const seen: { method: string; url: string; bytes: number }[] = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", bytes });
      if (req.url === "/v2/a/blobs/uploads/1") res.writeHead(307, { location: "/v2/a/blobs/uploads/2" }).end();
      else if (req.url === "/v2/a/blobs/uploads/bad") res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID","message":"nope"}]}');
      else res.writeHead(201).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const c = new RegistryClient(`127.0.0.1:${port}`);
    const body = Buffer.alloc(300_000, 7);
    const base = `http://127.0.0.1:${port}`;
    const headers = { "content-length": String(body.length) };
    const ok = await c.upload(`${base}/v2/a/blobs/uploads/ok`, { scopes: [], headers, body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]) });
    assert.equal(ok, 201);
    await assert.rejects(
      c.upload(`${base}/v2/a/blobs/uploads/1`, { scopes: [], headers, body: Readable.from([body]) }),
      /^RegistryResponseError: Cannot PUT \/v2\/a\/blobs\/uploads\/1 on registry 127\.0\.0\.1:\d+: it answered with a redirect \(HTTP 307\), which a streamed upload cannot follow$/,
    );
    await assert.rejects(c.upload(`${base}/v2/a/blobs/uploads/bad`, { scopes: [], headers, body: Readable.from([body]) }), /Cannot PUT \/v2\/a\/blobs\/uploads\/bad on registry 127\.0\.0\.1:\d+: HTTP 400 DIGEST_INVALID: nope/);
    // A body that fails mid-way aborts the request: the registry never sees a complete upload.
    const failing = new Readable({
      read() {
        this.push(body.subarray(0, 1000));
        this.destroy(new Error("source digest mismatch"));
      },
    });
    await assert.rejects(c.upload(`${base}/v2/a/blobs/uploads/ok`, { scopes: [], headers, body: failing }), /Cannot reach registry .*source digest mismatch/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(seen, [
      { method: "PUT", url: "/v2/a/blobs/uploads/ok", bytes: 300_000 },
      { method: "PUT", url: "/v2/a/blobs/uploads/1", bytes: 300_000 },
      { method: "PUT", url: "/v2/a/blobs/uploads/bad", bytes: 300_000 },
    ]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test("RegistryClient.download authenticates, follows redirects, and sends credentials only to the registry's own origin", async () => {
  const { createServer } = await import("node:http");
  const seen: { server: string; url: string; authorization: string | undefined }[] = [];
  const storage = createServer((req, res) => {
    seen.push({ server: "storage", url: req.url ?? "", authorization: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/octet-stream" }).end("from storage");
  });
  await new Promise<void>((resolve) => storage.listen(0, "127.0.0.1", resolve));
  const storagePort = (storage.address() as { port: number }).port;
  const basic = `Basic ${Buffer.from("u:p").toString("base64")}`;
  let flaky = 1;
  const registry = createServer((req, res) => {
    seen.push({ server: "registry", url: req.url ?? "", authorization: req.headers.authorization });
    if (req.headers.authorization !== basic) return res.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end("need auth");
    if (req.url === "/v2/a/blobs/elsewhere") return res.writeHead(307, { location: `http://127.0.0.1:${storagePort}/bucket/blob?sig=1` }).end();
    if (req.url === "/v2/a/blobs/here") return res.writeHead(302, { location: "/storage/here" }).end();
    if (req.url === "/storage/here") return res.writeHead(200).end("same origin");
    if (req.url === "/v2/a/blobs/flaky" && flaky-- > 0) return res.writeHead(503).end();
    if (req.url === "/v2/a/blobs/flaky") return res.writeHead(200).end("after a retry");
    if (req.url === "/v2/a/blobs/loop") return res.writeHead(302, { location: "/v2/a/blobs/loop" }).end();
    res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
  });
  await new Promise<void>((resolve) => registry.listen(0, "127.0.0.1", resolve));
  const port = (registry.address() as { port: number }).port;
  const read = async (body: AsyncIterable<unknown>): Promise<string> => {
    let text = "";
    for await (const c of body) text += String(c);
    return text;
  };
  try {
    const c = new RegistryClient(`127.0.0.1:${port}`, { credentials: async () => ({ username: "u", password: "p", source: "test" }), backoffMs: 1 });
    const far = await c.download("/v2/a/blobs/elsewhere", { scopes: [] });
    assert.equal(await read(far.body), "from storage");
    assert.deepEqual(seen, [
      { server: "registry", url: "/v2/a/blobs/elsewhere", authorization: undefined },
      { server: "registry", url: "/v2/a/blobs/elsewhere", authorization: basic },
      { server: "storage", url: "/bucket/blob?sig=1", authorization: undefined },
    ]);
    seen.length = 0;
    const near = await c.download("/v2/a/blobs/here", { scopes: [] });
    assert.equal(await read(near.body), "same origin");
    assert.deepEqual(seen.map((s) => [s.url, s.authorization]), [["/v2/a/blobs/here", basic], ["/storage/here", basic]]);
    assert.equal(await read((await c.download("/v2/a/blobs/flaky", { scopes: [] })).body), "after a retry");
    const missing = await c.download("/v2/a/blobs/none", { scopes: [], accept: [404] });
    assert.equal(missing.status, 404);
    missing.body.destroy();
    await assert.rejects(c.download("/v2/a/blobs/none", { scopes: [] }), /Cannot GET \/v2\/a\/blobs\/none on registry 127\.0\.0\.1:\d+: HTTP 404 BLOB_UNKNOWN: blob unknown/);
    await assert.rejects(c.download("/v2/a/blobs/loop", { scopes: [] }), /Cannot reach registry .*more than 20 redirects/);
    const anonymous = new RegistryClient(`127.0.0.1:${port}`);
    await assert.rejects(anonymous.download("/v2/a/blobs/here", { scopes: [] }), /registry 127\.0\.0\.1:\d+ .*requires Basic credentials and none were found/);
  } finally {
    registry.closeAllConnections();
    storage.closeAllConnections();
    await new Promise((resolve) => registry.close(resolve));
    await new Promise((resolve) => storage.close(resolve));
  }
});

test("RegistryClient.download fails with the same messages as request: insufficient_scope, 403 with and without a reason, endpoint label", async () => {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    const port = (server.address() as { port: number }).port;
    if (req.url?.startsWith("/token")) return res.writeHead(200, { "content-type": "application/json" }).end('{"token":"t"}');
    const challenge = `Bearer realm="http://127.0.0.1:${port}/token",service="reg"`;
    if (req.headers.authorization !== "Bearer t") return res.writeHead(401, { "www-authenticate": challenge }).end();
    if (req.url?.startsWith("/v2/private/")) return res.writeHead(401, { "www-authenticate": `${challenge},error="insufficient_scope",scope="repository:private:pull"` }).end();
    if (req.url?.startsWith("/v2/denied/")) return res.writeHead(403).end('{"errors":[{"code":"DENIED","message":"not yours"}]}');
    res.writeHead(403).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const c = new RegistryClient("reg.example", { endpoint: `http://127.0.0.1:${port}`, backoffMs: 1 });
    const failure = async (p: Promise<unknown>): Promise<string> => {
      try {
        await p;
      } catch (err) {
        return (err as Error).message;
      }
      return assert.fail("expected a failure");
    };
    const cases: [string, RegExp][] = [
      ["/v2/private/blobs/sha256:1", /registry reg\.example \(endpoint http:\/\/127\.0\.0\.1:\d+\) .*the token grants no repository:private:pull \(HTTP 401 insufficient_scope\): the repository does not exist, or it needs credentials and none were found/],
      ["/v2/denied/blobs/sha256:1", /registry reg\.example \(endpoint http:\/\/127\.0\.0\.1:\d+\) .*access denied \(HTTP 403: DENIED: not yours\)/],
      ["/v2/silent/blobs/sha256:1", /access denied \(HTTP 403\) \(credential source/],
    ];
    for (const [path, expected] of cases) {
      const viaDownload = await failure(c.download(path, { scopes: ["repository:x:pull"] }));
      const viaRequest = await failure(c.request(path, { scopes: ["repository:x:pull"] }));
      assert.match(viaDownload, expected);
      assert.equal(viaDownload, viaRequest);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("RegistryClient fails with a registry or auth error naming the token server whatever it answers, and reads at most 1 MiB of it", async () => {
  const { createServer } = await import("node:http");
  const { RegistryAuthError, RegistryResponseError } = await import("../errors.js");
  let tokenAnswers = 0;
  const server = createServer((req, res) => {
    const port = (server.address() as { port: number }).port;
    const [, kind] = /^\/v2\/(\w+)\//.exec(req.url ?? "") ?? /^\/token\/(\w+)/.exec(req.url ?? "") ?? [];
    if (req.url?.startsWith("/token/")) {
      tokenAnswers++;
      if (kind === "garbage") return res.writeHead(200, { "content-type": "application/json" }).end("<html>");
      if (kind === "null") return res.writeHead(200, { "content-type": "application/json" }).end("null");
      if (kind === "cut") {
        res.writeHead(200, { "content-length": "100" }).write('{"tok');
        return setTimeout(() => res.destroy(), 20);
      }
      if (kind === "loop") return res.writeHead(302, { location: req.url }).end();
      // An endless body: the client must stop reading, not buffer it.
      res.writeHead(200, { "content-type": "application/json" });
      return sendEndlessBody(res);
    }
    const realm = kind === "notaurl" ? "not a url" : kind === "file" ? "file:///etc/passwd" : kind === "closed" ? "http://127.0.0.1:1/token" : `http://127.0.0.1:${port}/token/${kind}`;
    res.writeHead(401, { "www-authenticate": `Bearer realm="${realm}",service="reg"` }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const token = `http://127\\.0\\.0\\.1:${port}`;
    const cases: [string, new (...args: never[]) => Error, RegExp][] = [
      ["notaurl", RegistryAuthError, /the Bearer challenge's realm "not a url" is not an http\(s\) URL/],
      ["file", RegistryAuthError, /the Bearer challenge's realm "file:\/\/\/etc\/passwd" is not an http\(s\) URL/],
      ["closed", RegistryResponseError, /^Cannot get a token from http:\/\/127\.0\.0\.1:1 for registry 127\.0\.0\.1:\d+ \(GET \/v2\/closed\/manifests\/1\): /],
      ["garbage", RegistryResponseError, new RegExp(`^Cannot get a token from ${token} for registry 127\\.0\\.0\\.1:${port} \\(GET /v2/garbage/manifests/1\\): its answer is not JSON \\("<html>"\\)$`)],
      ["null", RegistryAuthError, new RegExp(`the token server ${token} returned no token`)],
      ["cut", RegistryResponseError, /its answer broke off/],
      ["loop", RegistryResponseError, /redirect count exceeded/],
      ["endless", RegistryResponseError, /its answer is more than 1048576 bytes$/],
    ];
    for (const [kind, type, message] of cases) {
      // A fresh client each time: a client keeps the last challenge it learnt.
      const c = new RegistryClient(`127.0.0.1:${port}`, { attempts: 1 });
      await assert.rejects(c.request(`/v2/${kind}/manifests/1`, { scopes: [`repository:${kind}:pull`] }), (err: Error) => {
        assert.ok(err instanceof type, `${kind}: ${err.stack}`);
        assert.match(err.message, message, kind);
        return true;
      });
    }
    assert.ok(tokenAnswers > 0);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("RegistryClient keeps only the start of an endless error answer and stops reading it", { timeout: 20_000 }, async () => {
  const { createServer } = await import("node:http");
  const server = createServer((req, res) => {
    res.writeHead(req.url?.includes("/manifests/") ? 404 : 400);
    sendEndlessBody(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const c = new RegistryClient(`127.0.0.1:${port}`, { attempts: 1 });
    const bounded = (err: Error): boolean => {
      assert.match(err.message, /on registry 127\.0\.0\.1:\d+: HTTP 400 A{200}$/);
      return true;
    };
    await assert.rejects(c.request("/v2/a/blobs/uploads/", { method: "POST", scopes: [] }), bounded);
    await assert.rejects(c.download("/v2/a/blobs/sha256:1", { scopes: [] }), bounded);
    const { openRegistrySource } = await import("./source.js");
    await assert.rejects(openRegistrySource({ registry: `127.0.0.1:${port}`, repository: "a", tag: "1" }).resolve(), /Cannot find tag 1 in repository a on registry 127\.0\.0\.1:\d+: the registry answered 404 \(A{200}\)/);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("RegistryClient.request reports a redirected PUT or POST once, as a redirect", async () => {
  const { createServer } = await import("node:http");
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () => res.writeHead(307, { location: "/v2/a/moved" }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const c = new RegistryClient(`127.0.0.1:${port}`, { backoffMs: 1 });
    await assert.rejects(
      c.request("/v2/a/manifests/x", { method: "PUT", scopes: [], body: Buffer.from("{}") }),
      /^RegistryResponseError: Cannot PUT \/v2\/a\/manifests\/x on registry 127\.0\.0\.1:\d+: it answered with a redirect \(HTTP 307\), which a PUT with a body does not follow$/,
    );
    assert.deepEqual(seen, ["PUT /v2/a/manifests/x"]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("RegistryClient.upload does not take a 201 answered before the whole body was sent as success", async () => {
  const { createServer } = await import("node:http");
  const { Readable } = await import("node:stream");
  const received: number[] = [];
  const server = createServer((req, res) => {
    if (req.url === "/v2/a/blobs/uploads/early-then-read") {
      // The status line goes out first, the answer ends once the whole body was read.
      res.writeHead(201).flushHeaders();
      let bytes = 0;
      req.on("data", (c: Buffer) => (bytes += c.length)).on("end", () => {
        received.push(bytes);
        res.end();
      });
    } else {
      // Answers, reads nothing more and hangs up.
      res.writeHead(201).end();
      setTimeout(() => req.socket.destroy(), 50);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const c = new RegistryClient(`127.0.0.1:${port}`);
    const size = 8 * 1024 * 1024;
    const body = (): InstanceType<typeof Readable> => Readable.from((function* () {
      for (let i = 0; i < size / 65536; i++) yield Buffer.alloc(65536, i);
    })());
    const headers = { "content-length": String(size) };
    await assert.rejects(
      c.upload(`http://127.0.0.1:${port}/v2/a/blobs/uploads/early`, { scopes: [], headers, body: body() }),
      /^RegistryResponseError: Cannot reach registry 127\.0\.0\.1:\d+ \(PUT \/v2\/a\/blobs\/uploads\/early\): /,
    );
    assert.equal(await c.upload(`http://127.0.0.1:${port}/v2/a/blobs/uploads/early-then-read`, { scopes: [], headers, body: body() }), 201);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(received, [size]);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test("RegistryClient sends no credential to a plain-HTTP token server that is not loopback, unless the registry is insecure", async () => {
  const { createServer } = await import("node:http");
  const { RegistryAuthError, RegistryResponseError } = await import("../errors.js");
  // The challenge names a token server on a host that cannot resolve: reaching it at all shows the
  // credential was on its way there.
  const server = createServer((_req, res) => res.writeHead(401, { "www-authenticate": 'Bearer realm="http://token.invalid/token",service="reg"' }).end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const registry = `127.0.0.1:${(server.address() as { port: number }).port}`;
    const credentials = async () => ({ username: "u", password: "secret", source: "test config" });
    const refused = new RegistryClient(registry, { attempts: 1, credentials });
    await assert.rejects(refused.request("/v2/a/manifests/1", { scopes: ["repository:a:pull"] }), (err: Error) => {
      assert.ok(err instanceof RegistryAuthError, err.stack);
      assert.match(err.message, /its token server http:\/\/token\.invalid is plain HTTP, where the credential would travel in clear; refused \(pass --insecure-registry 127\.0\.0\.1:\d+ if that is intended\) \(credential source: test config\)/);
      return true;
    });
    // Negative controls: anonymous, or an insecure registry, goes on to the token server.
    const anonymous = new RegistryClient(registry, { attempts: 1 });
    await assert.rejects(anonymous.request("/v2/a/manifests/1", { scopes: ["repository:a:pull"] }), (err: Error) => err instanceof RegistryResponseError && /Cannot get a token from http:\/\/token\.invalid/.test(err.message));
    const insecure = new RegistryClient(registry, { attempts: 1, credentials, insecure: true });
    await assert.rejects(insecure.request("/v2/a/manifests/1", { scopes: ["repository:a:pull"] }), (err: Error) => err instanceof RegistryResponseError && /Cannot get a token from http:\/\/token\.invalid/.test(err.message));
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
