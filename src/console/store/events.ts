/**
 * The event store. Batches are written in one transaction and de-duplicated on the event id (a
 * unique column with ON CONFLICT DO NOTHING), so an enforcer that resends a batch whose
 * acknowledgement it never saw cannot create duplicates. Each row keeps the original JSON line.
 * @module
 */
import type SqliteDatabase from "better-sqlite3";
import { sql, type Kysely } from "kysely";
import type { OpenDatabase } from "../db/open-database.js";
import type { ConsoleDatabase } from "../db/tables.js";
import type { InlayEvent } from "../../events/event-schema.js";
import type { EventRow } from "../ingest/parse-batch.js";

/**
 * Writes validated event batches for one enforcer, atomically with its last-seen time; returns
 * how many rows were new (the rest were stored before: resends).
 */
export interface EventWriter {
  store(enforcerId: string, events: readonly EventRow[]): Promise<{ accepted: number; duplicates: number }>;
}

/**
 * The event writer for an open database. Ingest is the console's hot path, so each engine gets
 * its fastest safe form: SQLite a prepared statement in one transaction, PostgreSQL one
 * INSERT … SELECT FROM unnest(arrays) (9 parameters however large the batch).
 */
export function createEventWriter(database: OpenDatabase): EventWriter {
  return database.sqlite === null ? postgresWriter(database.db) : sqliteWriter(database.db, database.sqlite);
}

function sqliteWriter(db: Kysely<ConsoleDatabase>, sqlite: SqliteDatabase.Database): EventWriter {
  const insert = sqlite.prepare(
    "insert into events (id, enforcer_id, time_ms, received_ms, kind, severity, action, rule, body) values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing",
  );
  const seen = sqlite.prepare("update enforcers set last_seen_ms = max(last_seen_ms, ?) where id = ?");
  const write = sqlite.transaction((enforcerId: string, events: readonly EventRow[], now: number) => {
    let inserted = 0;
    for (const { event, line } of events) {
      inserted += insert.run(event.id, enforcerId, Date.parse(event.time), now, event.kind, event.severity, event.action, event.rule, line).changes;
    }
    seen.run(now, enforcerId);
    return inserted;
  });
  return {
    async store(enforcerId, events) {
      // Holding Kysely's only connection guarantees no Kysely transaction is open on it, so this
      // synchronous transaction can never be folded into (and rolled back with) someone else's.
      const inserted = await db.connection().execute(async () => write(enforcerId, events, Date.now()));
      return { accepted: inserted, duplicates: events.length - inserted };
    },
  };
}

function postgresWriter(db: Kysely<ConsoleDatabase>): EventWriter {
  return {
    async store(enforcerId, events) {
      const now = Date.now();
      const col = <T>(f: (e: EventRow["event"]) => T) => events.map(({ event }) => f(event));
      return db.transaction().execute(async (trx) => {
        const res = await sql`
          insert into events (id, enforcer_id, time_ms, received_ms, kind, severity, action, rule, body)
          select u.id, ${enforcerId}, u.time_ms, ${now}, u.kind, u.severity, u.action, u.rule, u.body
          from unnest(${col((e) => e.id)}::text[], ${col((e) => Date.parse(e.time))}::bigint[], ${col((e) => e.kind)}::text[],
                      ${col((e) => e.severity)}::text[], ${col((e) => e.action)}::text[], ${col((e) => e.rule)}::text[],
                      ${events.map((e) => e.line)}::text[]) as u(id, time_ms, kind, severity, action, rule, body)
          on conflict (id) do nothing`.execute(trx);
        await trx.updateTable("enforcers").set({ last_seen_ms: sql<number>`greatest(last_seen_ms, ${now})` }).where("id", "=", enforcerId).execute();
        const inserted = Number(res.numAffectedRows ?? 0n);
        return { accepted: inserted, duplicates: events.length - inserted };
      });
    },
  };
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
