/**
 * A loopback console stand-in over plain HTTP that speaks the enforcer protocol
 * (docs/console-protocol.md) with a fixed policy answer: register, heartbeat and events are
 * accepted, and `GET /api/enforcer/v1/policy` answers the given body with its strong ETag. For
 * answers a real console never gives (a corrupt overlay); everything else is tested against the
 * real console.
 * @module
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface PolicyAnswerServer {
  /** `http://127.0.0.1:PORT`, allowed without `console-plain-http` (loopback). */
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts the server on a random loopback port; `policy` is the JSON body of every policy answer. */
export async function startPolicyAnswerServer(policy: unknown): Promise<PolicyAnswerServer> {
  const body = JSON.stringify(policy);
  const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on("end", () => {
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "Content-Type": "application/json", ...headers });
        res.end(JSON.stringify(value));
      };
      switch (`${req.method} ${req.url}`) {
        case "POST /api/enforcer/v1/register":
          return json(201, { enforcer_id: "stand-in", credential: "inlay_enf_standin", heartbeat_seconds: 1, max_batch_events: 10000, max_batch_bytes: 1048576 });
        case "POST /api/enforcer/v1/heartbeat":
          return json(200, { heartbeat_seconds: 1, policy_etag: etag });
        case "POST /api/enforcer/v1/events":
          return json(200, { accepted: 0, duplicates: 0, last_id: "" });
        case "GET /api/enforcer/v1/policy":
          if (req.headers["if-none-match"] === etag) {
            res.writeHead(304, { ETag: etag });
            return res.end();
          }
          res.writeHead(200, { "Content-Type": "application/json", ETag: etag });
          return res.end(body);
        default:
          return json(404, { error: { code: "not_found", message: `no route ${req.url}` } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
