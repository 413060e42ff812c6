/**
 * The console's HTTP application: registers every route spec with its rate limit,
 * authentication, authorisation, bounded body parsing and validation, and translates errors once.
 * @module
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { Hono, type Context } from "hono";
import { sql, type Kysely } from "kysely";
import { z } from "zod";
import { ApiError, describeIssues } from "./api-error.js";
import { adminRoutes } from "./admin-routes.js";
import { enforcerRoutes } from "./enforcer-routes.js";
import { buildOpenApi } from "./openapi.js";
import { readBodyLimited } from "./read-body.js";
import { DEFAULT_SETTINGS, type ConsoleSettings, type Principal, type RouteSpec } from "./route-spec.js";
import type { ConsoleDatabase } from "../db/tables.js";
import type { OpenDatabase } from "../db/open-database.js";
import { createEventWriter } from "../store/events.js";
import { inlineValidator, type BatchValidator } from "../ingest/validation-pool.js";
import { RateLimiter } from "../security/rate-limiter.js";
import { hasTokenKind } from "../security/secrets.js";
import { authenticateApiToken, roleAtLeast } from "../store/users.js";
import { authenticateEnrolmentToken } from "../store/groups.js";
import { authenticateEnforcer, createHeartbeatRecorder, type HeartbeatRecorder } from "../store/enforcers.js";
import { INLAY_VERSION } from "../../version.js";

/** Where unexpected errors are reported (a pino logger fits). */
export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

const metaRoutes = (openapi: () => unknown, db: Kysely<ConsoleDatabase>): RouteSpec[] => [
  {
    method: "get",
    path: "/openapi.json",
    auth: "none",
    tag: "meta",
    summary: "This document",
    responses: { 200: { description: "OpenAPI 3.1" } },
    async handle() {
      return { status: 200, body: openapi() };
    },
  },
  {
    method: "get",
    path: "/healthz",
    auth: "none",
    tag: "meta",
    summary: "Ready when the database answers",
    responses: { 200: { description: "Ready", schema: z.object({ status: z.literal("ok"), version: z.string() }) } },
    async handle() {
      await sql`select 1`.execute(db);
      return { status: 200, body: { status: "ok", version: INLAY_VERSION } };
    },
  },
];

function bearer(c: Context): string | null {
  const h = c.req.header("authorization");
  if (h === undefined) return null;
  const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h.trim());
  if (m === null) throw new ApiError("unauthorized", "Cannot authenticate: the Authorization header must be 'Bearer <token>'", { headers: { "WWW-Authenticate": "Bearer" } });
  return m[1]!;
}

const unauthorized = (why: string) => new ApiError("unauthorized", `Cannot authenticate: ${why}`, { headers: { "WWW-Authenticate": "Bearer" } });

async function authenticate(db: Kysely<ConsoleDatabase>, spec: RouteSpec, token: string | null): Promise<Principal> {
  if (spec.auth === "none") return { kind: "anonymous" };
  if (token === null) throw unauthorized("this operation needs a bearer token");
  if (spec.auth === "enrolment") {
    const p = hasTokenKind(token, "enrolment") ? await authenticateEnrolmentToken(db, token) : null;
    if (p === null) throw unauthorized("the enrolment token is unknown, revoked or rotated out");
    return p;
  }
  if (spec.auth === "enforcer") {
    const p = hasTokenKind(token, "enforcer") ? await authenticateEnforcer(db, token) : null;
    if (p === null) throw unauthorized("the enforcer credential is unknown, was replaced by a new registration, or was revoked; register again");
    return p;
  }
  const p = hasTokenKind(token, "api") ? await authenticateApiToken(db, token) : null;
  if (p === null) throw unauthorized("the API token is unknown, expired or revoked");
  if (!roleAtLeast(p.role, spec.auth)) throw new ApiError("forbidden", `Cannot ${spec.method.toUpperCase()} ${spec.path}: it needs the ${spec.auth} role and your token has ${p.role}`);
  return p;
}

const PARAM = /^[A-Za-z0-9._-]{1,128}$/;

function readQuery(c: Context, spec: RouteSpec): unknown {
  const params = new URL(c.req.url).searchParams;
  const raw: Record<string, string> = {};
  for (const [k, v] of params) {
    if (k in raw) throw new ApiError("bad_request", `Cannot read the query: parameter ${k} is given more than once`);
    raw[k] = v;
  }
  const schema = spec.query ?? z.object({}).strict();
  const r = schema.safeParse(raw);
  if (!r.success) throw new ApiError("bad_request", `Cannot read the query: ${describeIssues(r.error.issues)}`);
  return r.data;
}

function mediaType(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

async function readBody(c: Context, spec: RouteSpec, settings: ConsoleSettings): Promise<unknown> {
  if (spec.rawBody !== undefined) {
    if (!spec.rawBody.contentTypes.includes(mediaType(c))) {
      throw new ApiError("unsupported_media_type", `Cannot read the body: Content-Type must be ${spec.rawBody.contentTypes.join(" or ")}`);
    }
    return readBodyLimited(c.req.raw, settings.maxBatchWireBytes);
  }
  if (spec.body === undefined) return undefined;
  if (mediaType(c) !== "application/json") throw new ApiError("unsupported_media_type", "Cannot read the body: Content-Type must be application/json");
  const bytes = await readBodyLimited(c.req.raw, settings.maxJsonBytes);
  // Invalid UTF-8 would be stored as U+FFFD (a name or a policy that is not what was sent), as the
  // event route already refuses it.
  if (!isUtf8(bytes)) throw new ApiError("bad_request", "Cannot read the body: it is not valid UTF-8");
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new ApiError("bad_request", `Cannot read the body: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const r = spec.body.safeParse(json);
  if (!r.success) throw new ApiError("bad_request", `Cannot read the body: ${describeIssues(r.error.issues)}`);
  return r.data;
}

function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

/**
 * Builds the console app over an open database. Without `heartbeats`, each heartbeat is written
 * before it is answered, and batches are validated inline; the server passes a group-committing
 * recorder and a pool of validation threads, and closes both on shutdown.
 * @example
 * const app = createConsoleApp(await openDatabase("console.sqlite"), {});
 * const res = await app.request("/healthz");
 */
export function createConsoleApp(
  database: OpenDatabase,
  options: { settings?: Partial<ConsoleSettings>; logger?: ErrorLogger; heartbeats?: HeartbeatRecorder; validator?: BatchValidator },
): Hono {
  const db = database.db;
  const events = createEventWriter(database);
  const heartbeats = options.heartbeats ?? createHeartbeatRecorder(database, { intervalMs: 0 });
  const validator = options.validator ?? inlineValidator;
  const settings: ConsoleSettings = { ...DEFAULT_SETTINGS, ...options.settings };
  const limiter = new RateLimiter(settings.rateLimit);
  const anonymousLimiter = new RateLimiter(settings.anonymousRateLimit);
  let openapi: unknown;
  const routes: RouteSpec[] = [...metaRoutes(() => openapi, db), ...adminRoutes, ...enforcerRoutes];
  openapi = buildOpenApi(routes, { version: INLAY_VERSION });

  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
  });
  for (const spec of routes) {
    const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
    app.on(spec.method.toUpperCase(), honoPath, async (c) => {
      // Public routes ignore credentials altogether (a stray header must not break them).
      const token = spec.auth === "none" ? null : bearer(c);
      const wait =
        spec.auth === "none" && spec.method !== "get"
          ? anonymousLimiter.take(clientAddress(c))
          : limiter.take(token === null ? `a:${clientAddress(c)}` : `t:${createHash("sha256").update(token).digest("base64").slice(0, 22)}`);
      if (wait > 0) throw new ApiError("rate_limited", `Cannot serve the request: rate limit exceeded; retry in ${wait} s`, { headers: { "Retry-After": String(wait) } });
      const principal = await authenticate(db, spec, token);
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(c.req.param() as Record<string, string>)) {
        if (!PARAM.test(v)) throw new ApiError("bad_request", `Cannot read path parameter ${k}: use letters, digits, '.', '_' or '-' (at most 128)`);
        params[k] = v;
      }
      const query = readQuery(c, spec);
      const body = await readBody(c, spec, settings);
      const result = await spec.handle({ db, events, heartbeats, validator, settings, principal, params, query, body, request: c.req.raw });
      const headers: Record<string, string> = { "Cache-Control": "no-store", ...result.headers };
      if (spec.path.startsWith("/api/enforcer/")) headers["Inlay-Protocol"] = "1";
      if (result.body === undefined) return c.body(null, result.status as 204, headers);
      return c.json(result.body, result.status as 200, headers);
    });
  }
  app.notFound((c) => c.json({ error: { code: "not_found", message: `Cannot find ${c.req.method} ${new URL(c.req.url).pathname}: no such route (see /openapi.json)` } }, 404));
  app.onError((err, c) => {
    // Errors on the enforcer protocol carry its version header too (docs/console-protocol.md).
    if (new URL(c.req.url).pathname.startsWith("/api/enforcer/")) c.header("Inlay-Protocol", "1");
    if (err instanceof ApiError) return c.json({ error: { code: err.code, message: err.message } }, err.status, err.headers);
    if (err instanceof URIError) return c.json({ error: { code: "bad_request", message: `Cannot read the URL: ${err.message}` } }, 400);
    options.logger?.error({ err, method: c.req.method, path: new URL(c.req.url).pathname }, "unexpected error");
    return c.json({ error: { code: "internal", message: "internal error; the console log has the details" } }, 500);
  });
  return app;
}
