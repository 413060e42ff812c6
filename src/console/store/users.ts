/**
 * Users, API tokens and the first-run bootstrap secret. Tokens and the bootstrap secret are kept
 * as SHA-256 only; passwords as scrypt.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { ConsoleDatabase, Role } from "../db/tables.js";
import { generateToken, hashPassword, hashToken, verifyPassword } from "../security/secrets.js";
import { writeAudit } from "./audit.js";

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** True when `have` is at least `need` (admin > editor > viewer). */
export function roleAtLeast(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** The lower of two roles: a token never grants more than its user currently has. */
export function lowerRole(a: Role, b: Role): Role {
  return RANK[a] <= RANK[b] ? a : b;
}

export interface UserPrincipal {
  kind: "user";
  userId: string;
  username: string;
  role: Role;
  tokenId: string;
}

/**
 * Prepares the first-run bootstrap. With users present nothing happens. Otherwise the secret from
 * the environment (when given) is stored, or a new one is generated and returned exactly once, to
 * the replica whose insert won.
 * @returns the secret to print, or null when there is nothing to print
 */
export async function prepareBootstrap(db: Kysely<ConsoleDatabase>, fromEnvironment?: string): Promise<{ secret: string | null; pending: boolean }> {
  const users = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  if (Number(users.n) > 0) return { secret: null, pending: false };
  if (fromEnvironment !== undefined && fromEnvironment !== "") {
    const secret_hash = hashToken(fromEnvironment);
    await db
      .insertInto("bootstrap")
      .values({ id: 1, secret_hash, created_ms: Date.now() })
      .onConflict((oc) => oc.column("id").doUpdateSet({ secret_hash }))
      .execute();
    return { secret: null, pending: true };
  }
  const secret = generateToken("bootstrap");
  const res = await db
    .insertInto("bootstrap")
    .values({ id: 1, secret_hash: hashToken(secret), created_ms: Date.now() })
    .onConflict((oc) => oc.column("id").doNothing())
    .executeTakeFirst();
  return { secret: Number(res.numInsertedOrUpdatedRows ?? 0) === 1 ? secret : null, pending: true };
}

/** Thrown for a refused bootstrap; the message says why. */
export class BootstrapRefusedError extends Error {
  override name = "BootstrapRefusedError";
}

/**
 * Uses the bootstrap secret once: creates the first admin and returns an API token for it.
 * @throws BootstrapRefusedError when users exist or the secret does not match
 */
export async function completeBootstrap(
  db: Kysely<ConsoleDatabase>,
  input: { secret: string; username: string; password: string },
): Promise<{ userId: string; token: string }> {
  const password_hash = await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom("bootstrap").select("secret_hash").where("id", "=", 1).executeTakeFirst();
    const users = await trx.selectFrom("users").select("id").limit(1).execute();
    if (users.length > 0 || row === undefined) throw new BootstrapRefusedError("Cannot bootstrap the console: an administrator already exists");
    if (row.secret_hash !== hashToken(input.secret)) throw new BootstrapRefusedError("Cannot bootstrap the console: the bootstrap secret does not match");
    // Deleting first makes a concurrent second bootstrap fail on its own delete count.
    const del = await trx.deleteFrom("bootstrap").where("id", "=", 1).where("secret_hash", "=", row.secret_hash).executeTakeFirst();
    if (Number(del.numDeletedRows) !== 1) throw new BootstrapRefusedError("Cannot bootstrap the console: another bootstrap won");
    const userId = randomUUID();
    await trx.insertInto("users").values({ id: userId, username: input.username, password_hash, role: "admin", created_ms: Date.now(), disabled: 0 }).execute();
    const token = await insertToken(trx, { userId, name: "bootstrap", role: "admin" });
    await writeAudit(trx, { actor: `user:${input.username}`, action: "console.bootstrap", target: `user:${userId}` });
    return { userId, token: token.token };
  });
}

async function insertToken(trx: Kysely<ConsoleDatabase>, t: { userId: string; name: string; role: Role; expiresMs?: number }) {
  const token = generateToken("api");
  const id = randomUUID();
  await trx
    .insertInto("api_tokens")
    .values({ id, user_id: t.userId, name: t.name, role: t.role, token_hash: hashToken(token), created_ms: Date.now(), expires_ms: t.expiresMs ?? null, revoked_ms: null })
    .execute();
  return { id, token };
}

/** Resolves a bearer API token to its user, or null when unknown, revoked, expired or the user is disabled. */
export async function authenticateApiToken(db: Kysely<ConsoleDatabase>, token: string): Promise<UserPrincipal | null> {
  const now = Date.now();
  const row = await db
    .selectFrom("api_tokens as t")
    .innerJoin("users as u", "u.id", "t.user_id")
    .select(["t.id as tokenId", "t.role as tokenRole", "t.expires_ms", "t.revoked_ms", "u.id as userId", "u.username", "u.role as userRole", "u.disabled"])
    .where("t.token_hash", "=", hashToken(token))
    .executeTakeFirst();
  if (row === undefined || row.revoked_ms !== null || row.disabled !== 0) return null;
  if (row.expires_ms !== null && row.expires_ms <= now) return null;
  return { kind: "user", userId: row.userId, username: row.username, role: lowerRole(row.tokenRole, row.userRole), tokenId: row.tokenId };
}

/** Checks a username and password and returns a session token valid for `ttlMs`; null on mismatch. */
export async function login(db: Kysely<ConsoleDatabase>, input: { username: string; password: string; ttlMs: number }) {
  const user = await db.selectFrom("users").selectAll().where("username", "=", input.username).executeTakeFirst();
  // Hash even for unknown users so response time does not reveal which usernames exist.
  const ok = await verifyPassword(input.password, user?.password_hash ?? "scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  if (user === undefined || !ok || user.disabled !== 0) return null;
  const expiresMs = Date.now() + input.ttlMs;
  const t = await db.transaction().execute((trx) => insertToken(trx, { userId: user.id, name: "session", role: user.role, expiresMs }));
  return { token: t.token, tokenId: t.id, expires: new Date(expiresMs).toISOString(), role: user.role };
}

/** Creates a user (admin action, audited). */
export async function createUser(db: Kysely<ConsoleDatabase>, input: { username: string; password: string; role: Role; actor: string }) {
  const password_hash = await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    const id = randomUUID();
    await trx.insertInto("users").values({ id, username: input.username, password_hash, role: input.role, created_ms: Date.now(), disabled: 0 }).execute();
    await writeAudit(trx, { actor: input.actor, action: "user.create", target: `user:${id}`, detail: { username: input.username, role: input.role } });
    return { id, username: input.username, role: input.role, disabled: false };
  });
}

export async function listUsers(db: Kysely<ConsoleDatabase>) {
  const rows = await db.selectFrom("users").select(["id", "username", "role", "disabled", "created_ms"]).orderBy("username").execute();
  return rows.map((r) => ({ id: r.id, username: r.username, role: r.role, disabled: r.disabled !== 0, created: new Date(r.created_ms).toISOString() }));
}

/** Changes role, disabled flag or password; returns false when the user does not exist. */
export async function updateUser(
  db: Kysely<ConsoleDatabase>,
  id: string,
  input: { role?: Role; disabled?: boolean; password?: string; actor: string },
): Promise<boolean> {
  const password_hash = input.password === undefined ? undefined : await hashPassword(input.password);
  return db.transaction().execute(async (trx) => {
    const set: Partial<{ role: Role; disabled: number; password_hash: string }> = {};
    if (input.role !== undefined) set.role = input.role;
    if (input.disabled !== undefined) set.disabled = input.disabled ? 1 : 0;
    if (password_hash !== undefined) set.password_hash = password_hash;
    const exists = await trx.selectFrom("users").select("id").where("id", "=", id).executeTakeFirst();
    if (exists === undefined) return false;
    if (Object.keys(set).length > 0) await trx.updateTable("users").set(set).where("id", "=", id).execute();
    await writeAudit(trx, { actor: input.actor, action: "user.update", target: `user:${id}`, detail: { role: input.role, disabled: input.disabled, password_changed: password_hash !== undefined } });
    return true;
  });
}

/** Creates an API token for a user; the token text is returned once and never stored. */
export async function createApiToken(db: Kysely<ConsoleDatabase>, input: { userId: string; name: string; role: Role; expiresMs?: number; actor: string }) {
  return db.transaction().execute(async (trx) => {
    const t = await insertToken(trx, input);
    await writeAudit(trx, { actor: input.actor, action: "token.create", target: `token:${t.id}`, detail: { name: input.name, role: input.role } });
    return { id: t.id, token: t.token, name: input.name, role: input.role, expires: input.expiresMs === undefined ? null : new Date(input.expiresMs).toISOString() };
  });
}

/** Lists tokens (metadata only); all of them for `userId` undefined. */
export async function listApiTokens(db: Kysely<ConsoleDatabase>, userId?: string) {
  let q = db.selectFrom("api_tokens").select(["id", "user_id", "name", "role", "created_ms", "expires_ms", "revoked_ms"]).orderBy("created_ms");
  if (userId !== undefined) q = q.where("user_id", "=", userId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    user_id: r.user_id,
    name: r.name,
    role: r.role,
    created: new Date(r.created_ms).toISOString(),
    expires: r.expires_ms === null ? null : new Date(r.expires_ms).toISOString(),
    revoked: r.revoked_ms !== null,
  }));
}

/** Revokes a token; `ownerId` restricts it to that user's tokens. Returns false when no such token. */
export async function revokeApiToken(db: Kysely<ConsoleDatabase>, id: string, options: { ownerId?: string; actor: string }): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    let q = trx.updateTable("api_tokens").set({ revoked_ms: Date.now() }).where("id", "=", id).where("revoked_ms", "is", null);
    if (options.ownerId !== undefined) q = q.where("user_id", "=", options.ownerId);
    const res = await q.executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await writeAudit(trx, { actor: options.actor, action: "token.revoke", target: `token:${id}` });
    return true;
  });
}
