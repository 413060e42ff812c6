/**
 * Enforcers (one per protected workload instance) and the inventory built from them. An enforcer
 * row carries where the workload runs, what it runs and how it is protected; `last_seen_ms`
 * moves with every heartbeat and event batch, and staleness is computed at query time from it,
 * so no background job (and no state outside the database) is needed.
 * @module
 */
import { randomUUID } from "node:crypto";
import type SqliteDatabase from "better-sqlite3";
import { sql, type Kysely } from "kysely";
import type { OpenDatabase } from "../db/open-database.js";
import type { ConsoleDatabase, EnforcersTable } from "../db/tables.js";
import { generateToken, hashToken } from "../security/secrets.js";
import { writeAudit } from "./audit.js";

/** What an enforcer says about itself when it registers (validated by the HTTP layer). */
export interface EnforcerIdentity {
  instance: string;
  enforcer_version: string;
  mode: string;
  tier: string;
  bundle: string;
  image: { name: string; digest: string };
  platform: { cloud: string; account: string; region: string; cluster: string; service: string; task: string; container: string } & Record<string, string>;
  policy_in_force: string;
}

export interface EnforcerPrincipal {
  kind: "enforcer";
  enforcerId: string;
  groupId: string;
  instance: string;
}

/** Thrown when an instance id is already enrolled in another group. */
export class InstanceConflictError extends Error {
  override name = "InstanceConflictError";
}

/** Thrown when registration is refused: the enrolment token (`token`) or the instance (`instance`) was revoked. */
export class RegistrationRevokedError extends Error {
  override name = "RegistrationRevokedError";
  readonly revoked: "token" | "instance";
  constructor(message: string, revoked: "token" | "instance") {
    super(message);
    this.revoked = revoked;
  }
}

/**
 * Registers an enforcer (or re-registers the same instance, replacing its credential) and returns
 * the new per-enforcer credential, shown once. With `tokenId` (the enrolment token that
 * authenticated the call) the token is checked again and marked used inside the transaction: the
 * update takes the token's row lock, so a concurrent revocation either sees this enforcer (and
 * revokes it) or makes this registration fail.
 * @throws RegistrationRevokedError when the token was revoked meanwhile, or the instance was revoked
 * @throws InstanceConflictError when the instance is enrolled in another group
 */
export async function registerEnforcer(db: Kysely<ConsoleDatabase>, groupId: string, identity: EnforcerIdentity, options: { tokenId?: string } = {}) {
  const credential = generateToken("enforcer");
  const now = Date.now();
  const p = identity.platform;
  const fields = {
    credential_hash: hashToken(credential),
    last_seen_ms: now,
    cloud: p.cloud,
    account: p.account,
    region: p.region,
    cluster: p.cluster,
    service: p.service,
    task: p.task,
    container: p.container,
    image: identity.image.name,
    image_digest: identity.image.digest,
    bundle: identity.bundle,
    enforcer_version: identity.enforcer_version,
    mode: identity.mode,
    tier: identity.tier,
    policy_in_force: identity.policy_in_force,
    platform_json: JSON.stringify(p),
    enrolment_token_id: options.tokenId ?? null,
  };
  return db.transaction().execute(async (trx) => {
    if (options.tokenId !== undefined) {
      const used = await trx
        .updateTable("enrolment_tokens")
        .set({ last_used_ms: now })
        .where("id", "=", options.tokenId)
        .where("group_id", "=", groupId)
        .where("cut_off_ms", "is", null)
        .where((eb) => eb.or([eb("revoked_ms", "is", null), eb("revoked_ms", ">", now)]))
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw new RegistrationRevokedError(`Cannot register instance ${identity.instance}: the enrolment token was revoked or rotated out`, "token");
    }
    const existing = await trx.selectFrom("enforcers").select(["id", "group_id", "revoked_ms"]).where("instance", "=", identity.instance).executeTakeFirst();
    if (existing !== undefined) {
      if (existing.group_id !== groupId) throw new InstanceConflictError(`Cannot register instance ${identity.instance}: it is enrolled in another group`);
      const res = await trx.updateTable("enforcers").set(fields).where("id", "=", existing.id).where("revoked_ms", "is", null).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) {
        throw new RegistrationRevokedError(
          `Cannot register instance ${identity.instance}: an administrator revoked this enforcer; a new container start (a new instance id) enrols afresh`,
          "instance",
        );
      }
      return { id: existing.id, credential, created: false };
    }
    const id = randomUUID();
    await trx.insertInto("enforcers").values({ id, group_id: groupId, instance: identity.instance, registered_ms: now, dropped_total: 0, revoked_ms: null, ...fields }).execute();
    return { id, credential, created: true };
  });
}

/** Resolves a per-enforcer credential; null when unknown, replaced by a re-registration, or revoked. */
export async function authenticateEnforcer(db: Kysely<ConsoleDatabase>, credential: string): Promise<EnforcerPrincipal | null> {
  const r = await db
    .selectFrom("enforcers")
    .select(["id", "group_id", "instance"])
    .where("credential_hash", "=", hashToken(credential))
    .where("revoked_ms", "is", null)
    .executeTakeFirst();
  return r === undefined ? null : { kind: "enforcer", enforcerId: r.id, groupId: r.group_id, instance: r.instance };
}

/**
 * Revokes one enforcer: its credential is refused from now on and its instance cannot register
 * again. Audited. False when the enforcer does not exist or is already revoked.
 */
export async function revokeEnforcer(db: Kysely<ConsoleDatabase>, id: string, input: { actor: string }): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const res = await trx.updateTable("enforcers").set({ revoked_ms: Date.now() }).where("id", "=", id).where("revoked_ms", "is", null).executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await writeAudit(trx, { actor: input.actor, action: "enforcer.revoke", target: `enforcer:${id}`, detail: {} });
    return true;
  });
}

/** The state an enforcer reports with each heartbeat. */
export interface HeartbeatState {
  tier: string;
  mode: string;
  policy_in_force: string;
  dropped_total: number;
}

/** Records heartbeats; see {@link createHeartbeatRecorder}. */
export interface HeartbeatRecorder {
  record(enforcerId: string, state: HeartbeatState): Promise<void>;
  /** Writes everything still pending and stops the timer. */
  close(): Promise<void>;
}

/**
 * Records heartbeats with group commit: heartbeats are kept for at most `intervalMs` and written
 * in one statement batch, so 5,000 enforcers cost one commit per interval instead of one fsync
 * each. A heartbeat carries no data that must survive a crash (the next one repeats it), so it is
 * answered before the write; the pending map is only a write buffer, never read from. An
 * `intervalMs` of 0 writes each heartbeat before answering. The write is one synchronous
 * transaction on SQLite (the connection is never held across awaits, which would queue every
 * request behind it) and one UPDATE … FROM unnest() on PostgreSQL. A failed write is kept and
 * retried at the next interval; `close` (a graceful stop) writes what is pending. Only a crash
 * of the process loses the heartbeats of its last interval, which the next heartbeats repeat.
 */
export function createHeartbeatRecorder(database: OpenDatabase, options: { intervalMs: number; onError?: (err: unknown) => void }): HeartbeatRecorder {
  const write = database.sqlite === null ? postgresHeartbeatWriter(database.db) : sqliteHeartbeatWriter(database.db, database.sqlite);
  if (options.intervalMs <= 0) {
    return { record: (id, st) => write([[id, { ...st, seen: Date.now() }]]), close: async () => undefined };
  }
  let pending = new Map<string, HeartbeatState & { seen: number }>();
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (pending.size === 0) return flushing;
    const entries = [...pending];
    pending = new Map();
    flushing = flushing
      .then(() => write(entries))
      .catch((err) => {
        // A failed write (database unreachable, a deadlock between replicas) is retried at the
        // next interval, unless a newer heartbeat of the same enforcer arrived meanwhile.
        for (const [id, st] of entries) if (!pending.has(id)) pending.set(id, st);
        options.onError?.(err);
      });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.intervalMs);
  timer.unref();
  return {
    async record(id, st) {
      pending.set(id, { ...st, seen: Date.now() });
    },
    async close() {
      clearInterval(timer);
      for (let attempt = 0; attempt < 3 && pending.size > 0; attempt++) await flush();
      await flushing;
    },
  };
}

type HeartbeatEntries = [string, HeartbeatState & { seen: number }][];

function sqliteHeartbeatWriter(db: Kysely<ConsoleDatabase>, sqlite: SqliteDatabase.Database) {
  const update = sqlite.prepare(
    "update enforcers set last_seen_ms = ?, tier = ?, mode = ?, policy_in_force = ?, dropped_total = ? where id = ? and last_seen_ms <= ?",
  );
  const run = sqlite.transaction((entries: HeartbeatEntries) => {
    for (const [id, st] of entries) update.run(st.seen, st.tier, st.mode, st.policy_in_force, st.dropped_total, id, st.seen);
  });
  return async (entries: HeartbeatEntries) => {
    await db.connection().execute(async () => {
      // better-sqlite3 is synchronous: an fsync here stalls every request. Heartbeats need no
      // durability, so this one transaction commits without it (WAL stays consistent; the next
      // FULL commit, e.g. an event batch, syncs these frames too). Event batches keep FULL.
      sqlite.pragma("synchronous = NORMAL");
      try {
        run(entries);
      } finally {
        sqlite.pragma("synchronous = FULL");
      }
    });
  };
}

function postgresHeartbeatWriter(db: Kysely<ConsoleDatabase>) {
  return async (entries: HeartbeatEntries) => {
    const col = <T>(f: (e: HeartbeatEntries[number]) => T) => entries.map(f);
    // Replicas flush concurrently, often for the same enforcers: locking the rows in id order
    // first means two flushes wait for each other instead of deadlocking.
    await db.transaction().execute(async (trx) => {
      await sql`select id from enforcers where id = any(${col((x) => x[0])}::text[]) order by id for update`.execute(trx);
      await sql`
        update enforcers as e set last_seen_ms = u.seen, tier = u.tier, mode = u.mode, policy_in_force = u.policy, dropped_total = u.dropped
        from unnest(${col((x) => x[0])}::text[], ${col((x) => x[1].seen)}::bigint[], ${col((x) => x[1].tier)}::text[], ${col((x) => x[1].mode)}::text[],
                    ${col((x) => x[1].policy_in_force)}::text[], ${col((x) => x[1].dropped_total)}::bigint[]) as u(id, seen, tier, mode, policy, dropped)
        where e.id = u.id and e.last_seen_ms <= u.seen`.execute(trx);
    });
  };
}

export const LOCATION_KEYS = ["cloud", "account", "region", "cluster", "service", "task"] as const;
export type LocationKey = (typeof LOCATION_KEYS)[number];

export interface WorkloadFilter {
  cloud?: string;
  account?: string;
  region?: string;
  cluster?: string;
  service?: string;
  task?: string;
  tier?: string;
  group?: string;
  /** Substring searched in image, digest, cluster, service, task, container and instance. */
  q?: string;
  stale?: boolean;
}

function toWorkload(r: EnforcersTable, staleBeforeMs: number) {
  return {
    id: r.id,
    group_id: r.group_id,
    instance: r.instance,
    location: { cloud: r.cloud, account: r.account, region: r.region, cluster: r.cluster, service: r.service, task: r.task, container: r.container },
    image: { name: r.image, digest: r.image_digest },
    bundle: r.bundle,
    enforcer_version: r.enforcer_version,
    mode: r.mode,
    tier: r.tier,
    policy_in_force: r.policy_in_force,
    dropped_total: r.dropped_total,
    platform: JSON.parse(r.platform_json) as Record<string, string>,
    registered: new Date(r.registered_ms).toISOString(),
    last_seen: new Date(r.last_seen_ms).toISOString(),
    revoked: r.revoked_ms === null ? null : new Date(r.revoked_ms).toISOString(),
    stale: r.last_seen_ms < staleBeforeMs,
  };
}

/** Workloads matching `filter`, ordered by location, offset-paginated. */
export async function listWorkloads(db: Kysely<ConsoleDatabase>, filter: WorkloadFilter, page: { limit: number; offset: number; staleBeforeMs: number }) {
  let q = db.selectFrom("enforcers").selectAll();
  for (const k of LOCATION_KEYS) {
    const v = filter[k];
    if (v !== undefined) q = q.where(k, "=", v);
  }
  if (filter.tier !== undefined) q = q.where("tier", "=", filter.tier);
  if (filter.group !== undefined) q = q.where("group_id", "=", filter.group);
  if (filter.stale !== undefined) q = q.where("last_seen_ms", filter.stale ? "<" : ">=", page.staleBeforeMs);
  if (filter.q !== undefined && filter.q !== "") {
    // LIKE metacharacters in the search text are escaped so `%` and `_` match themselves.
    const pattern = `%${filter.q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    q = q.where((eb) =>
      eb.or(
        (["image", "image_digest", "cluster", "service", "task", "container", "instance"] as const).map((col) => eb(sql`lower(${sql.ref(col)})`, "like", sql`${pattern} escape '\\'`)),
      ),
    );
  }
  const rows = await q.orderBy(["cloud", "account", "region", "cluster", "service", "task", "id"]).limit(page.limit + 1).offset(page.offset).execute();
  const more = rows.length > page.limit;
  return { items: rows.slice(0, page.limit).map((r) => toWorkload(r, page.staleBeforeMs)), next_offset: more ? page.offset + page.limit : null };
}

export async function getWorkload(db: Kysely<ConsoleDatabase>, id: string, staleBeforeMs: number) {
  const r = await db.selectFrom("enforcers").selectAll().where("id", "=", id).executeTakeFirst();
  return r === undefined ? null : toWorkload(r, staleBeforeMs);
}

/** Counts workloads grouped by `groupBy` (at least one location key), with stale and per-tier counts. */
export async function summariseInventory(db: Kysely<ConsoleDatabase>, groupBy: readonly LocationKey[], staleBeforeMs: number) {
  const rows = await db
    .selectFrom("enforcers")
    .select(groupBy)
    .select((eb) => [
      eb.fn.countAll<number>().as("workloads"),
      eb.fn.sum<number>(eb.case().when("last_seen_ms", "<", staleBeforeMs).then(1).else(0).end()).as("stale"),
      eb.fn.sum<number>(eb.case().when("tier", "=", "full").then(1).else(0).end()).as("full"),
      eb.fn.sum<number>(eb.case().when("tier", "=", "degraded").then(1).else(0).end()).as("degraded"),
      eb.fn.sum<number>(eb.case().when("tier", "=", "dormant").then(1).else(0).end()).as("dormant"),
    ])
    .groupBy(groupBy)
    .orderBy([...groupBy])
    .execute();
  return rows.map((r) => {
    const rec = r as Record<string, unknown>;
    return {
      key: Object.fromEntries(groupBy.map((k) => [k, String(rec[k])])),
      workloads: Number(rec.workloads),
      stale: Number(rec.stale ?? 0),
      tiers: { full: Number(rec.full ?? 0), degraded: Number(rec.degraded ?? 0), dormant: Number(rec.dormant ?? 0) },
    };
  });
}
