import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
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
