/**
 * Policies: named, versioned documents. Versions are immutable; a new document makes a new
 * version. Each version is stored with the policy overlay compiled from it (what enforcers
 * merge into their baked bundle), so a version that cannot be compiled is never stored; versions
 * stored before overlays existed are compiled on first serve.
 * @module
 */
import { createHash } from "node:crypto";
import type { Kysely } from "kysely";
import type { ConsoleDatabase } from "../db/tables.js";
import { writeAudit } from "./audit.js";
import { compilePolicyOverlay } from "../../policy/compile-overlay.js";
import { parsePolicy } from "../../policy/load-policy.js";

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * Parses and compiles a policy document to its overlay, as the upload and the first serve of an
 * older version do. The file name in messages is `<name>.yaml`.
 * @throws PolicyError (the document does not parse) or PolicyCompileError (it cannot be a
 *   console policy, e.g. `afterDaysFromBuild`), each naming file, line, column and field
 */
export function compileConsolePolicy(name: string, document: string): { overlay: string; overlay_id: string } {
  const compiled = compilePolicyOverlay(parsePolicy(document, { file: `${name}.yaml` }));
  return { overlay: compiled.overlay.toString("utf8"), overlay_id: compiled.overlayId };
}

/**
 * Adds a version (creating the policy on first use) and audits it; returns the new version.
 * @throws PolicyError or PolicyCompileError (see {@link compileConsolePolicy}); nothing is stored then
 */
export async function addPolicyVersion(db: Kysely<ConsoleDatabase>, name: string, input: { document: string; actor: string }) {
  const compiled = compileConsolePolicy(name, input.document);
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
    await trx
      .insertInto("policy_versions")
      .values({ policy_name: name, version, document: input.document, sha256: digest, created_ms: now, created_by: input.actor, ...compiled })
      .execute();
    await writeAudit(trx, { actor: input.actor, action: "policy.version.create", target: `policy:${name}`, detail: { version, sha256: digest, overlay_id: compiled.overlay_id } });
    return { name, version, sha256: digest, overlay_id: compiled.overlay_id, created: new Date(now).toISOString(), created_by: input.actor };
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
  const rows = await db.selectFrom("policy_versions").select(["version", "sha256", "overlay_id", "created_ms", "created_by"]).where("policy_name", "=", name).orderBy("version", "desc").execute();
  return rows.map((r) => ({ version: r.version, sha256: r.sha256, overlay_id: r.overlay_id, created: new Date(r.created_ms).toISOString(), created_by: r.created_by }));
}

/** A stored version as served: the overlay, or (for an old version that does not compile) why not. */
export interface ServedPolicyVersion {
  name: string;
  version: number;
  sha256: string;
  document: string;
  overlay: string | null;
  overlay_id: string | null;
  /** Present only when `overlay` is null. */
  overlay_error?: string;
  created: string;
  created_by: string;
}

/**
 * One version with its document and overlay; `version` undefined means the newest. A version
 * stored before overlays is compiled now and the overlay stored (only where none is stored yet,
 * so concurrent replicas agree); when it cannot be compiled, `overlay` is null and
 * `overlay_error` says why.
 */
export async function getPolicyVersion(db: Kysely<ConsoleDatabase>, name: string, version?: number): Promise<ServedPolicyVersion | null> {
  let q = db.selectFrom("policy_versions").selectAll().where("policy_name", "=", name).orderBy("version", "desc").limit(1);
  if (version !== undefined) q = q.where("version", "=", version);
  const r = await q.executeTakeFirst();
  if (r === undefined) return null;
  const base = { name: r.policy_name, version: r.version, sha256: r.sha256, document: r.document };
  const meta = { created: new Date(r.created_ms).toISOString(), created_by: r.created_by };
  if (r.overlay !== null && r.overlay_id !== null) return { ...base, overlay: r.overlay, overlay_id: r.overlay_id, ...meta };
  let compiled: { overlay: string; overlay_id: string };
  try {
    compiled = compileConsolePolicy(r.policy_name, r.document);
  } catch (err) {
    return { ...base, overlay: null, overlay_id: null, overlay_error: (err as Error).message, ...meta };
  }
  await db
    .updateTable("policy_versions")
    .set(compiled)
    .where("policy_name", "=", r.policy_name)
    .where("version", "=", r.version)
    .where("overlay", "is", null)
    .execute();
  return { ...base, ...compiled, ...meta };
}

/** Whether a version exists (without compiling anything). */
export async function policyVersionExists(db: Kysely<ConsoleDatabase>, name: string, version?: number): Promise<boolean> {
  let q = db.selectFrom("policy_versions").select("version").where("policy_name", "=", name).limit(1);
  if (version !== undefined) q = q.where("version", "=", version);
  return (await q.executeTakeFirst()) !== undefined;
}
