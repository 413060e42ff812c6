/**
 * One declarative description per API operation. The app registers handlers from it, enforces
 * its authorisation and limits, and the OpenAPI document is generated from the same list, so an
 * operation cannot exist without being documented and authorised.
 * @module
 */
import type { Kysely } from "kysely";
import type { z } from "zod";
import type { ConsoleDatabase, Role } from "../db/tables.js";
import type { EventWriter } from "../store/events.js";
import type { BatchValidator } from "../ingest/validation-pool.js";
import type { EnforcerPrincipal, HeartbeatRecorder } from "../store/enforcers.js";
import type { UserPrincipal } from "../store/users.js";

/** Who may call an operation: nobody in particular, an enrolling enforcer, an enrolled one, or a user role and above. */
export type RouteAuth = "none" | "enrolment" | "enforcer" | Role;

export type Principal = UserPrincipal | EnforcerPrincipal | { kind: "enrolment"; groupId: string; tokenId: string } | { kind: "anonymous" };

/** Settings every replica must share (pass the same flags to all). */
export interface ConsoleSettings {
  heartbeatSeconds: number;
  /** A workload is stale after this many missed heartbeats. */
  staleAfterMissed: number;
  maxJsonBytes: number;
  /** Largest compressed event batch on the wire. */
  maxBatchWireBytes: number;
  /** Largest batch once inflated. */
  maxBatchBytes: number;
  maxBatchEvents: number;
  sessionTtlSeconds: number;
  /** Per client key (credential, token or address): sustained rate and burst. */
  rateLimit: { ratePerSecond: number; burst: number };
  /** Stricter budget for unauthenticated calls (login, bootstrap), per address. */
  anonymousRateLimit: { ratePerSecond: number; burst: number };
}

export const DEFAULT_SETTINGS: ConsoleSettings = {
  heartbeatSeconds: 30,
  staleAfterMissed: 3,
  maxJsonBytes: 1024 * 1024,
  maxBatchWireBytes: 4 * 1024 * 1024,
  maxBatchBytes: 16 * 1024 * 1024,
  maxBatchEvents: 10_000,
  sessionTtlSeconds: 12 * 3600,
  rateLimit: { ratePerSecond: 100, burst: 400 },
  anonymousRateLimit: { ratePerSecond: 2, burst: 20 },
};

export interface RouteContext<P extends Principal = Principal> {
  db: Kysely<ConsoleDatabase>;
  events: EventWriter;
  heartbeats: HeartbeatRecorder;
  validator: BatchValidator;
  settings: ConsoleSettings;
  principal: P;
  params: Record<string, string>;
  query: any;
  /** Parsed JSON body (routes with `body`), or the raw bytes (routes with `rawBody`). */
  body: any;
  request: Request;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI form, e.g. `/api/v1/groups/{id}`. */
  path: string;
  auth: RouteAuth;
  summary: string;
  tag: string;
  query?: z.ZodType;
  body?: z.ZodType;
  /** A non-JSON body: allowed content types; the handler gets the bytes. */
  rawBody?: { contentTypes: string[]; description: string };
  responses: Record<number, { description: string; schema?: z.ZodType; headers?: Record<string, string> }>;
  handle(ctx: RouteContext<any>): Promise<RouteResult>;
}

/** The actor name written to the audit log. */
export function actorOf(p: Principal): string {
  switch (p.kind) {
    case "user":
      return `user:${p.username}`;
    case "enforcer":
      return `enforcer:${p.enforcerId}`;
    case "enrolment":
      return `enrolment-token:${p.tokenId}`;
    default:
      return "anonymous";
  }
}
