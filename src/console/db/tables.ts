/**
 * Row types of the console database, shared by SQLite and PostgreSQL. Times are integer
 * milliseconds since the epoch and flags are 0/1 integers so both engines store them alike.
 * @module
 */
import type { Generated } from "kysely";

export type Role = "admin" | "editor" | "viewer";

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  created_ms: number;
  disabled: number;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  role: Role;
  token_hash: string;
  created_ms: number;
  expires_ms: number | null;
  revoked_ms: number | null;
}

export interface BootstrapTable {
  id: number;
  secret_hash: string;
  created_ms: number;
}

export interface GroupsTable {
  id: string;
  name: string;
  policy_name: string | null;
  /** Null follows the newest version of the policy. */
  policy_version: number | null;
  policy_override: number;
  created_ms: number;
}

export interface EnrolmentTokensTable {
  id: string;
  group_id: string;
  token_hash: string;
  created_ms: number;
  /** Set by revocation, or by rotation (then possibly in the future: the grace period). */
  revoked_ms: number | null;
  /** Set by revocation only: every enforcer registered with this token was revoked with it. */
  cut_off_ms: number | null;
  /** The last registration with this token. */
  last_used_ms: number | null;
}

export interface EnforcersTable {
  id: string;
  group_id: string;
  instance: string;
  credential_hash: string;
  registered_ms: number;
  last_seen_ms: number;
  cloud: string;
  account: string;
  region: string;
  cluster: string;
  service: string;
  task: string;
  container: string;
  image: string;
  image_digest: string;
  bundle: string;
  enforcer_version: string;
  mode: string;
  tier: string;
  policy_in_force: string;
  dropped_total: number;
  platform_json: string;
  /** The enrolment token of the last registration; null for enforcers registered before migration 0003. */
  enrolment_token_id: string | null;
  /** Set when an administrator revoked this enforcer (or its enrolment token): its credential is refused and the instance cannot register again. */
  revoked_ms: number | null;
}

export interface EventsTable {
  seq: Generated<number>;
  id: string;
  enforcer_id: string;
  time_ms: number;
  received_ms: number;
  kind: string;
  severity: string;
  action: string;
  rule: string;
  body: string;
}

export interface PoliciesTable {
  name: string;
  created_ms: number;
}

export interface PolicyVersionsTable {
  policy_name: string;
  version: number;
  document: string;
  sha256: string;
  created_ms: number;
  created_by: string;
  /** The policy overlay compiled from `document`; null only for versions stored before overlays. */
  overlay: string | null;
  /** `sha256:<hex>` of `overlay`. */
  overlay_id: string | null;
}

export interface AuditLogTable {
  seq: Generated<number>;
  time_ms: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface ConsoleDatabase {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  bootstrap: BootstrapTable;
  groups: GroupsTable;
  enrolment_tokens: EnrolmentTokensTable;
  enforcers: EnforcersTable;
  events: EventsTable;
  policies: PoliciesTable;
  policy_versions: PolicyVersionsTable;
  audit_log: AuditLogTable;
}
