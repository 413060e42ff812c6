/**
 * Enforcers (one per protected workload instance) and the inventory built from them. An enforcer
 * row carries where the workload runs, what it runs and how it is protected; `last_seen_ms`
 * moves with every heartbeat and event batch, and staleness is computed at query time from it,
 * so no background job (and no state outside the database) is needed.
 * @module
 */
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import type { ConsoleDatabase, EnforcersTable } from "../db/tables.js";
import { generateToken, hashToken } from "../security/secrets.js";

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

/**
 * Registers an enforcer (or re-registers the same instance, replacing its credential) and returns
 * the new per-enforcer credential, shown once.
 */
export async function registerEnforcer(db: Kysely<ConsoleDatabase>, groupId: string, identity: EnforcerIdentity) {
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
  };
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom("enforcers").select(["id", "group_id"]).where("instance", "=", identity.instance).executeTakeFirst();
    if (existing !== undefined) {
      if (existing.group_id !== groupId) throw new InstanceConflictError(`Cannot register instance ${identity.instance}: it is enrolled in another group`);
      await trx.updateTable("enforcers").set(fields).where("id", "=", existing.id).execute();
      return { id: existing.id, credential, created: false };
    }
    const id = randomUUID();
    await trx.insertInto("enforcers").values({ id, group_id: groupId, instance: identity.instance, registered_ms: now, dropped_total: 0, ...fields }).execute();
    return { id, credential, created: true };
  });
}

/** Resolves a per-enforcer credential; null when unknown (or replaced by a re-registration). */
export async function authenticateEnforcer(db: Kysely<ConsoleDatabase>, credential: string): Promise<EnforcerPrincipal | null> {
  const r = await db.selectFrom("enforcers").select(["id", "group_id", "instance"]).where("credential_hash", "=", hashToken(credential)).executeTakeFirst();
  return r === undefined ? null : { kind: "enforcer", enforcerId: r.id, groupId: r.group_id, instance: r.instance };
}

/** Records a heartbeat: liveness plus the state the enforcer reports. */
export async function recordHeartbeat(
  db: Kysely<ConsoleDatabase>,
  enforcerId: string,
  state: { tier: string; mode: string; policy_in_force: string; dropped_total: number },
): Promise<void> {
  await db
    .updateTable("enforcers")
    .set({ last_seen_ms: Date.now(), tier: state.tier, mode: state.mode, policy_in_force: state.policy_in_force, dropped_total: state.dropped_total })
    .where("id", "=", enforcerId)
    .execute();
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
