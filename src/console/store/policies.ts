/**
 * Policies: named, versioned documents. Versions are immutable; a new document makes a new
 * version. Until the policy compiler lands on main the console stores the document text and its
 * SHA-256 (the compiled bundle bytes will join them in a later migration).
 * @module
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { ConsoleDatabase } from "../db/tables.js";
import { writeAudit } from "./audit.js";

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Adds a version (creating the policy on first use) and audits it; returns the new version. */
export async function addPolicyVersion(db: Kysely<ConsoleDatabase>, name: string, input: { document: string; actor: string }) {
  return db.transaction().execute(async (trx) => {
    const now = Date.now();
    await trx.insertInto("policies").values({ name, created_ms: now }).onConflict((oc) => oc.column("name").doNothing()).execute();
    const last = await trx
      .selectFrom("policy_versions")
      .select((eb) => eb.fn.max("version").as("v"))
      .where("policy_name", "=", name)
      .executeTakeFirst();
    const version = Number(last?.v ?? 0) + 1;
    const digest = sha256(input.document);
    await trx.insertInto("policy_versions").values({ policy_name: name, version, document: input.document, sha256: digest, created_ms: now, created_by: input.actor }).execute();
    await writeAudit(trx, { actor: input.actor, action: "policy.version.create", target: `policy:${name}`, detail: { version, sha256: digest } });
    return { name, version, sha256: digest, created: new Date(now).toISOString(), created_by: input.actor };
  });
}

/** All policies with their newest version number. */
export async function listPolicies(db: Kysely<ConsoleDatabase>) {
  const rows = await db
    .selectFrom("policies as p")
    .leftJoin("policy_versions as v", "v.policy_name", "p.name")
    .select(["p.name", (eb) => eb.fn.max("v.version").as("latest")])
    .groupBy("p.name")
    .orderBy("p.name")
    .execute();
  return rows.map((r) => ({ name: r.name, latest_version: Number(r.latest ?? 0) }));
}

/** Version metadata of one policy, newest first; null when the policy does not exist. */
export async function listPolicyVersions(db: Kysely<ConsoleDatabase>, name: string) {
  const p = await db.selectFrom("policies").select("name").where("name", "=", name).executeTakeFirst();
  if (p === undefined) return null;
  const rows = await db.selectFrom("policy_versions").select(["version", "sha256", "created_ms", "created_by"]).where("policy_name", "=", name).orderBy("version", "desc").execute();
  return rows.map((r) => ({ version: r.version, sha256: r.sha256, created: new Date(r.created_ms).toISOString(), created_by: r.created_by }));
}

/** One version with its document; `version` undefined means the newest. */
export async function getPolicyVersion(db: Kysely<ConsoleDatabase>, name: string, version?: number) {
  let q = db.selectFrom("policy_versions").selectAll().where("policy_name", "=", name).orderBy("version", "desc").limit(1);
  if (version !== undefined) q = q.where("version", "=", version);
  const r = await q.executeTakeFirst();
  if (r === undefined) return null;
  return { name: r.policy_name, version: r.version, sha256: r.sha256, document: r.document, created: new Date(r.created_ms).toISOString(), created_by: r.created_by };
}
