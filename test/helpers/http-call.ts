/**
 * A minimal HTTP/1.1 client over node:http/https for console tests and benchmarks: custom CA for
 * TLS, keep-alive agents, raw bodies, and no automatic anything (the C reporter gets nothing free).
 * @module
 */
import { request as httpRequest, type Agent as HttpAgent } from "node:http";
import { request as httpsRequest, type Agent as HttpsAgent } from "node:https";

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The body parsed as JSON (throws when it is not). */
  json(): any;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** PEM CA to trust for https URLs. */
  ca?: string | Buffer;
  agent?: HttpAgent | HttpsAgent;
  timeoutMs?: number;
}

/** Sends one request and collects the whole reply. */
export function httpCall(url: string, options: CallOptions = {}): Promise<HttpReply> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = String(Buffer.byteLength(options.body));
    const req = send(
      u,
      { method: options.method ?? "GET", headers, ca: options.ca, agent: options.agent as HttpsAgent | undefined, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString("utf8")) });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`Cannot reach ${u.origin}: timed out`)));
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** JSON convenience: bearer token, JSON body, returns the reply. */
export function jsonCall(url: string, token: string | null, method = "GET", body?: unknown, extra: Omit<CallOptions, "method" | "body"> = {}): Promise<HttpReply> {
  const headers: Record<string, string> = { ...extra.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return httpCall(url, { ...extra, method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}
