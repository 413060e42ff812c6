/**
 * Enforcer groups and their enrolment tokens. An enforcer enrols with its group's token; tokens
 * are stored as SHA-256, can be revoked at once (cutting off every enforcer registered with
 * them), or rotated with an optional grace period during which the old token still works (so
 * running deployments can be updated; rotation never cuts off registered enforcers).
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { ConsoleDatabase } from "../db/tables.js";
import { generateToken, hashToken } from "../security/secrets.js";
import { writeAudit } from "./audit.js";
import { getPolicyVersion, policyVersionExists } from "./policies.js";

function toGroup(r: { id: string; name: string; policy_name: string | null; policy_version: number | null; policy_override: number; created_ms: number }) {
  return {
    id: r.id,
    name: r.name,
    policy: r.policy_name === null ? null : { name: r.policy_name, version: r.policy_version },
    policy_override: r.policy_override !== 0,
    created: new Date(r.created_ms).toISOString(),
  };
}

export async function createGroup(db: Kysely<ConsoleDatabase>, input: { name: string; actor: string }) {
  return db.transaction().execute(async (trx) => {
    const row = { id: randomUUID(), name: input.name, policy_name: null, policy_version: null, policy_override: 0, created_ms: Date.now() };
    await trx.insertInto("groups").values(row).execute();
    await writeAudit(trx, { actor: input.actor, action: "group.create", target: `group:${row.id}`, detail: { name: input.name } });
    return toGroup(row);
  });
}

export async function listGroups(db: Kysely<ConsoleDatabase>) {
  return (await db.selectFrom("groups").selectAll().orderBy("name").execute()).map(toGroup);
}

export async function getGroup(db: Kysely<ConsoleDatabase>, id: string) {
  const r = await db.selectFrom("groups").selectAll().where("id", "=", id).executeTakeFirst();
  return r === undefined ? null : toGroup(r);
}

/** Thrown when an assignment names a policy or version that does not exist. */
export class UnknownPolicyError extends Error {
  override name = "UnknownPolicyError";
}

/**
 * Sets the group's policy (null clears it), pinned to `version` or following the newest (null),
 * and whether it overrides the policy baked into images. Audited. Returns null for an unknown group.
 */
export async function assignGroupPolicy(
  db: Kysely<ConsoleDatabase>,
  id: string,
  input: { policy: string | null; version: number | null; override: boolean; actor: string },
) {
  return db.transaction().execute(async (trx) => {
    if (input.policy !== null && !(await policyVersionExists(trx, input.policy, input.version ?? undefined))) {
      throw new UnknownPolicyError(`Cannot assign policy ${input.policy}${input.version === null ? "" : ` version ${input.version}`}: no such policy version`);
    }
    const res = await trx
      .updateTable("groups")
      .set({ policy_name: input.policy, policy_version: input.policy === null ? null : input.version, policy_override: input.override ? 1 : 0 })
      .where("id", "=", id)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return null;
    await writeAudit(trx, { actor: input.actor, action: "group.policy.assign", target: `group:${id}`, detail: { policy: input.policy, version: input.version, override: input.override } });
    const r = await trx.selectFrom("groups").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return toGroup(r);
  });
}

/** Issues a new enrolment token for a group; null for an unknown group. The token is shown once. */
export async function createEnrolmentToken(db: Kysely<ConsoleDatabase>, groupId: string, input: { actor: string }) {
  return db.transaction().execute(async (trx) => {
    const g = await trx.selectFrom("groups").select("id").where("id", "=", groupId).executeTakeFirst();
    if (g === undefined) return null;
    const t = await insertEnrolmentToken(trx, groupId);
    await writeAudit(trx, { actor: input.actor, action: "enrolment-token.create", target: `group:${groupId}`, detail: { token_id: t.id } });
    return t;
  });
}

async function insertEnrolmentToken(trx: Kysely<ConsoleDatabase>, groupId: string) {
  const token = generateToken("enrolment");
  const id = randomUUID();
  const created_ms = Date.now();
  await trx.insertInto("enrolment_tokens").values({ id, group_id: groupId, token_hash: hashToken(token), created_ms, revoked_ms: null, cut_off_ms: null, last_used_ms: null }).execute();
  return { id, token, group_id: groupId, created: new Date(created_ms).toISOString() };
}

export async function listEnrolmentTokens(db: Kysely<ConsoleDatabase>, groupId: string) {
  const rows = await db.selectFrom("enrolment_tokens").select(["id", "created_ms", "revoked_ms", "last_used_ms"]).where("group_id", "=", groupId).orderBy("created_ms").execute();
  const now = Date.now();
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return rows.map((r) => ({
    id: r.id,
    created: new Date(r.created_ms).toISOString(),
    revoked: iso(r.revoked_ms),
    active: r.revoked_ms === null || r.revoked_ms > now,
    last_used: iso(r.last_used_ms),
  }));
}

/**
 * Revokes a token now and cuts off every enforcer registered with it (their credentials are
 * refused from now on, and their instances cannot register again). Works on a token already
 * rotated out, whose enforcers rotation left running. False when the token does not exist in
 * that group or was already revoked (not merely rotated).
 */
export async function revokeEnrolmentToken(db: Kysely<ConsoleDatabase>, groupId: string, tokenId: string, input: { actor: string }) {
  return db.transaction().execute(async (trx) => {
    const now = Date.now();
    // Updating the token row first takes its lock: a registration with this token in flight
    // either committed before (its enforcer is revoked below) or fails its own token check.
    const res = await trx
      .updateTable("enrolment_tokens")
      .set((eb) => ({ cut_off_ms: now, revoked_ms: eb.case().when("revoked_ms", "is", null).then(now).when("revoked_ms", ">", now).then(now).else(eb.ref("revoked_ms")).end() }))
      .where("id", "=", tokenId)
      .where("group_id", "=", groupId)
      .where("cut_off_ms", "is", null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    // One row at a time in id order, the order heartbeat flushes lock them in, so a revocation
    // and a concurrent flush on PostgreSQL wait for each other instead of deadlocking. The set is
    // stable: registrations with this token wait on the token row locked above.
    const ids = await trx.selectFrom("enforcers").select("id").where("enrolment_token_id", "=", tokenId).where("revoked_ms", "is", null).orderBy("id").execute();
    let enforcers = 0;
    for (const { id } of ids) {
      const cut = await trx.updateTable("enforcers").set({ revoked_ms: now }).where("id", "=", id).where("revoked_ms", "is", null).executeTakeFirst();
      enforcers += Number(cut.numUpdatedRows);
    }
    await writeAudit(trx, { actor: input.actor, action: "enrolment-token.revoke", target: `group:${groupId}`, detail: { token_id: tokenId, enforcers_revoked: enforcers } });
    return true;
  });
}

/** Replaces a token with a new one; the old one stops working after `graceSeconds` (0: now). */
export async function rotateEnrolmentToken(db: Kysely<ConsoleDatabase>, groupId: string, tokenId: string, input: { graceSeconds: number; actor: string }) {
  return db.transaction().execute(async (trx) => {
    const now = Date.now();
    const res = await trx
      .updateTable("enrolment_tokens")
      .set({ revoked_ms: now + input.graceSeconds * 1000 })
      .where("id", "=", tokenId)
      .where("group_id", "=", groupId)
      .where("revoked_ms", "is", null)
      .where("cut_off_ms", "is", null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return null;
    const t = await insertEnrolmentToken(trx, groupId);
    await writeAudit(trx, { actor: input.actor, action: "enrolment-token.rotate", target: `group:${groupId}`, detail: { old_token_id: tokenId, new_token_id: t.id, grace_seconds: input.graceSeconds } });
    return t;
  });
}

/** The group an enrolment token belongs to, or null when unknown, revoked or past its grace period. */
export async function authenticateEnrolmentToken(db: Kysely<ConsoleDatabase>, token: string) {
  const r = await db.selectFrom("enrolment_tokens").select(["id", "group_id", "revoked_ms", "cut_off_ms"]).where("token_hash", "=", hashToken(token)).executeTakeFirst();
  if (r === undefined || r.cut_off_ms !== null) return null;
  if (r.revoked_ms !== null && r.revoked_ms <= Date.now()) return null;
  return { kind: "enrolment" as const, groupId: r.group_id, tokenId: r.id };
}

/**
 * The policy an enforcer of this group must apply. `override` false means "keep the policy baked
 * into the image" (then `policy` is informational or null). `policy.overlay` is what the enforcer
 * merges into its baked bundle; null (with `overlay_error`) only for a version stored before
 * overlays that does not compile, and then the enforcer keeps its baked policy.
 */
export async function resolveGroupPolicy(db: Kysely<ConsoleDatabase>, groupId: string) {
  const g = await db.selectFrom("groups").selectAll().where("id", "=", groupId).executeTakeFirst();
  if (g === undefined || g.policy_name === null) return { override: false, policy: null };
  const v = await getPolicyVersion(db, g.policy_name, g.policy_version ?? undefined);
  if (v === null) return { override: false, policy: null };
  return {
    override: g.policy_override !== 0,
    policy: {
      name: v.name,
      version: v.version,
      sha256: v.sha256,
      document: v.document,
      overlay: v.overlay,
      overlay_id: v.overlay_id,
      ...(v.overlay_error === undefined ? {} : { overlay_error: v.overlay_error }),
    },
  };
}
