/**
 * The enforcer protocol, version 1 (docs/console-protocol.md): register, heartbeat, event
 * batches and policy fetch under /api/enforcer/v1. Built for a small C client: fixed JSON shapes,
 * one NDJSON batch per request, plain ETags.
 * @module
 */
import { createHash } from "node:crypto";
import { ApiError } from "./api-error.js";
import { gunzipLimited } from "./read-body.js";
import * as s from "./api-schemas.js";
import type { RouteContext, RouteResult, RouteSpec } from "./route-spec.js";
import { InstanceConflictError, RegistrationRevokedError, registerEnforcer, type EnforcerPrincipal } from "../store/enforcers.js";
import { resolveGroupPolicy } from "../store/groups.js";

const E = { description: "Error", schema: s.errorResponse };

/** The policy response and its strong ETag (a digest of the exact body, so any change shows). */
async function policyFor(ctx: RouteContext<EnforcerPrincipal>) {
  const resolved = await resolveGroupPolicy(ctx.db, ctx.principal.groupId);
  const body = JSON.stringify(resolved);
  return { body, etag: `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"` };
}

/**
 * Heartbeats only announce the policy ETag (the enforcer then fetches the policy, uncached), so
 * 5,000 enforcers need not resolve it 167 times a second: each replica reuses an answer for one
 * second. A change reaches every enforcer within one heartbeat interval plus a second.
 */
const HEARTBEAT_ETAG_TTL_MS = 1000;
const heartbeatEtags = new WeakMap<object, Map<string, { etag: string; at: number }>>();

async function heartbeatEtag(ctx: RouteContext<EnforcerPrincipal>): Promise<string> {
  let byGroup = heartbeatEtags.get(ctx.db);
  if (byGroup === undefined) heartbeatEtags.set(ctx.db, (byGroup = new Map()));
  const now = Date.now();
  const hit = byGroup.get(ctx.principal.groupId);
  if (hit !== undefined && now - hit.at < HEARTBEAT_ETAG_TTL_MS) return hit.etag;
  const { etag } = await policyFor(ctx);
  if (byGroup.size > 10_000) byGroup.clear();
  byGroup.set(ctx.principal.groupId, { etag, at: now });
  return etag;
}

function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((t) => {
    const v = t.trim();
    return v === "*" || v === etag || v === `W/${etag}`;
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export const enforcerRoutes: RouteSpec[] = [
  {
    method: "post",
    path: "/api/enforcer/v1/register",
    auth: "enrolment",
    tag: "enforcer",
    summary: "Enrol with the group's enrolment token and the workload's identity; returns the per-enforcer credential",
    body: s.registerBody,
    responses: { 201: { description: "Enrolled", schema: s.registerResponse }, 400: E, 401: E, 403: E, 409: E },
    async handle(ctx) {
      const { groupId, tokenId } = ctx.principal as { groupId: string; tokenId: string };
      try {
        const r = await registerEnforcer(ctx.db, groupId, ctx.body, { tokenId });
        return {
          status: 201,
          body: {
            enforcer_id: r.id,
            credential: r.credential,
            heartbeat_seconds: ctx.settings.heartbeatSeconds,
            max_batch_events: ctx.settings.maxBatchEvents,
            max_batch_bytes: ctx.settings.maxBatchBytes,
          },
        };
      } catch (err) {
        if (err instanceof InstanceConflictError) throw new ApiError("conflict", err.message, { cause: err });
        if (err instanceof RegistrationRevokedError) {
          // A token revoked while this call was in flight is refused like a revoked token (401).
          if (err.revoked === "token") throw new ApiError("unauthorized", err.message, { cause: err, headers: { "WWW-Authenticate": "Bearer" } });
          throw new ApiError("forbidden", err.message, { cause: err });
        }
        throw err;
      }
    },
  },
  {
    method: "post",
    path: "/api/enforcer/v1/heartbeat",
    auth: "enforcer",
    tag: "enforcer",
    summary: "Report liveness and state; returns the ETag of the policy the enforcer should apply",
    body: s.heartbeatBody,
    responses: { 200: { description: "Recorded", schema: s.heartbeatResponse }, 400: E, 401: E },
    async handle(ctx: RouteContext<EnforcerPrincipal>) {
      await ctx.heartbeats.record(ctx.principal.enforcerId, ctx.body);
      return { status: 200, body: { heartbeat_seconds: ctx.settings.heartbeatSeconds, policy_etag: await heartbeatEtag(ctx) } };
    },
  },
  {
    method: "post",
    path: "/api/enforcer/v1/events",
    auth: "enforcer",
    tag: "enforcer",
    summary: "Deliver one batch of events as NDJSON (gzip recommended); acknowledged only after commit, de-duplicated on event id",
    rawBody: { contentTypes: ["application/x-ndjson"], description: "One event per line (docs/events.md); Content-Encoding: gzip or identity" },
    responses: { 200: { description: "Committed", schema: s.eventsAckResponse }, 400: E, 401: E, 413: E, 415: E },
    async handle(ctx: RouteContext<EnforcerPrincipal>) {
      const encoding = (ctx.request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
      let raw: Buffer = ctx.body;
      if (encoding === "gzip") raw = await gunzipLimited(raw, ctx.settings.maxBatchBytes);
      else if (encoding !== "identity") throw new ApiError("unsupported_media_type", `Cannot read the batch: Content-Encoding ${encoding} is not supported; use gzip or identity`);
      if (raw.length > ctx.settings.maxBatchBytes) throw new ApiError("payload_too_large", `Cannot accept the batch: more than ${ctx.settings.maxBatchBytes} bytes`);
      let text: string;
      try {
        text = utf8.decode(raw);
      } catch (err) {
        throw new ApiError("bad_request", "Cannot read the batch: it is not valid UTF-8", { cause: err });
      }
      const parsed = await ctx.validator.validate(text, { instance: ctx.principal.instance, maxEvents: ctx.settings.maxBatchEvents });
      if (!parsed.ok) throw new ApiError(parsed.code, parsed.message);
      const events = parsed.rows;
      if (events.length === 0) return { status: 200, body: { accepted: 0, duplicates: 0, last_id: null } };
      const r = await ctx.events.store(ctx.principal.enforcerId, events);
      return { status: 200, body: { ...r, last_id: events.at(-1)!.event.id } };
    },
  },
  {
    method: "get",
    path: "/api/enforcer/v1/policy",
    auth: "enforcer",
    tag: "enforcer",
    summary: "The policy for this enforcer's group; send If-None-Match with the last ETag to get 304 when unchanged",
    responses: { 200: { description: "Policy", schema: s.enforcerPolicyResponse, headers: { ETag: "Strong entity tag of this body" } }, 304: { description: "Unchanged" }, 401: E },
    async handle(ctx: RouteContext<EnforcerPrincipal>): Promise<RouteResult> {
      const p = await policyFor(ctx);
      if (etagMatches(ctx.request.headers.get("if-none-match"), p.etag)) return { status: 304, headers: { ETag: p.etag } };
      return { status: 200, body: JSON.parse(p.body), headers: { ETag: p.etag, "Cache-Control": "no-cache" } };
    },
  },
];
