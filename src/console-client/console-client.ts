/**
 * A client for the console's admin API (/api/v1): bearer API token, optional pinned CA, and every
 * response validated with the same zod schemas the server is built from (api-schemas.ts), so a
 * console that speaks another contract is reported instead of misread.
 * @module
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { z } from "zod";
import { errorResponse } from "../console/http/api-schemas.js";
import type { ConsoleTarget } from "./console-target.js";

/** Largest response body read (a page of 1000 events fits easily). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * A call that did not give the expected answer. `kind`: `refused` the console answered with an
 * error body; `unexpected` the answer does not match the contract; `unreachable` no answer.
 */
export class ConsoleCallError extends Error {
  readonly kind: "refused" | "unexpected" | "unreachable";
  readonly status: number | null;
  readonly code: string | null;
  constructor(message: string, kind: ConsoleCallError["kind"], options: { status?: number; code?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "ConsoleCallError";
    this.kind = kind;
    this.status = options.status ?? null;
    this.code = options.code ?? null;
  }
}

export interface CallSpec<T extends z.ZodType | undefined> {
  /** HTTP method (default GET). */
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON request body. */
  body?: unknown;
  /** Schema of the success body, or undefined for a 204. */
  schema: T;
  /** The success status (default 200). */
  status?: number;
  timeoutMs?: number;
}

/** One admin API client per target. */
export class ConsoleClient {
  readonly #target: ConsoleTarget;
  constructor(target: ConsoleTarget) {
    this.#target = target;
  }

  /**
   * Calls `path` (like `/api/v1/groups`) and returns the body validated with `spec.schema`.
   * @throws ConsoleCallError naming the console URL, route and status
   */
  async call<T extends z.ZodType | undefined>(path: string, spec: CallSpec<T>): Promise<T extends z.ZodType ? z.infer<T> : undefined> {
    const method = spec.method ?? "GET";
    const route = `${method} ${path}`;
    const where = `${route} on ${this.#target.url}`;
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) qs.set(k, String(v));
    const url = new URL(`${this.#target.url}${path}${qs.size > 0 ? `?${qs}` : ""}`);
    const body = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body));
    const reply = await send(url, { method, token: this.#target.token, ca: this.#target.ca, body, timeoutMs: spec.timeoutMs ?? 30_000 }).catch((err: NodeJS.ErrnoException) => {
      throw new ConsoleCallError(`Cannot call ${where}: ${err.message}${connectionHint(err)}`, "unreachable", { cause: err });
    });
    const expected = spec.status ?? (spec.schema === undefined ? 204 : 200);
    const text = reply.body.toString("utf8");
    if (reply.status !== expected) {
      const parsed = errorResponse.safeParse(parseJson(text));
      if (parsed.success) {
        const e = parsed.data.error;
        throw new ConsoleCallError(`Cannot ${where}: HTTP ${reply.status} ${printable(e.code)}: ${printable(e.message)}`, "refused", { status: reply.status, code: e.code });
      }
      // The bearer token must not follow a redirect to wherever it points, so none is followed;
      // saying where it points tells the user which --console to give instead.
      if (reply.status >= 300 && reply.status < 400 && reply.location !== undefined) {
        throw new ConsoleCallError(`Cannot ${where}: HTTP ${reply.status} redirects to ${snippet(reply.location)}, and redirects are not followed; if that is the console, pass its base URL as --console`, "unexpected", { status: reply.status });
      }
      throw new ConsoleCallError(`Cannot ${where}: unexpected response HTTP ${reply.status} without an error body (${snippet(text)}); is this an Inlay console?`, "unexpected", { status: reply.status });
    }
    if (spec.schema === undefined) return undefined as never;
    const json = parseJson(text);
    if (json === undefined) throw new ConsoleCallError(`Cannot ${where}: unexpected response HTTP ${reply.status}: not JSON (${snippet(text)})`, "unexpected", { status: reply.status });
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "top level";
      throw new ConsoleCallError(`Cannot ${where}: unexpected response HTTP ${reply.status}: ${field}: ${issue?.message ?? "invalid"} (does this console speak the same API version as this CLI?)`, "unexpected", {
        status: reply.status,
        cause: parsed.error,
      });
    }
    return parsed.data as never;
  }
}

/** What to do about a failed connection, where the error alone does not say. */
function connectionHint(err: NodeJS.ErrnoException): string {
  const code = err.code ?? "";
  if (code === "ECONNRESET" && err.message === "aborted") return " (the connection closed before the whole answer arrived)";
  if (/SELF_SIGNED|UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)|CERT_UNTRUSTED/.test(code)) return "; if the console uses a private CA, pass it with --ca FILE";
  return "";
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * `text` with every control character but a line feed replaced by a space: what a console says
 * goes to a terminal, where an escape sequence could rewrite the screen or the window title.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, " ");
}

function snippet(text: string): string {
  const t = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return t === "" ? "empty body" : JSON.stringify(t.length > 120 ? `${t.slice(0, 120)}...` : t);
}

interface SendOptions {
  method: string;
  token: string;
  ca?: Buffer;
  body?: Buffer;
  timeoutMs: number;
}

/** One request over node:http/https (https pins `ca` when given) and the whole, bounded reply. */
function send(url: URL, o: SendOptions): Promise<{ status: number; location?: string; body: Buffer }> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { authorization: `Bearer ${o.token}`, accept: "application/json" };
  if (o.body !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(o.body.length);
  }
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method, headers, ca: o.ca, timeout: o.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`the response is larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on("error", reject);
      res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: Buffer.concat(chunks) }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)));
    // The socket timeout above only notices silence: a body trickling a byte now and then would
    // keep the call open for as long as the server likes.
    const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${o.timeoutMs / 1000} s`)), o.timeoutMs);
    req.on("close", () => clearTimeout(deadline));
    req.on("error", reject);
    req.end(o.body);
  });
}
