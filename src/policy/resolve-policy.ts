/**
 * Fills every control a policy omits with its default (docs/policy.md, "Defaults") and records
 * which controls the author wrote: the compiler refuses an explicitly requested control it cannot
 * enforce, but only notes a defaulted one.
 * @module
 */
import type { ListenPort, NetworkRule, Policy, PolicyMode } from "./policy-schema.js";

/** Every control of the language, by a short id. */
export const CONTROL_IDS = [
  "drift",
  "fileless",
  "loader",
  "allow",
  "block",
  "reverseShell",
  "miners",
  "stratum",
  "outbound",
  "listen",
  "readOnly",
  "audited",
  "packageManagers",
  "privilege",
] as const;
export type ControlId = (typeof CONTROL_IDS)[number];

/** Where each control lives in a policy document (field path under the root). */
export const CONTROL_PATHS: Record<ControlId, readonly string[]> = {
  drift: ["spec", "executables", "drift"],
  fileless: ["spec", "executables", "fileless"],
  loader: ["spec", "executables", "loader"],
  allow: ["spec", "executables", "allow"],
  block: ["spec", "executables", "block"],
  reverseShell: ["spec", "reverseShell"],
  miners: ["spec", "miners"],
  stratum: ["spec", "miners", "stratum"],
  outbound: ["spec", "network", "outbound"],
  listen: ["spec", "network", "listen"],
  readOnly: ["spec", "files", "readOnly"],
  audited: ["spec", "files", "audited"],
  packageManagers: ["spec", "packageManagers"],
  privilege: ["spec", "privilege"],
};

/** Shells and interpreters whose standard streams are checked by the reverse-shell control. */
export const DEFAULT_SHELLS_AND_INTERPRETERS = [
  "ash", "bash", "busybox", "csh", "dash", "ksh", "lua", "nc", "ncat", "netcat", "node", "perl",
  "php", "python", "python2", "python3", "ruby", "sh", "socat", "tcsh", "zsh",
];

/** Ports commonly used by mining pools speaking the stratum protocol. */
export const DEFAULT_STRATUM_PORTS: Array<number | string> = [3333, 3334, 4444, 5555, 6666, 7777, 8888, 9999, 14433, 14444, 45700];

/** Sensitive files audited by default. */
export const DEFAULT_AUDITED_PATHS = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/sudoers", "/etc/sudoers.d/*", "/root/.ssh/*"];

export interface ExecutableMatchers {
  names: string[];
  paths: string[];
  sha256: string[];
}

/** A policy with every default filled in. */
export interface ResolvedPolicy {
  name: string;
  description?: string;
  failMode: "closed" | "open";
  activation: { mode: "always" | "serverless"; dormantWhen: { env: string[]; paths: string[] } };
  reportExecs: boolean;
  drift: { mode: PolicyMode; source: "manifest" | "manifest-free"; pathStrict: boolean };
  fileless: { mode: PolicyMode };
  loader: { mode: PolicyMode };
  allow: { mode: PolicyMode } & ExecutableMatchers;
  block: { mode: PolicyMode } & ExecutableMatchers;
  reverseShell: { mode: PolicyMode; interpreters: string[] };
  miners: { mode: PolicyMode; shippedList: boolean; names: string[]; sha256: string[] };
  stratum: { mode: PolicyMode; ports: Array<number | string> };
  outbound: { mode: PolicyMode; default: "audit" | "block"; allow: NetworkRule[]; block: NetworkRule[] };
  listen: { mode: PolicyMode; default: "audit" | "block"; allowPorts: ListenPort[] };
  readOnly: { mode: PolicyMode; paths: string[] };
  audited: { mode: "off" | "audit"; paths: string[] };
  packageManagers: { mode: PolicyMode; except: string[] };
  privilege: { mode: "off" | "audit" };
  /** Controls the author wrote (true) or that took their default (false). */
  explicit: Record<ControlId, boolean>;
}

/**
 * Resolves a validated policy against the defaults. Pure.
 * @param policy a policy accepted by `policySchema`
 */
export function resolvePolicy(policy: Policy): ResolvedPolicy {
  const s = policy.spec;
  const ex = s.executables ?? {};
  const miners = s.miners;
  const explicit = {} as Record<ControlId, boolean>;
  const written: Record<ControlId, unknown> = {
    drift: ex.drift,
    fileless: ex.fileless,
    loader: ex.loader,
    allow: ex.allow,
    block: ex.block,
    reverseShell: s.reverseShell,
    miners,
    stratum: miners?.stratum,
    outbound: s.network?.outbound,
    listen: s.network?.listen,
    readOnly: s.files?.readOnly,
    audited: s.files?.audited,
    packageManagers: s.packageManagers,
    privilege: s.privilege,
  };
  for (const id of CONTROL_IDS) explicit[id] = written[id] !== undefined;

  const minersMode: PolicyMode = miners?.mode ?? "enforce";
  return {
    name: policy.metadata.name,
    ...(policy.metadata.description !== undefined ? { description: policy.metadata.description } : {}),
    failMode: s.failMode ?? "closed",
    activation: {
      mode: s.activation?.mode ?? "always",
      dormantWhen: {
        env: s.activation?.dormantWhen?.env ?? ["INLAY_HOST_ENFORCER"],
        paths: s.activation?.dormantWhen?.paths ?? ["/run/inlay-host.sock"],
      },
    },
    reportExecs: s.reportExecs ?? false,
    drift: {
      mode: ex.drift?.mode ?? "enforce",
      source: ex.drift?.source ?? "manifest",
      pathStrict: ex.drift?.pathStrict ?? false,
    },
    fileless: { mode: ex.fileless?.mode ?? "enforce" },
    loader: { mode: ex.loader?.mode ?? "enforce" },
    allow: matchers(ex.allow?.mode ?? "off", ex.allow),
    block: matchers(ex.block?.mode ?? "audit", ex.block),
    reverseShell: {
      mode: s.reverseShell?.mode ?? "enforce",
      interpreters: s.reverseShell?.interpreters ?? [...DEFAULT_SHELLS_AND_INTERPRETERS],
    },
    miners: {
      mode: minersMode,
      shippedList: miners?.shippedList ?? true,
      names: miners?.names ?? [],
      sha256: miners?.sha256 ?? [],
    },
    // An omitted stratum part follows the miners control it belongs to.
    stratum: { mode: miners?.stratum?.mode ?? minersMode, ports: miners?.stratum?.ports ?? [...DEFAULT_STRATUM_PORTS] },
    outbound: {
      mode: s.network?.outbound?.mode ?? "audit",
      default: s.network?.outbound?.default ?? "audit",
      allow: s.network?.outbound?.allow ?? [],
      block: s.network?.outbound?.block ?? [],
    },
    listen: {
      mode: s.network?.listen?.mode ?? "audit",
      default: s.network?.listen?.default ?? "audit",
      allowPorts: s.network?.listen?.allowPorts ?? [],
    },
    readOnly: { mode: s.files?.readOnly?.mode ?? "audit", paths: s.files?.readOnly?.paths ?? [] },
    audited: { mode: s.files?.audited?.mode ?? "audit", paths: s.files?.audited?.paths ?? [...DEFAULT_AUDITED_PATHS] },
    packageManagers: { mode: s.packageManagers?.mode ?? "audit", except: s.packageManagers?.except ?? [] },
    privilege: { mode: s.privilege?.mode ?? "audit" },
    explicit,
  };
}

function matchers(
  mode: PolicyMode,
  list: { names?: string[] | undefined; paths?: string[] | undefined; sha256?: string[] | undefined } | undefined,
): { mode: PolicyMode } & ExecutableMatchers {
  return { mode, names: list?.names ?? [], paths: list?.paths ?? [], sha256: list?.sha256 ?? [] };
}

/** A mode with its date resolved: what the enforcer does now, and when audit turns into enforce. */
export interface EffectiveMode {
  mode: "off" | "audit" | "enforce";
  /** Seconds since 1970 (UTC) from which an `audit` control enforces. */
  enforceAfter?: number;
}

/**
 * Resolves audit-first modes against the image build time. Pure.
 * @param mode a policy mode
 * @param options.buildTime when the image is built (resolves `afterDaysFromBuild`)
 */
export function effectiveMode(mode: PolicyMode, options: { buildTime: Date }): EffectiveMode {
  if (typeof mode === "string") return { mode };
  const later = mode.enforce;
  const ms = "after" in later ? Date.parse(later.after) : options.buildTime.getTime() + later.afterDaysFromBuild * 86_400_000;
  if (!Number.isFinite(ms)) throw new Error(`Cannot resolve enforce date: ${JSON.stringify(later)} is not a valid time`);
  return { mode: "audit", enforceAfter: Math.floor(ms / 1000) };
}
