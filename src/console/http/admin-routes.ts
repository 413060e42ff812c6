/**
 * The administrative API under /api/v1: session, users, tokens, groups, enrolment tokens,
 * policies, inventory, events and the audit log. Every mutation is audited by its store.
 * @module
 */
import { z } from "zod";
import { ApiError } from "./api-error.js";
import * as s from "./api-schemas.js";
import { actorOf, type RouteContext, type RouteSpec } from "./route-spec.js";
import type { UserPrincipal } from "../store/users.js";
import {
  BootstrapRefusedError,
  completeBootstrap,
  createApiToken,
  createUser,
  listApiTokens,
  listUsers,
  login,
  revokeApiToken,
  roleAtLeast,
  updateUser,
} from "../store/users.js";
import {
  UnknownPolicyError,
  assignGroupPolicy,
  createEnrolmentToken,
  createGroup,
  getGroup,
  listEnrolmentTokens,
  listGroups,
  revokeEnrolmentToken,
  rotateEnrolmentToken,
} from "../store/groups.js";
import { addPolicyVersion, getPolicyVersion, listPolicies, listPolicyVersions } from "../store/policies.js";
import { getWorkload, listWorkloads, revokeEnforcer, summariseInventory } from "../store/enforcers.js";
import { queryEvents } from "../store/events.js";
import { listAudit } from "../store/audit.js";
import { PolicyCompileError } from "../../policy/compile-policy.js";
import { PolicyError } from "../../policy/policy-error.js";

type UserCtx = RouteContext<UserPrincipal>;

const E = { description: "Error", schema: s.errorResponse };
const ok = (body: unknown, status = 200) => ({ status, body });
const notFound = (what: string) => new ApiError("not_found", `Cannot find ${what}`);

function staleBefore(ctx: RouteContext): number {
  return Date.now() - ctx.settings.heartbeatSeconds * ctx.settings.staleAfterMissed * 1000;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === "23505" || e.code === "SQLITE_CONSTRAINT_UNIQUE" || e.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Turns a unique-key violation into 409 naming the duplicate. */
async function uniquely<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError("conflict", `Cannot create ${what}: it already exists`, { cause: err });
    throw err;
  }
}

function policyName(ctx: RouteContext): string {
  const r = s.policyNameParam.safeParse(ctx.params.name);
  if (!r.success) throw new ApiError("bad_request", `Cannot read the policy name in the path: ${r.error.issues[0]?.message ?? "invalid"}`);
  return r.data;
}

export const adminRoutes: RouteSpec[] = [
  {
    method: "post",
    path: "/api/v1/bootstrap",
    auth: "none",
    tag: "session",
    summary: "Create the first administrator with the one-time bootstrap secret",
    body: s.bootstrapBody,
    responses: { 201: { description: "The administrator and an admin API token", schema: s.sessionResponse }, 400: E, 403: E },
    async handle(ctx) {
      try {
        const r = await completeBootstrap(ctx.db, ctx.body);
        return ok({ token: r.token, role: "admin", expires: null }, 201);
      } catch (err) {
        if (err instanceof BootstrapRefusedError) throw new ApiError("forbidden", err.message, { cause: err });
        throw err;
      }
    },
  },
  {
    method: "post",
    path: "/api/v1/login",
    auth: "none",
    tag: "session",
    summary: "Exchange a username and password for a session token",
    body: s.loginBody,
    responses: { 200: { description: "Session token", schema: s.sessionResponse }, 401: E },
    async handle(ctx) {
      const r = await login(ctx.db, { ...ctx.body, ttlMs: ctx.settings.sessionTtlSeconds * 1000 });
      if (r === null) throw new ApiError("unauthorized", "Cannot log in: unknown user, wrong password or disabled account");
      return ok({ token: r.token, role: r.role, expires: r.expires });
    },
  },
  {
    method: "get",
    path: "/api/v1/me",
    auth: "viewer",
    tag: "session",
    summary: "The caller's identity and effective role",
    responses: { 200: { description: "Caller", schema: z.object({ user_id: z.string(), username: z.string(), role: s.roleSchema }) } },
    async handle(ctx: UserCtx) {
      return ok({ user_id: ctx.principal.userId, username: ctx.principal.username, role: ctx.principal.role });
    },
  },
  {
    method: "get",
    path: "/api/v1/users",
    auth: "admin",
    tag: "users",
    summary: "List users",
    responses: { 200: { description: "Users", schema: z.object({ items: z.array(s.userSchema) }) } },
    async handle(ctx) {
      return ok({ items: await listUsers(ctx.db) });
    },
  },
  {
    method: "post",
    path: "/api/v1/users",
    auth: "admin",
    tag: "users",
    summary: "Create a user",
    body: s.createUserBody,
    responses: { 201: { description: "The user", schema: s.userSchema }, 409: E },
    async handle(ctx) {
      return ok(await uniquely(`user ${ctx.body.username}`, () => createUser(ctx.db, { ...ctx.body, actor: actorOf(ctx.principal) })), 201);
    },
  },
  {
    method: "patch",
    path: "/api/v1/users/{id}",
    auth: "admin",
    tag: "users",
    summary: "Change a user's role, password or disabled flag",
    body: s.updateUserBody,
    responses: { 204: { description: "Changed" }, 404: E },
    async handle(ctx) {
      if (!(await updateUser(ctx.db, ctx.params.id!, { ...ctx.body, actor: actorOf(ctx.principal) }))) throw notFound(`user ${ctx.params.id}`);
      return { status: 204 };
    },
  },
  {
    method: "get",
    path: "/api/v1/tokens",
    auth: "viewer",
    tag: "tokens",
    summary: "List API tokens (the caller's own; all of them for admins)",
    responses: { 200: { description: "Token metadata", schema: z.object({ items: z.array(s.tokenSchema) }) } },
    async handle(ctx: UserCtx) {
      return ok({ items: await listApiTokens(ctx.db, ctx.principal.role === "admin" ? undefined : ctx.principal.userId) });
    },
  },
  {
    method: "post",
    path: "/api/v1/tokens",
    auth: "viewer",
    tag: "tokens",
    summary: "Create an API token for the caller, with at most the caller's role",
    body: s.createTokenBody,
    responses: { 201: { description: "The token, shown once", schema: s.newTokenResponse }, 403: E },
    async handle(ctx: UserCtx) {
      const role = ctx.body.role ?? ctx.principal.role;
      if (!roleAtLeast(ctx.principal.role, role)) throw new ApiError("forbidden", `Cannot create a ${role} token: your role is ${ctx.principal.role}`);
      const expiresMs = ctx.body.expires_in_seconds === undefined ? undefined : Date.now() + ctx.body.expires_in_seconds * 1000;
      return ok(await createApiToken(ctx.db, { userId: ctx.principal.userId, name: ctx.body.name, role, expiresMs, actor: actorOf(ctx.principal) }), 201);
    },
  },
  {
    method: "delete",
    path: "/api/v1/tokens/{id}",
    auth: "viewer",
    tag: "tokens",
    summary: "Revoke an API token (own tokens; any token for admins)",
    responses: { 204: { description: "Revoked" }, 404: E },
    async handle(ctx: UserCtx) {
      const ownerId = ctx.principal.role === "admin" ? undefined : ctx.principal.userId;
      if (!(await revokeApiToken(ctx.db, ctx.params.id!, { ownerId, actor: actorOf(ctx.principal) }))) throw notFound(`active token ${ctx.params.id}`);
      return { status: 204 };
    },
  },
  {
    method: "get",
    path: "/api/v1/groups",
    auth: "viewer",
    tag: "groups",
    summary: "List enforcer groups",
    responses: { 200: { description: "Groups", schema: z.object({ items: z.array(s.groupSchema) }) } },
    async handle(ctx) {
      return ok({ items: await listGroups(ctx.db) });
    },
  },
  {
    method: "post",
    path: "/api/v1/groups",
    auth: "admin",
    tag: "groups",
    summary: "Create an enforcer group",
    body: s.createGroupBody,
    responses: { 201: { description: "The group", schema: s.groupSchema }, 409: E },
    async handle(ctx) {
      return ok(await uniquely(`group ${ctx.body.name}`, () => createGroup(ctx.db, { name: ctx.body.name, actor: actorOf(ctx.principal) })), 201);
    },
  },
  {
    method: "get",
    path: "/api/v1/groups/{id}",
    auth: "viewer",
    tag: "groups",
    summary: "One enforcer group",
    responses: { 200: { description: "The group", schema: s.groupSchema }, 404: E },
    async handle(ctx) {
      const g = await getGroup(ctx.db, ctx.params.id!);
      if (g === null) throw notFound(`group ${ctx.params.id}`);
      return ok(g);
    },
  },
  {
    method: "put",
    path: "/api/v1/groups/{id}/policy",
    auth: "editor",
    tag: "groups",
    summary: "Assign a policy (pinned version or newest) and say whether it overrides the baked one",
    body: s.assignPolicyBody,
    responses: { 200: { description: "The group", schema: s.groupSchema }, 404: E, 409: E },
    async handle(ctx) {
      try {
        const g = await assignGroupPolicy(ctx.db, ctx.params.id!, { ...ctx.body, actor: actorOf(ctx.principal) });
        if (g === null) throw notFound(`group ${ctx.params.id}`);
        return ok(g);
      } catch (err) {
        if (err instanceof UnknownPolicyError) throw new ApiError("conflict", err.message, { cause: err });
        throw err;
      }
    },
  },
  {
    method: "get",
    path: "/api/v1/groups/{id}/enrolment-tokens",
    auth: "admin",
    tag: "groups",
    summary: "List a group's enrolment tokens (metadata only)",
    responses: { 200: { description: "Tokens", schema: z.object({ items: z.array(s.enrolmentTokenSchema) }) } },
    async handle(ctx) {
      return ok({ items: await listEnrolmentTokens(ctx.db, ctx.params.id!) });
    },
  },
  {
    method: "post",
    path: "/api/v1/groups/{id}/enrolment-tokens",
    auth: "admin",
    tag: "groups",
    summary: "Issue an enrolment token for a group",
    responses: { 201: { description: "The token, shown once", schema: s.newEnrolmentTokenResponse }, 404: E },
    async handle(ctx) {
      const t = await createEnrolmentToken(ctx.db, ctx.params.id!, { actor: actorOf(ctx.principal) });
      if (t === null) throw notFound(`group ${ctx.params.id}`);
      return ok(t, 201);
    },
  },
  {
    method: "post",
    path: "/api/v1/groups/{id}/enrolment-tokens/{tokenId}/rotate",
    auth: "admin",
    tag: "groups",
    summary: "Replace an enrolment token; the old one works for grace_seconds more",
    body: s.rotateBody,
    responses: { 201: { description: "The new token, shown once", schema: s.newEnrolmentTokenResponse }, 404: E },
    async handle(ctx) {
      const t = await rotateEnrolmentToken(ctx.db, ctx.params.id!, ctx.params.tokenId!, { graceSeconds: ctx.body.grace_seconds, actor: actorOf(ctx.principal) });
      if (t === null) throw notFound(`active enrolment token ${ctx.params.tokenId} in group ${ctx.params.id}`);
      return ok(t, 201);
    },
  },
  {
    method: "delete",
    path: "/api/v1/groups/{id}/enrolment-tokens/{tokenId}",
    auth: "admin",
    tag: "groups",
    summary: "Revoke an enrolment token now, and every enforcer credential registered with it",
    responses: { 204: { description: "Revoked" }, 404: E },
    async handle(ctx) {
      if (!(await revokeEnrolmentToken(ctx.db, ctx.params.id!, ctx.params.tokenId!, { actor: actorOf(ctx.principal) }))) {
        throw notFound(`active enrolment token ${ctx.params.tokenId} in group ${ctx.params.id}`);
      }
      return { status: 204 };
    },
  },
  {
    method: "get",
    path: "/api/v1/policies",
    auth: "viewer",
    tag: "policies",
    summary: "List policies",
    responses: { 200: { description: "Policies", schema: z.object({ items: z.array(s.policySummarySchema) }) } },
    async handle(ctx) {
      return ok({ items: await listPolicies(ctx.db) });
    },
  },
  {
    method: "get",
    path: "/api/v1/policies/{name}/versions",
    auth: "viewer",
    tag: "policies",
    summary: "List a policy's versions",
    responses: { 200: { description: "Versions, newest first", schema: z.object({ items: z.array(s.policyVersionSchema.omit({ name: true })) }) }, 404: E },
    async handle(ctx) {
      const v = await listPolicyVersions(ctx.db, policyName(ctx));
      if (v === null) throw notFound(`policy ${ctx.params.name}`);
      return ok({ items: v });
    },
  },
  {
    method: "post",
    path: "/api/v1/policies/{name}/versions",
    auth: "editor",
    tag: "policies",
    summary: "Store a new version of a policy document (YAML or JSON, validated like inlay policy and compiled to its policy overlay; creating the policy on first use)",
    body: s.policyVersionBody,
    responses: { 201: { description: "The version", schema: s.policyVersionSchema }, 400: E },
    async handle(ctx) {
      const name = policyName(ctx);
      // The same parser as `inlay policy` and `inlay embed --policy`, then the overlay compiler: a
      // document that cannot be served as a console policy is refused, with file:line:col and field.
      try {
        return ok(await addPolicyVersion(ctx.db, name, { document: ctx.body.document, actor: actorOf(ctx.principal) }), 201);
      } catch (err) {
        if (err instanceof PolicyError || err instanceof PolicyCompileError) throw new ApiError("bad_request", err.message, { cause: err });
        throw err;
      }
    },
  },
  {
    method: "get",
    path: "/api/v1/policies/{name}/versions/{version}",
    auth: "viewer",
    tag: "policies",
    summary: "One policy version with its document",
    responses: { 200: { description: "The version", schema: s.policyDocumentSchema }, 404: E },
    async handle(ctx) {
      const version = Number(ctx.params.version);
      if (!Number.isSafeInteger(version) || version < 1 || version > s.MAX_POLICY_VERSION) {
        throw new ApiError("bad_request", `Cannot read the version in the path: ${ctx.params.version} is not a positive integer up to ${s.MAX_POLICY_VERSION}`);
      }
      const v = await getPolicyVersion(ctx.db, policyName(ctx), version);
      if (v === null) throw notFound(`policy ${ctx.params.name} version ${version}`);
      return ok(v);
    },
  },
  {
    method: "get",
    path: "/api/v1/workloads",
    auth: "viewer",
    tag: "inventory",
    summary: "Protected workloads, filtered, searched and paginated",
    query: s.workloadsQuery,
    responses: { 200: { description: "A page of workloads", schema: s.workloadPage } },
    async handle(ctx) {
      const { limit, offset, ...filter } = ctx.query;
      return ok(await listWorkloads(ctx.db, filter, { limit, offset, staleBeforeMs: staleBefore(ctx) }));
    },
  },
  {
    method: "get",
    path: "/api/v1/workloads/{id}",
    auth: "viewer",
    tag: "inventory",
    summary: "One workload",
    responses: { 200: { description: "The workload", schema: s.workloadSchema }, 404: E },
    async handle(ctx) {
      const w = await getWorkload(ctx.db, ctx.params.id!, staleBefore(ctx));
      if (w === null) throw notFound(`workload ${ctx.params.id}`);
      return ok(w);
    },
  },
  {
    method: "post",
    path: "/api/v1/enforcers/{id}/revoke",
    auth: "admin",
    tag: "inventory",
    summary: "Revoke one enforcer's credential now: its calls are refused and its instance cannot register again",
    responses: { 204: { description: "Revoked" }, 404: E },
    async handle(ctx) {
      if (!(await revokeEnforcer(ctx.db, ctx.params.id!, { actor: actorOf(ctx.principal) }))) throw notFound(`enforcer ${ctx.params.id} (or it is already revoked)`);
      return { status: 204 };
    },
  },
  {
    method: "get",
    path: "/api/v1/inventory",
    auth: "viewer",
    tag: "inventory",
    summary: "Workload counts grouped by cloud, account, region, cluster, service and task",
    query: s.inventoryQuery,
    responses: { 200: { description: "Groups", schema: s.inventoryResponse } },
    async handle(ctx) {
      return ok({ groups: await summariseInventory(ctx.db, ctx.query.group_by, staleBefore(ctx)) });
    },
  },
  {
    method: "get",
    path: "/api/v1/events",
    auth: "viewer",
    tag: "events",
    summary: "Events by time, kind, severity, workload and rule, newest first",
    query: s.eventsQuery,
    responses: { 200: { description: "A page of events", schema: s.eventPage } },
    async handle(ctx) {
      const { limit, before, since, until, ...rest } = ctx.query;
      return ok(await queryEvents(ctx.db, { ...rest, sinceMs: since, untilMs: until }, { limit, before }));
    },
  },
  {
    method: "get",
    path: "/api/v1/audit",
    auth: "admin",
    tag: "audit",
    summary: "The audit log of administrative actions, newest first",
    query: s.auditQuery,
    responses: { 200: { description: "Entries", schema: s.auditPage } },
    async handle(ctx) {
      return ok({ items: await listAudit(ctx.db, { limit: ctx.query.limit, before: ctx.query.before }) });
    },
  },
];
