/**
 * The audit log of administrative actions. Callers write the entry inside the transaction that
 * makes the change, so a change is never committed without its record.
 * @module
 */
import type { Kysely } from "kysely";
import type { ConsoleDatabase } from "../db/tables.js";

export interface AuditEntry {
  actor: string;
  action: string;
  target: string;
  detail?: Record<string, unknown>;
}

/** Appends one entry. `detail` must never contain a secret. */
export async function writeAudit(trx: Kysely<ConsoleDatabase>, entry: AuditEntry): Promise<void> {
  await trx
    .insertInto("audit_log")
    .values({ time_ms: Date.now(), actor: entry.actor, action: entry.action, target: entry.target, detail: JSON.stringify(entry.detail ?? {}) })
    .execute();
}

/** Newest first, keyset-paginated on the sequence number. */
export async function listAudit(db: Kysely<ConsoleDatabase>, options: { limit: number; before?: number }) {
  let q = db.selectFrom("audit_log").selectAll().orderBy("seq", "desc").limit(options.limit);
  if (options.before !== undefined) q = q.where("seq", "<", options.before);
  const rows = await q.execute();
  return rows.map((r) => ({
    seq: r.seq,
    time: new Date(r.time_ms).toISOString(),
    actor: r.actor,
    action: r.action,
    target: r.target,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  }));
}
