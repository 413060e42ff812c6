/**
 * The zod schemas of the console API: request bodies and query strings are parsed with them, and
 * the OpenAPI document (/openapi.json) is generated from them, so the contract and the server
 * cannot drift apart.
 * @module
 */
import { z } from "zod";

/** Printable text without control characters (labels end up in tables, logs and CSV exports). */
const label = (max = 256) => z.string().max(max).regex(/^[^\u0000-\u001f\u007f]*$/, "printable characters only");
const hex32 = z.string().regex(/^[0-9a-f]{32}$/, "32 lower-case hex characters");
const bundleId = z.string().regex(/^(sha256:[0-9a-f]{64}|none)$/, "sha256:<64 hex> or none");
const uuid = z.string().regex(/^[0-9a-f-]{36}$/, "a UUID");
const iso = z.string().describe("RFC 3339 UTC time");

export const roleSchema = z.enum(["admin", "editor", "viewer"]);
export const tierSchema = z.enum(["full", "degraded", "dormant"]);
export const modeSchema = z.enum(["enforce", "audit", "mixed", "off"]);

export const errorResponse = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .describe("Every non-2xx response. `code` is one of bad_request, unauthorized, forbidden, not_found, conflict, payload_too_large, unsupported_media_type, rate_limited, internal");

// ---- Admin API ----

export const bootstrapBody = z.object({ secret: z.string().min(1).max(200), username: label(64).min(1), password: z.string().min(12).max(1024) }).strict();
export const loginBody = z.object({ username: label(64).min(1), password: z.string().min(1).max(1024) }).strict();
export const sessionResponse = z.object({ token: z.string(), role: roleSchema, expires: iso.nullable() });

export const userSchema = z.object({ id: uuid, username: z.string(), role: roleSchema, disabled: z.boolean(), created: iso.optional() });
export const createUserBody = z.object({ username: label(64).min(1), password: z.string().min(12).max(1024), role: roleSchema }).strict();
export const updateUserBody = z.object({ role: roleSchema.optional(), disabled: z.boolean().optional(), password: z.string().min(12).max(1024).optional() }).strict();

export const createTokenBody = z
  .object({ name: label(64).min(1), role: roleSchema.optional(), expires_in_seconds: z.number().int().min(60).max(366 * 86400).optional() })
  .strict();
export const tokenSchema = z.object({ id: uuid, user_id: uuid, name: z.string(), role: roleSchema, created: iso, expires: iso.nullable(), revoked: z.boolean() });
export const newTokenResponse = z.object({ id: uuid, token: z.string().describe("Shown once; only its SHA-256 is stored"), name: z.string(), role: roleSchema, expires: iso.nullable() });

export const groupSchema = z.object({
  id: uuid,
  name: z.string(),
  policy: z.object({ name: z.string(), version: z.number().int().nullable().describe("null follows the newest version") }).nullable(),
  policy_override: z.boolean().describe("true: the console policy replaces the policy baked into the image"),
  created: iso,
});
export const createGroupBody = z.object({ name: label(64).min(1) }).strict();
/** Policy versions are a 32-bit integer column; a larger number reached PostgreSQL and failed there (500). */
export const MAX_POLICY_VERSION = 2_147_483_647;
export const assignPolicyBody = z
  .object({ policy: label(128).min(1).nullable(), version: z.number().int().min(1).max(MAX_POLICY_VERSION).nullable().default(null), override: z.boolean() })
  .strict();
export const enrolmentTokenSchema = z.object({ id: uuid, created: iso, revoked: iso.nullable(), active: z.boolean(), last_used: iso.nullable().describe("The last registration with this token") });
export const newEnrolmentTokenResponse = z.object({ id: uuid, token: z.string().describe("Shown once"), group_id: uuid, created: iso });
export const rotateBody = z.object({ grace_seconds: z.number().int().min(0).max(30 * 86400).default(0) }).strict();

export const policyNameParam = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/, "lower-case letters, digits, '.', '_' or '-', at most 128");
export const policyVersionBody = z.object({ document: z.string().min(1).max(256 * 1024).regex(/^[^\u0000]*$/, "no NUL characters") }).strict();
const overlayId = z.string().nullable().describe("sha256:<hex> of the overlay; null only for a version stored before overlays that does not compile");
export const policyVersionSchema = z.object({ name: z.string(), version: z.number().int(), sha256: z.string(), overlay_id: overlayId, created: iso, created_by: z.string() });
export const policyDocumentSchema = policyVersionSchema.extend({
  document: z.string(),
  overlay: z.string().nullable().describe("The policy overlay compiled from the document (docs/bundle-format.md, \"Policy overlay\")"),
  overlay_error: z.string().optional().describe("Why an older version has no overlay (it does not compile as a console policy)"),
});
export const policySummarySchema = z.object({ name: z.string(), latest_version: z.number().int() });

const locationFilter = {
  cloud: label(128).optional(),
  account: label(128).optional(),
  region: label(128).optional(),
  cluster: label(256).optional(),
  service: label(256).optional(),
  task: label(256).optional(),
};
const boolParam = z.enum(["true", "false"]).transform((v) => v === "true");

export const workloadsQuery = z
  .object({
    ...locationFilter,
    tier: tierSchema.optional(),
    group: uuid.optional(),
    q: label(256).optional().describe("Substring of image, digest, cluster, service, task, container or instance"),
    stale: boolParam.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  })
  .strict();
export const workloadSchema = z.object({
  id: uuid,
  group_id: uuid,
  instance: z.string(),
  location: z.object({ cloud: z.string(), account: z.string(), region: z.string(), cluster: z.string(), service: z.string(), task: z.string(), container: z.string() }),
  image: z.object({ name: z.string(), digest: z.string() }),
  bundle: z.string(),
  enforcer_version: z.string(),
  mode: z.string(),
  tier: z.string(),
  policy_in_force: z.string(),
  dropped_total: z.number().int(),
  platform: z.record(z.string(), z.string()),
  registered: iso,
  last_seen: iso,
  revoked: iso.nullable().describe("When an administrator revoked this enforcer (alone or with its enrolment token); its credential is refused since"),
  stale: z.boolean().describe("No heartbeat for more than the configured number of intervals"),
});
export const workloadPage = z.object({ items: z.array(workloadSchema), next_offset: z.number().int().nullable() });

export const inventoryQuery = z
  .object({
    group_by: z
      .string()
      .default("cloud,account,region,cluster,service")
      .transform((v) => v.split(","))
      .pipe(z.array(z.enum(["cloud", "account", "region", "cluster", "service", "task"])).min(1).max(6))
      .describe("Comma-separated location keys"),
  })
  .strict();
export const inventoryResponse = z.object({
  groups: z.array(
    z.object({
      key: z.record(z.string(), z.string()),
      workloads: z.number().int(),
      stale: z.number().int(),
      tiers: z.object({ full: z.number().int(), degraded: z.number().int(), dormant: z.number().int() }),
    }),
  ),
});

const timeParam = z
  .string()
  .refine((v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v), "an RFC 3339 time such as 2026-11-28T22:40:01Z")
  .transform((v) => Date.parse(v));
export const eventsQuery = z
  .object({
    since: timeParam.optional(),
    until: timeParam.optional(),
    kind: z.string().regex(/^[a-z]+(\.[a-z-]+)*(\.\*)?$/, "a kind such as exec.drift, or a prefix such as exec.*").optional(),
    severity: z
      .string()
      .transform((v) => v.split(","))
      .pipe(z.array(z.enum(["critical", "high", "medium", "low", "info"])))
      .optional()
      .describe("Comma-separated severities"),
    workload: uuid.optional(),
    rule: label(128).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe("Cursor: next_before of the previous page"),
  })
  .strict();
export const storedEventSchema = z.object({ seq: z.number().int(), workload: uuid, received: iso, event: z.record(z.string(), z.unknown()) });
export const eventPage = z.object({ items: z.array(storedEventSchema), next_before: z.number().int().nullable() });

export const auditQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100), before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional() }).strict();
export const auditPage = z.object({
  items: z.array(z.object({ seq: z.number().int(), time: iso, actor: z.string(), action: z.string(), target: z.string(), detail: z.record(z.string(), z.unknown()) })),
});

// ---- Enforcer protocol (docs/console-protocol.md) ----

export const registerBody = z
  .object({
    protocol: z.literal(1),
    instance: hex32.describe("The enforcer's 128-bit instance id, as in its events"),
    enforcer_version: label(64).min(1),
    mode: modeSchema,
    tier: tierSchema,
    bundle: bundleId,
    policy_in_force: label(128).describe("sha256 of the policy applied, or 'baked'"),
    image: z.object({ name: label(512), digest: z.string().regex(/^(sha256:[0-9a-f]{64})?$/, "sha256:<64 hex>, or empty when unknown") }).strict(),
    platform: z
      .object({
        cloud: label(32).default(""),
        account: label(128).default(""),
        region: label(64).default(""),
        cluster: label(256).default(""),
        service: label(256).default(""),
        task: label(256).default(""),
        container: label(256).default(""),
      })
      .catchall(label(512))
      .refine((p) => Object.keys(p).length <= 32, "at most 32 platform fields"),
  })
  .strict();
export const registerResponse = z.object({
  enforcer_id: uuid,
  credential: z.string().describe("Per-enforcer bearer credential for the other protocol calls"),
  heartbeat_seconds: z.number().int(),
  max_batch_events: z.number().int(),
  max_batch_bytes: z.number().int().describe("Largest decompressed batch"),
});
export const heartbeatBody = z
  .object({
    mode: modeSchema,
    tier: tierSchema,
    policy_in_force: label(128),
    dropped_total: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).describe("Events lost since start (cumulative)"),
    buffered: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  })
  .strict();
export const heartbeatResponse = z.object({ heartbeat_seconds: z.number().int(), policy_etag: z.string().describe("Compare with the ETag of the policy in force; fetch the policy when they differ") });
export const eventsAckResponse = z.object({
  accepted: z.number().int().describe("Events stored by this request"),
  duplicates: z.number().int().describe("Events already stored earlier (resends)"),
  last_id: z.string().nullable().describe("Id of the batch's last event; every event up to it is committed"),
});
export const enforcerPolicyResponse = z.object({
  override: z.boolean().describe("true: apply `policy` instead of the policy baked into the image"),
  policy: z
    .object({
      name: z.string(),
      version: z.number().int(),
      sha256: z.string().describe("Hex SHA-256 of `document`; the value of policy_in_force once applied"),
      document: z.string(),
      overlay: z.string().nullable().describe("The policy overlay to merge into the baked bundle (docs/bundle-format.md); null only with overlay_error"),
      overlay_id: z.string().nullable().describe("sha256:<hex> of `overlay`"),
      overlay_error: z.string().optional().describe("Why a version stored before overlays has none; the enforcer keeps its baked policy and reports it"),
    })
    .nullable(),
});
