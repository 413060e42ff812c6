import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { runInlay } from "../../test/helpers/run-inlay.js";
import { ConsoleCallError, ConsoleClient } from "./console-client.js";
import { groupSchema } from "../console/http/api-schemas.js";

/** A loopback server answering every request with `handler`; `close()` also ends open responses. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

test("ConsoleClient.call gives up on a body that trickles in past the timeout", { timeout: 10_000 }, async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    // One byte well within the socket's idle timeout, again and again: never silent, never done.
    const t = setInterval(() => res.write(" "), 100);
    res.on("close", () => clearInterval(t));
  });
  try {
    const client = new ConsoleClient({ url: s.url, token: "t" });
    const started = Date.now();
    await assert.rejects(
      client.call("/api/v1/groups", { schema: groupSchema, timeoutMs: 500 }),
      (err: unknown) => err instanceof ConsoleCallError && err.kind === "unreachable" && /^Cannot call GET \/api\/v1\/groups on http:\/\/127\.0\.0\.1:\d+: no complete answer within 0\.5 s$/.test(err.message),
    );
    assert.ok(Date.now() - started < 5000, "gave up near the deadline");
  } finally {
    await s.close();
  }
});

test("a console's error text and table cells reach the terminal without control characters", async () => {
  const s = await serve((req, res) => {
    if (req.url?.startsWith("/api/v1/groups")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ items: [{ id: "0".repeat(36), name: "pay\u001b]0;owned\u0007ments\nx", policy: null, policy_override: false, created: "2026-11-28T22:40:01.123Z" }] }));
      return;
    }
    res.writeHead(429, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "rate_limited\u001b[2J", message: "slow\r down\u0007\nsecond line" } }));
  });
  try {
    const env = { ...process.env, INLAY_CONSOLE_URL: s.url, INLAY_API_TOKEN: "t" };
    const refused = await runInlay(["enforcers", "revoke", "x"], env);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `inlay: Cannot POST /api/v1/enforcers/x/revoke on ${s.url}: HTTP 429 rate_limited [2J: slow  down \nsecond line\n`);
    const listed = await runInlay(["groups", "list"], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^0{36}  pay ]0;owned ments x  -/m);
    assert.doesNotMatch(listed.stdout + refused.stderr, /[\u0000-\u0009\u000b-\u001f]/);
  } finally {
    await s.close();
  }
});

test("ConsoleClient.call names a redirect's target and does not follow it, nor a loop", async () => {
  let calls = 0;
  const s = await serve((req, res) => {
    calls++;
    res.writeHead(req.url?.startsWith("/api/v1/groups") ? 302 : 301, { location: req.url?.startsWith("/api/v1/groups") ? "https://elsewhere.example/api/v1/groups" : req.url });
    res.end();
  });
  try {
    const client = new ConsoleClient({ url: s.url, token: "t" });
    await assert.rejects(
      client.call("/api/v1/groups", { schema: groupSchema }),
      (err: unknown) => err instanceof ConsoleCallError && err.kind === "unexpected" && err.status === 302 && /: HTTP 302 redirects to "https:\/\/elsewhere\.example\/api\/v1\/groups", and redirects are not followed; if that is the console, pass its base URL as --console$/.test(err.message),
    );
    await assert.rejects(client.call("/api/v1/workloads", { schema: groupSchema }), /HTTP 301 redirects to "\/api\/v1\/workloads"/);
    assert.equal(calls, 2, "one request per call: no redirect followed");
  } finally {
    await s.close();
  }
});

test("ConsoleClient.call says when the connection breaks off mid-answer", async () => {
  const s = await serve((_req, res) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
    res.write('{"items":[');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  try {
    const client = new ConsoleClient({ url: s.url, token: "t" });
    await assert.rejects(
      client.call("/api/v1/groups", { schema: groupSchema }),
      (err: unknown) => err instanceof ConsoleCallError && err.kind === "unreachable" && /: aborted \(the connection closed before the whole answer arrived\)$/.test(err.message),
    );
  } finally {
    await s.close();
  }
});
