/**
 * Compiles the runtime controls of a policy (reverse shell, stratum ports, outbound network,
 * listening ports, read-only and audited files, privilege) into the bundle's runtime directives.
 * Pure. What the bundle cannot express is a finding, never dropped silently.
 * @module
 */
import type { BundleSpec, ControlMode, NetConnectRule, NetListenRule, NetProtocol, RuntimeControlName } from "../bundle/bundle-spec.js";
import { cidrProblem } from "../bundle/write-bundle.js";
import type { CompileFinding } from "./compile-policy.js";
import type { PolicyMode } from "./policy-schema.js";
import { CONTROL_PATHS, type ControlId, type EffectiveMode, type ResolvedPolicy } from "./resolve-policy.js";

/** The runtime part of a bundle spec. */
export interface RuntimeSpec {
  controls: Partial<Record<RuntimeControlName, ControlMode>>;
  enforceAfter: Partial<Record<RuntimeControlName, number>>;
  network?: NonNullable<BundleSpec["network"]>;
  files?: NonNullable<BundleSpec["files"]>;
  shellNames?: string[];
}

type NetworkPart = "stratum" | "outbound" | "listen";

/** enforce > audit-then-enforce (earlier switch is stronger) > audit > off. */
function strength(m: EffectiveMode): number {
  if (m.mode === "enforce") return Number.MAX_SAFE_INTEGER;
  if (m.mode === "audit" && m.enforceAfter !== undefined) return Number.MAX_SAFE_INTEGER - 1 - m.enforceAfter;
  return m.mode === "audit" ? 1 : 0;
}

const sameMode = (a: EffectiveMode, b: EffectiveMode) => a.mode === b.mode && a.enforceAfter === b.enforceAfter;
const portText = (p: number | string) => String(p);

/**
 * Compiles the runtime controls. `eff` resolves a policy mode against the build time; findings
 * are appended to `findings`.
 */
export function compileRuntime(r: ResolvedPolicy, eff: (m: PolicyMode) => EffectiveMode, findings: CompileFinding[]): RuntimeSpec {
  const out: RuntimeSpec = { controls: {}, enforceAfter: {} };
  const set = (name: RuntimeControlName, m: EffectiveMode) => {
    out.controls[name] = m.mode;
    if (m.enforceAfter !== undefined) out.enforceAfter[name] = m.enforceAfter;
  };

  // Reverse shell.
  const rs = eff(r.reverseShell.mode);
  if (rs.mode !== "off") {
    if (r.reverseShell.interpreters.length === 0) {
      findings.push({
        kind: "invalid",
        reason: "empty-allow-list",
        path: CONTROL_PATHS.reverseShell,
        explicit: r.explicit.reverseShell,
        message: `mode ${rs.mode} with an empty interpreters list would never find a shell`,
        remedy: "list the shells and interpreters (or omit interpreters for the default list), or set mode: off",
      });
    } else {
      set("reverse-shell", rs);
      out.shellNames = [...new Set(r.reverseShell.interpreters)];
    }
  }

  compileNetwork(r, eff, findings, out, set);
  compileFiles(r, eff, findings, out, set);

  const priv = eff(r.privilege.mode);
  if (priv.mode !== "off") set("privilege", priv);
  return out;
}

function compileNetwork(
  r: ResolvedPolicy,
  eff: (m: PolicyMode) => EffectiveMode,
  findings: CompileFinding[],
  out: RuntimeSpec,
  set: (name: RuntimeControlName, m: EffectiveMode) => void,
): void {
  const modes: Record<NetworkPart, EffectiveMode> = {
    stratum: eff(r.stratum.mode),
    outbound: eff(r.outbound.mode),
    listen: eff(r.listen.mode),
  };
  const active = (Object.keys(modes) as NetworkPart[]).filter((p) => modes[p].mode !== "off" && !(p === "stratum" && r.stratum.ports.length === 0));
  if (active.length === 0) return;
  // One mode for the network control: the strongest part's. A weaker part in plain audit mode
  // becomes audit rules (alerts, never blocks), which is exactly what it asks. A weaker part that
  // enforces from another date cannot be expressed.
  const strongest = active.reduce((a, b) => (strength(modes[b]) > strength(modes[a]) ? b : a));
  const net = modes[strongest];
  set("network", net);
  /** The action a blocking rule of this part gets, or undefined when the part cannot be compiled. */
  const blockAction = (part: NetworkPart): "block" | "audit" | undefined => {
    const m = modes[part];
    if (sameMode(m, net)) return "block";
    if (m.mode === "audit" && m.enforceAfter === undefined) return "audit";
    findings.push({
      kind: "unenforced",
      reason: "block-list-mode",
      path: CONTROL_PATHS[part],
      explicit: r.explicit[part],
      message:
        `${r.explicit[part] ? "mode" : "default mode"} ${describe(r, part)} cannot be compiled next to ${CONTROL_PATHS[strongest].join(".")} ` +
        `(${describe(r, strongest)}): the bundle has one mode for the network control, so this part only reports`,
      remedy: r.explicit[part] ? "give both the same mode, or pass --allow-unenforced to build it as audit only" : "give both the same mode",
    });
    return "audit";
  };

  const connect: NetConnectRule[] = [];
  const addRules = (
    action: NetConnectRule["action"],
    cidr: string,
    ports: readonly (number | string)[],
    where: readonly (string | number)[],
    explicit: boolean,
    protocol?: NetProtocol,
  ) => {
    const problem = cidrProblem(cidr);
    if (problem) {
      findings.push({
        kind: "invalid",
        reason: "bad-cidr",
        path: where,
        explicit,
        message: `cidr "${cidr}" ${problem}`,
        remedy: "write the network address of the prefix",
      });
      return;
    }
    for (const p of ports.length ? ports.map(portText) : ["*"]) connect.push({ action, cidr, ports: p, ...(protocol ? { protocol } : {}) });
  };

  if (modes.stratum.mode !== "off" && r.stratum.ports.length > 0) {
    const action = blockAction("stratum");
    if (action) for (const cidr of ["0.0.0.0/0", "::/0"]) addRules(action, cidr, r.stratum.ports, CONTROL_PATHS.stratum, r.explicit.stratum);
  }
  let dflt: "allow" | "audit" | "block" = "allow";
  if (modes.outbound.mode !== "off") {
    const action = r.outbound.block.length > 0 || r.outbound.default === "block" ? blockAction("outbound") : "block";
    r.outbound.allow.forEach((rule, i) => {
      addRules("allow", rule.cidr, rule.ports ?? [], [...CONTROL_PATHS.outbound, "allow", i], r.explicit.outbound, bundleProtocol(rule.protocol));
    });
    r.outbound.block.forEach((rule, i) => {
      addRules(action ?? "audit", rule.cidr, rule.ports ?? [], [...CONTROL_PATHS.outbound, "block", i], r.explicit.outbound, bundleProtocol(rule.protocol));
    });
    dflt = r.outbound.default === "block" ? (action ?? "audit") : "audit";
  }
  let listenDefault: "allow" | "audit" | "block" = "allow";
  if (modes.listen.mode !== "off") listenDefault = r.listen.default === "block" ? (blockAction("listen") ?? "audit") : "audit";
  const listen: Array<string | NetListenRule> = r.listen.allowPorts.flatMap((entry) => {
    if (typeof entry !== "object") return [portText(entry)];
    const protocol = bundleProtocol(entry.protocol);
    return entry.ports.map((p) => (protocol ? { ports: portText(p), protocol } : portText(p)));
  });
  out.network = { connect, default: dflt, listenDefault, listen };
}

/** `tcp`/`udp` limit a rule; `any` (or none) is a rule for both, written without a protocol. */
function bundleProtocol(protocol: "tcp" | "udp" | "any" | undefined): NetProtocol | undefined {
  return protocol === "tcp" || protocol === "udp" ? protocol : undefined;
}

/**
 * A path glob as a prefix the enforcer understands: a literal path, or a directory followed by
 * "/*" or "/**" (which then covers everything below it). Undefined for other globs.
 */
export function globAsPrefix(glob: string): string | undefined {
  const dir = glob.replace(/\/\*{1,2}$/, "");
  if (/[*?[\]\\]/.test(dir)) return undefined;
  return dir === "" ? "/" : dir;
}

function compileFiles(
  r: ResolvedPolicy,
  eff: (m: PolicyMode) => EffectiveMode,
  findings: CompileFinding[],
  out: RuntimeSpec,
  set: (name: RuntimeControlName, m: EffectiveMode) => void,
): void {
  const prefixes = (id: "readOnly" | "audited"): string[] => {
    const kept: string[] = [];
    r[id].paths.forEach((glob, i) => {
      const prefix = globAsPrefix(glob);
      if (prefix !== undefined) {
        kept.push(prefix);
        return;
      }
      findings.push({
        kind: "unenforced",
        reason: "not-supported",
        path: [...CONTROL_PATHS[id], "paths", i],
        explicit: r.explicit[id],
        message: `path "${glob}" is not supported by this enforcer version yet: file controls take a path or DIR/* (everything below DIR), so it is left out`,
        ...(r.explicit[id] ? { remedy: "name the file or its directory, or pass --allow-unenforced to build without it" } : {}),
      });
    });
    return [...new Set(kept)];
  };
  const ro = eff(r.readOnly.mode);
  const au = eff(r.audited.mode);
  const readOnly = ro.mode !== "off" ? prefixes("readOnly") : [];
  const audited = au.mode !== "off" ? prefixes("audited") : [];
  if (readOnly.length === 0 && audited.length === 0) return;
  // Audited paths only ever alert, so the files control takes the read-only part's mode.
  set("files", readOnly.length > 0 ? ro : au);
  out.files = { readOnly, audited };
}

function describe(r: ResolvedPolicy, id: ControlId): string {
  const mode = (r[id as keyof ResolvedPolicy] as { mode: PolicyMode }).mode;
  if (typeof mode === "string") return mode;
  return "after" in mode.enforce
    ? `audit until ${mode.enforce.after}, then enforce`
    : `audit for ${mode.enforce.afterDaysFromBuild} days after the build, then enforce`;
}
