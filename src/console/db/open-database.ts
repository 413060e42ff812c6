/**
 * Opens the console database: an SQLite file (the zero-config default) or PostgreSQL
 * (`postgres://…`, required when several replicas share one store), then migrates it.
 * @module
 */
import { dirname } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { migrateToLatest } from "./migrations.js";
import type { ConsoleDatabase } from "./tables.js";
import { makeDirs } from "../../files/make-dirs.js";

export type Engine = "sqlite" | "postgres";

/** An open, migrated console database. */
export interface OpenDatabase {
  db: Kysely<ConsoleDatabase>;
  engine: Engine;
  /** The raw SQLite handle (SQLite only), for the ingest hot path; see store/events.ts. */
  sqlite: SqliteDatabase.Database | null;
  /** Where it lives, with any password removed (safe to log). */
  location: string;
  close(): Promise<void>;
}

/** Removes the password from a connection URL so it can be printed. */
export function redactDatabaseUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database URL)";
  }
}

/** pg returns int8 as strings by default; every bigint here is a millisecond time or a counter < 2^53. */
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === 20) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as "text");
  },
};

/**
 * Opens and migrates the database named by `location`: a `postgres://` or `postgresql://` URL,
 * or a file path for SQLite (created with its directory when missing).
 * @throws Error "Cannot open the console database …" with the cause
 */
export async function openDatabase(location: string, options: { poolSize?: number } = {}): Promise<OpenDatabase> {
  if (/^postgres(ql)?:\/\//.test(location)) {
    // At least 2: the migration holds one connection for its lock while it works on another.
    const pool = new pg.Pool({ connectionString: location, max: Math.max(2, options.poolSize ?? 10), types: pgTypes });
    const db = new Kysely<ConsoleDatabase>({ dialect: new PostgresDialect({ pool }) });
    const safe = redactDatabaseUrl(location);
    try {
      await migrateToLatest(db, "postgres");
    } catch (err) {
      await db.destroy();
      throw new Error(`Cannot open the console database ${safe}: ${(err as Error).message}`, { cause: err });
    }
    return { db, engine: "postgres", sqlite: null, location: safe, close: () => db.destroy() };
  }
  let sqlite: SqliteDatabase.Database;
  try {
    await makeDirs(dirname(location));
    sqlite = new SqliteDatabase(location);
    // WAL lets readers run beside the writer; FULL makes every acknowledged commit survive a
    // crash of the machine, not only of the process (acknowledged events must never be lost).
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = FULL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
  } catch (err) {
    throw new Error(`Cannot open the console database ${location}: ${(err as Error).message}`, { cause: err });
  }
  const db = new Kysely<ConsoleDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db, "sqlite");
  } catch (err) {
    await db.destroy();
    throw new Error(`Cannot open the console database ${location}: ${(err as Error).message}`, { cause: err });
  }
  return { db, engine: "sqlite", sqlite, location, close: () => db.destroy() };
}
