/**
 * Schema migrations, written once with Kysely's schema builder for both engines. On PostgreSQL
 * the whole run holds an advisory lock, so replicas starting together migrate once, one after
 * the other. Migrations are append-only: never edit one that has shipped.
 * @module
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from "kysely";
import type { Engine } from "./open-database.js";

/** The PostgreSQL advisory lock key that serialises console migrations ("inlay-mg" in ASCII). */
const MIGRATION_LOCK_KEY = "7597128787321253223";

/** An auto-incrementing 64-bit key column, spelled the way each engine wants it. */
function serialType(engine: Engine): "integer" | "bigserial" {
  return engine === "sqlite" ? "integer" : "bigserial";
}

function initial(engine: Engine): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("users")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("password_hash", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable("api_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id"))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .addColumn("expires_ms", "bigint")
        .addColumn("revoked_ms", "bigint")
        .execute();
      await db.schema
        .createTable("bootstrap")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("secret_hash", "text", (c) => c.notNull())
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("policies")
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("policy_versions")
        .addColumn("policy_name", "text", (c) => c.notNull().references("policies.name"))
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("document", "text", (c) => c.notNull())
        .addColumn("sha256", "text", (c) => c.notNull())
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .addColumn("created_by", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("policy_versions_pk", ["policy_name", "version"])
        .execute();
      await db.schema
        .createTable("groups")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("policy_name", "text", (c) => c.references("policies.name"))
        .addColumn("policy_version", "integer")
        .addColumn("policy_override", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("enrolment_tokens")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("group_id", "text", (c) => c.notNull().references("groups.id"))
        .addColumn("token_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_ms", "bigint", (c) => c.notNull())
        .addColumn("revoked_ms", "bigint")
        .execute();
      await db.schema
        .createTable("enforcers")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("group_id", "text", (c) => c.notNull().references("groups.id"))
        .addColumn("instance", "text", (c) => c.notNull().unique())
        .addColumn("credential_hash", "text", (c) => c.notNull().unique())
        .addColumn("registered_ms", "bigint", (c) => c.notNull())
        .addColumn("last_seen_ms", "bigint", (c) => c.notNull())
        .addColumn("cloud", "text", (c) => c.notNull())
        .addColumn("account", "text", (c) => c.notNull())
        .addColumn("region", "text", (c) => c.notNull())
        .addColumn("cluster", "text", (c) => c.notNull())
        .addColumn("service", "text", (c) => c.notNull())
        .addColumn("task", "text", (c) => c.notNull())
        .addColumn("container", "text", (c) => c.notNull())
        .addColumn("image", "text", (c) => c.notNull())
        .addColumn("image_digest", "text", (c) => c.notNull())
        .addColumn("bundle", "text", (c) => c.notNull())
        .addColumn("enforcer_version", "text", (c) => c.notNull())
        .addColumn("mode", "text", (c) => c.notNull())
        .addColumn("tier", "text", (c) => c.notNull())
        .addColumn("policy_in_force", "text", (c) => c.notNull())
        .addColumn("dropped_total", "bigint", (c) => c.notNull().defaultTo(0))
        .addColumn("platform_json", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("enforcers_location")
        .on("enforcers")
        .columns(["cloud", "account", "region", "cluster", "service", "task"])
        .execute();
      await db.schema.createIndex("enforcers_last_seen").on("enforcers").column("last_seen_ms").execute();
      await db.schema
        .createTable("events")
        .addColumn("seq", serialType(engine), (c) => (engine === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("id", "text", (c) => c.notNull().unique())
        .addColumn("enforcer_id", "text", (c) => c.notNull())
        .addColumn("time_ms", "bigint", (c) => c.notNull())
        .addColumn("received_ms", "bigint", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("severity", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("rule", "text", (c) => c.notNull())
        .addColumn("body", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_time").on("events").column("time_ms").execute();
      await db.schema.createIndex("events_enforcer").on("events").columns(["enforcer_id", "seq"]).execute();
      await db.schema.createIndex("events_kind").on("events").columns(["kind", "seq"]).execute();
      await db.schema
        .createTable("audit_log")
        .addColumn("seq", serialType(engine), (c) => (engine === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey()))
        .addColumn("time_ms", "bigint", (c) => c.notNull())
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("detail", "text", (c) => c.notNull())
        .execute();
    },
  };
}

/** Each policy version keeps the policy overlay compiled from it (docs/bundle-format.md, "Policy overlay"). */
function policyOverlay(): Migration {
  return {
    async up(db: Kysely<any>) {
      // Versions stored before this migration keep null and are compiled on first serve.
      await db.schema.alterTable("policy_versions").addColumn("overlay", "text").execute();
      await db.schema.alterTable("policy_versions").addColumn("overlay_id", "text").execute();
    },
  };
}

/**
 * Revocation that cuts off: each enforcer remembers the enrolment token it registered with, and
 * can be revoked (alone, or with every enforcer of a revoked token). `cut_off_ms` marks a token
 * revoked by an administrator (rotation only sets `revoked_ms`); `last_used_ms` is written by
 * every registration, which also serialises a registration against a concurrent revocation.
 * Enforcers registered before this migration have no token id: revoke them one by one.
 */
function enforcerRevocation(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("enforcers").addColumn("enrolment_token_id", "text").execute();
      await db.schema.alterTable("enforcers").addColumn("revoked_ms", "bigint").execute();
      await db.schema.alterTable("enrolment_tokens").addColumn("cut_off_ms", "bigint").execute();
      await db.schema.alterTable("enrolment_tokens").addColumn("last_used_ms", "bigint").execute();
      await db.schema.createIndex("enforcers_enrolment_token").on("enforcers").column("enrolment_token_id").execute();
    },
  };
}

class CodeMigrations implements MigrationProvider {
  readonly #engine: Engine;
  constructor(engine: Engine) {
    this.#engine = engine;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    return { "0001-initial": initial(this.#engine), "0002-policy-overlay": policyOverlay(), "0003-enforcer-revocation": enforcerRevocation() };
  }
}

/**
 * Brings the schema up to migration `target` (inclusive); tests build an older database with it.
 * @throws Error "Cannot migrate the console database: …" naming the failed migration
 */
export async function migrateTo(db: Kysely<any>, engine: Engine, target: string): Promise<void> {
  const migrator = new Migrator({ db, provider: new CodeMigrations(engine), migrationTableName: "inlay_migration", migrationLockTableName: "inlay_migration_lock" });
  const { error, results } = await migrator.migrateTo(target);
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "(before any migration ran)";
    throw new Error(`Cannot migrate the console database: migration ${failed} failed`, { cause: error });
  }
}

/**
 * Brings the schema up to date.
 * @throws Error "Cannot migrate the console database: …" naming the failed migration
 */
export async function migrateToLatest(db: Kysely<any>, engine: Engine): Promise<void> {
  const run = async () => {
    const migrator = new Migrator({ db, provider: new CodeMigrations(engine), migrationTableName: "inlay_migration", migrationLockTableName: "inlay_migration_lock" });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "(before any migration ran)";
      throw new Error(`Cannot migrate the console database: migration ${failed} failed`, { cause: error });
    }
  };
  if (engine === "sqlite") return run();
  // Replicas starting together: the migrator locks only once its own tables exist, so the whole
  // run (creating them included) is serialised here by a session advisory lock held on one
  // connection while the migrator works on others; the next replica finds everything done.
  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
    try {
      await run();
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
    }
  });
}
