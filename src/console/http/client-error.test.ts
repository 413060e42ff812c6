import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { answerClientError } from "./client-error.js";

/** Sends `raw` on a fresh connection and returns everything the server wrote before closing. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const c = connect(port, "127.0.0.1", () => c.write(raw));
    c.setEncoding("latin1").on("data", (d: string) => (got += d));
    c.on("close", () => resolve(got));
    c.on("error", reject);
  });
}

async function withServer(fn: (port: number, server: Server) => Promise<void>, handler?: Parameters<typeof createServer>[1]): Promise<void> {
  const server = createServer(handler ?? ((_req, res) => res.end("ok")));
  server.on("clientError", answerClientError);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    await fn((server.address() as AddressInfo).port, server);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

function parse(answer: string): { status: number; headers: string; body: { error: { code: string; message: string } } } {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]), headers: head, body: JSON.parse(body) as { error: { code: string; message: string } } };
}

test("requests the HTTP parser refuses get the API's JSON error, not a bare status line", async () => {
  await withServer(async (port) => {
    const garbage = parse(await exchange(port, "GARBAGE\r\n\r\n"));
    assert.equal(garbage.status, 400);
    assert.match(garbage.headers, /\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    assert.match(garbage.headers, /\r\nConnection: close(\r\n|$)/);
    assert.deepEqual(garbage.body, { error: { code: "bad_request", message: "Cannot read the request: it is not valid HTTP/1.1 (Invalid method encountered, HPE_INVALID_METHOD)" } });
    const big = parse(await exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`));
    assert.equal(big.status, 431);
    assert.equal(big.body.error.code, "bad_request");
    const length = parse(await exchange(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"));
    assert.equal(length.status, 400);
    assert.match(length.body.error.message, /HPE_INVALID_CONTENT_LENGTH\)$/);
    // Negative control: a valid request still reaches the handler.
    assert.match(await exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n(2\r\nok\r\n0\r\n\r\n|ok)$/);
  });
});

test("a parse error after the response started only closes the connection", async () => {
  await withServer(
    async (port) => {
      const got = await exchange(port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
      // The handler's headers went out first; no second status line may follow them.
      assert.equal(got.match(/HTTP\/1\.1 /g)?.length, 1, got);
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/);
    },
    (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.flushHeaders();
    },
  );
});
