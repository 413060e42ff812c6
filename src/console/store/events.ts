/**
 * The event store. Batches are written in one transaction and de-duplicated on the event id (a
 * unique column with ON CONFLICT DO NOTHING), so an enforcer that resends a batch whose
 * acknowledgement it never saw cannot create duplicates. Each row keeps the original JSON line.
 * @module
 */
import type { Kysely } from "kysely";
import type { ConsoleDatabase } from "../db/tables.js";
import type { InlayEvent } from "../../events/event-schema.js";

/** Rows per INSERT: 10 columns each stays far below SQLite's 32766 and PostgreSQL's 65535 parameters. */
const CHUNK = 1000;

/**
 * Stores validated events for one enforcer and marks it seen, atomically. Returns how many rows
 * were new; the rest were already stored (resends).
 */
export async function storeEvents(db: Kysely<ConsoleDatabase>, enforcerId: string, events: readonly { event: InlayEvent; line: string }[]) {
  const now = Date.now();
  return db.transaction().execute(async (trx) => {
    let inserted = 0;
    for (let i = 0; i < events.length; i += CHUNK) {
      const rows = events.slice(i, i + CHUNK).map(({ event, line }) => ({
        id: event.id,
        enforcer_id: enforcerId,
        time_ms: Date.parse(event.time),
        received_ms: now,
        kind: event.kind,
        severity: event.severity,
        action: event.action,
        rule: event.rule,
        body: line,
      }));
      const res = await trx.insertInto("events").values(rows).onConflict((oc) => oc.column("id").doNothing()).executeTakeFirst();
      inserted += Number(res.numInsertedOrUpdatedRows ?? 0);
    }
    await trx.updateTable("enforcers").set({ last_seen_ms: now }).where("id", "=", enforcerId).execute();
    return { accepted: inserted, duplicates: events.length - inserted };
  });
}

export interface EventFilter {
  sinceMs?: number;
  untilMs?: number;
  kind?: string;
  severity?: readonly string[];
  workload?: string;
  rule?: string;
}

/** Events matching `filter`, newest stored first, keyset-paginated on the store sequence. */
export async function queryEvents(db: Kysely<ConsoleDatabase>, filter: EventFilter, page: { limit: number; before?: number }) {
  let q = db.selectFrom("events").select(["seq", "enforcer_id", "received_ms", "body"]);
  if (filter.sinceMs !== undefined) q = q.where("time_ms", ">=", filter.sinceMs);
  if (filter.untilMs !== undefined) q = q.where("time_ms", "<", filter.untilMs);
  if (filter.kind !== undefined) q = filter.kind.endsWith(".*") ? q.where("kind", "like", `${filter.kind.slice(0, -1).replace(/[\\%_]/g, "")}%`) : q.where("kind", "=", filter.kind);
  if (filter.severity !== undefined && filter.severity.length > 0) q = q.where("severity", "in", filter.severity);
  if (filter.workload !== undefined) q = q.where("enforcer_id", "=", filter.workload);
  if (filter.rule !== undefined) q = q.where("rule", "=", filter.rule);
  if (page.before !== undefined) q = q.where("seq", "<", page.before);
  const rows = await q.orderBy("seq", "desc").limit(page.limit + 1).execute();
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit).map((r) => ({ seq: r.seq, workload: r.enforcer_id, received: new Date(r.received_ms).toISOString(), event: JSON.parse(r.body) as InlayEvent }));
  return { items, next_before: more ? (items.at(-1)?.seq ?? null) : null };
}
