/**
 * Compiles a policy into the {@link BundleSpec} the enforcer loads. Nothing is dropped silently:
 * a control this enforcer version cannot enforce yet is a finding; when the author wrote it, the
 * compilation is refused unless the caller allows unenforced controls.
 * @module
 */
import type { BundleSpec, ControlMode, ExecutableList, ManifestEntry } from "../bundle/bundle-spec.js";
import { shippedMinerList, type MinerList } from "./miner-list.js";
import { compileRuntime } from "./compile-runtime.js";
import { PACKAGE_MANAGER_NAMES } from "./package-managers.js";
import type { Policy, PolicyMode } from "./policy-schema.js";
import { CONTROL_IDS, CONTROL_PATHS, effectiveMode, resolvePolicy, type ControlId, type EffectiveMode, type ResolvedPolicy } from "./resolve-policy.js";

/** Something the compiler has to say about one control. */
export interface CompileFinding {
  /**
   * `unenforced`: the bundle will not enforce what this control asks (refused when `explicit`
   * unless unenforced controls are allowed). `invalid`: the policy cannot be compiled as written.
   */
  kind: "unenforced" | "invalid";
  /**
   * Why: `not-supported` (something this enforcer cannot express yet), `block-list-mode` (an
   * audit-first mode with its own date beside a stronger one in the block list or the network
   * control: compiled as audit only),
   * `needs-manifest`, `empty-allow-list`, `bad-cidr`, `needs-build-time` (a date counted from the
   * image build, unknown here), `image-setting` (an overlay cannot change the image's fail mode
   * or activation).
   */
  reason: "not-supported" | "block-list-mode" | "needs-manifest" | "empty-allow-list" | "bad-cidr" | "needs-build-time" | "image-setting";
  /** Field path in the policy document (numbers index sequences). */
  path: readonly (string | number)[];
  /** The author wrote this control (false: it took its default). */
  explicit: boolean;
  /** What the bundle will (not) do. */
  message: string;
  /** The control's mode in words, for `not-supported` findings. */
  mode?: string;
  /** What the author can do about it (shown when the compilation is refused). */
  remedy?: string;
}

export interface CompileOptions {
  /** When the image is built: resolves `afterDaysFromBuild` (a mode that uses it is refused without one). */
  buildTime?: Date;
  /**
   * `bundle` (default): the spec of one image's bundle. `overlay`: the spec of a policy overlay
   * (docs/bundle-format.md, "Policy overlay") served by the console to any image, so there is no
   * manifest (drift's need for one is checked by the enforcer on the merged bundle), no build
   * time (`afterDaysFromBuild` is refused), and fail mode and activation written in the policy
   * are findings (the image's bundle keeps its own).
   */
  target?: "bundle" | "overlay";
  /** The image's executables (required when drift uses the manifest; ignored for an overlay). */
  manifest?: ManifestEntry[];
  /** Accept explicitly requested controls that this enforcer version cannot enforce (warn instead). */
  allowUnenforced?: boolean;
  /** Replaces the shipped miner list. */
  minerList?: MinerList;
}

/** The bundle and every finding, for callers that report findings themselves (the CLI). */
export interface CompileOutcome {
  spec: BundleSpec;
  findings: CompileFinding[];
}

/** The compiler refused a policy; `findings` say why and where. */
export class PolicyCompileError extends Error {
  readonly findings: CompileFinding[];
  constructor(message: string, findings: CompileFinding[]) {
    super(message);
    this.name = "PolicyCompileError";
    this.findings = findings;
  }
}

/**
 * Compiles a policy, or refuses it.
 * @throws PolicyCompileError when the policy cannot be compiled as written, or asks explicitly
 *   for a control this enforcer cannot enforce and `allowUnenforced` is not set
 */
export function compilePolicy(policy: Policy, options: CompileOptions): BundleSpec {
  const outcome = planPolicy(policy, options);
  const refused = outcome.findings.filter(
    (f) => f.kind === "invalid" || (f.kind === "unenforced" && f.explicit && options.allowUnenforced !== true),
  );
  if (refused.length > 0) {
    throw new PolicyCompileError(
      `Cannot compile policy ${policy.metadata.name}:\n${refused.map((f) => `${f.path.join(".")}: ${withRemedy(f)}`).join("\n")}`,
      refused,
    );
  }
  return outcome.spec;
}

/**
 * Compiles a policy and returns every finding instead of throwing on unenforced controls. Pure.
 * `invalid` findings mean the spec must not be used.
 */
export function planPolicy(policy: Policy, options: CompileOptions): CompileOutcome {
  const r = resolvePolicy(policy);
  const findings: CompileFinding[] = [];
  const overlay = options.target === "overlay";
  const buildTime = overlay ? undefined : options.buildTime;
  checkBuildTimeModes(r, buildTime, overlay, findings);
  if (overlay) checkImageSettings(policy, findings);
  // Without a build time a `afterDaysFromBuild` mode is already an `invalid` finding; audit stands in.
  const eff = (mode: PolicyMode): EffectiveMode =>
    buildTime === undefined && typeof mode === "object" && "afterDaysFromBuild" in mode.enforce ? { mode: "audit" } : effectiveMode(mode, { buildTime: buildTime ?? new Date(0) });

  const controls: BundleSpec["controls"] = { drift: "off", fileless: "off", loader: "off", blocklist: "off", allowlist: "off" };
  const enforceAfter: BundleSpec["enforceAfter"] = {};
  const set = (name: keyof BundleSpec["controls"], m: EffectiveMode): void => {
    controls[name] = m.mode as ControlMode;
    if (m.enforceAfter !== undefined) enforceAfter[name] = m.enforceAfter;
  };

  // Drift.
  const drift = eff(r.drift.mode);
  set("drift", drift);
  const manifest = overlay ? [] : dedupeManifest(options.manifest ?? []);
  if (!overlay && drift.mode !== "off" && r.drift.source === "manifest" && manifest.length === 0) {
    findings.push({
      kind: "invalid",
      reason: "needs-manifest",
      path: CONTROL_PATHS.drift,
      explicit: r.explicit.drift,
      message: "drift with source manifest needs the image's executables, and none were given",
      remedy: "compile with --manifest-dir DIR (inlay embed passes the image), or set source: manifest-free",
    });
  }
  // Path-strict drift compares the executed path with the manifest's paths for that content;
  // manifest-free drift has no paths to compare with.
  const pathStrict = drift.mode !== "off" && r.drift.pathStrict && r.drift.source === "manifest";
  if (drift.mode !== "off" && r.drift.pathStrict && r.drift.source !== "manifest") {
    findings.push({
      kind: "invalid",
      reason: "needs-manifest",
      path: [...CONTROL_PATHS.drift, "pathStrict"],
      explicit: true,
      message: "pathStrict: true compares the executed path with the image manifest's paths, and source manifest-free has none",
      remedy: "use source: manifest, or set pathStrict: false",
    });
  }

  set("fileless", eff(r.fileless.mode));
  set("loader", eff(r.loader.mode));

  // Allow list.
  const allow = eff(r.allow.mode);
  set("allowlist", allow);
  if (allow.mode !== "off" && r.allow.names.length + r.allow.paths.length + r.allow.sha256.length === 0) {
    findings.push({
      kind: "invalid",
      reason: "empty-allow-list",
      path: CONTROL_PATHS.allow,
      explicit: r.explicit.allow,
      message: `mode ${allow.mode} with no names, paths or sha256 would ${allow.mode === "enforce" ? "deny" : "report"} every exec`,
      remedy: "list what may run (inlay policy suggest helps), or set mode: off",
    });
  }

  const blockList = compileBlockList(r, eff, options.minerList ?? shippedMinerList(), findings);
  set("blocklist", blockList.mode);

  // Runtime controls (network, files, reverse shell, privilege).
  const runtime = compileRuntime(r, eff, findings);
  Object.assign(controls, runtime.controls);
  Object.assign(enforceAfter, runtime.enforceAfter);

  const spec: BundleSpec = {
    failMode: r.failMode,
    activation: r.activation.mode,
    dormancy: { env: [...r.activation.dormantWhen.env], paths: [...r.activation.dormantWhen.paths] },
    controls,
    enforceAfter,
    driftSource: r.drift.source === "manifest-free" ? "ctime" : "manifest",
    ...(pathStrict ? { driftPathStrict: true } : {}),
    reportExecs: r.reportExecs,
    blockList: blockList.list,
    ...(blockList.audit ? { blockListAudit: blockList.audit } : {}),
    allowList: { names: dedupe(r.allow.names), pathGlobs: dedupe(r.allow.paths), sha256: dedupe(r.allow.sha256) },
    manifest: drift.mode !== "off" && r.drift.source === "manifest" ? manifest : [],
    ...(runtime.network ? { network: runtime.network } : {}),
    ...(runtime.files ? { files: runtime.files } : {}),
    ...(runtime.shellNames ? { shellNames: runtime.shellNames } : {}),
  };
  return { spec, findings };
}

/** Refuses `enforce: {afterDaysFromBuild: N}` when there is no build time to count from. */
function checkBuildTimeModes(r: ResolvedPolicy, buildTime: Date | undefined, overlay: boolean, findings: CompileFinding[]): void {
  if (buildTime !== undefined) return;
  for (const id of CONTROL_IDS) {
    // An unwritten stratum mode follows the miners mode, which is reported where it is written.
    if (id === "stratum" && !r.explicit.stratum) continue;
    const mode = modeOf(r, id);
    if (typeof mode !== "object" || !("afterDaysFromBuild" in mode.enforce)) continue;
    findings.push({
      kind: "invalid",
      reason: "needs-build-time",
      path: [...CONTROL_PATHS[id], "mode"],
      explicit: true,
      message: overlay
        ? `enforce: {afterDaysFromBuild: ${mode.enforce.afterDaysFromBuild}} counts from the image's build time, which a console policy does not know (it applies to every image of the group)`
        : `enforce: {afterDaysFromBuild: ${mode.enforce.afterDaysFromBuild}} needs the image's build time, and none was given`,
      remedy: overlay ? "use enforce: {after: <date>} in a console policy, e.g. {enforce: {after: \"2026-12-31T00:00:00Z\"}}" : "give the build time, or use enforce: {after: <date>}",
    });
  }
}

/** In an overlay, fail mode and activation written by the author cannot take effect: say so. */
function checkImageSettings(policy: Policy, findings: CompileFinding[]): void {
  const settings = [
    ["failMode", "the fail mode belongs"],
    ["activation", "activation and dormancy belong"],
  ] as const;
  for (const [field, words] of settings) {
    if (policy.spec[field] === undefined) continue;
    findings.push({
      kind: "unenforced",
      reason: "image-setting",
      path: ["spec", field],
      explicit: true,
      message: `${words} to the image: an enforcer keeps those of its baked bundle, so a console policy cannot change them`,
      remedy: `remove spec.${field} from the console policy (set it in the policy given to inlay embed)`,
    });
  }
}

/** A finding's message followed by its remedy, when it has one. */
export function withRemedy(f: CompileFinding): string {
  return f.remedy === undefined ? f.message : `${f.message}; ${f.remedy}`;
}

/** `enforce`, `audit`, or `audit, enforce from 2026-12-31T00:00:00Z`. */
export function describeMode(mode: PolicyMode): string {
  if (typeof mode === "string") return mode;
  return "after" in mode.enforce
    ? `audit until ${mode.enforce.after}, then enforce`
    : `audit for ${mode.enforce.afterDaysFromBuild} days after the build, then enforce`;
}

interface Contributor {
  id: ControlId;
  mode: EffectiveMode;
  list: ExecutableList;
}

/**
 * Three controls feed the block list (the block list, package managers, miners by name and hash).
 * The control's mode is the strongest among those with entries, and their entries have no mode
 * token; entries of a control in plain `audit` beside a stronger one get the `audit` token
 * (docs/bundle-format.md, "Block-list modes"): reported, never blocked, exactly what they ask. A
 * control that audits first and enforces from a date other than the block list's cannot be
 * expressed: its entries are compiled as audit, and a finding says that they never switch.
 */
function compileBlockList(
  r: ResolvedPolicy,
  eff: (m: PolicyMode) => EffectiveMode,
  miners: MinerList,
  findings: CompileFinding[],
): { mode: EffectiveMode; list: ExecutableList; audit?: ExecutableList } {
  const exceptions = new Set(r.packageManagers.except);
  const contributors: Contributor[] = [
    { id: "block", mode: eff(r.block.mode), list: { names: r.block.names, pathGlobs: r.block.paths, sha256: r.block.sha256 } },
    {
      id: "packageManagers",
      mode: eff(r.packageManagers.mode),
      list: { names: PACKAGE_MANAGER_NAMES.filter((n) => !exceptions.has(n)), pathGlobs: [], sha256: [] },
    },
    {
      id: "miners",
      mode: eff(r.miners.mode),
      list: {
        names: [...(r.miners.shippedList ? miners.names : []), ...r.miners.names],
        pathGlobs: [],
        sha256: [...(r.miners.shippedList ? miners.sha256 : []), ...r.miners.sha256],
      },
    },
  ];
  const active = contributors.filter(
    (c) => c.mode.mode !== "off" && c.list.names.length + c.list.pathGlobs.length + c.list.sha256.length > 0,
  );
  if (active.length === 0) return { mode: eff(r.block.mode), list: { names: [], pathGlobs: [], sha256: [] } };
  const strongest = active.reduce((a, b) => (strength(b.mode) > strength(a.mode) ? b : a));
  const list: ExecutableList = { names: [], pathGlobs: [], sha256: [] };
  const audit: ExecutableList = { names: [], pathGlobs: [], sha256: [] };
  const append = (to: ExecutableList, from: ExecutableList): void => {
    to.names.push(...from.names);
    to.pathGlobs.push(...from.pathGlobs);
    to.sha256.push(...from.sha256);
  };
  for (const c of active) {
    if (sameMode(c.mode, strongest.mode)) {
      append(list, c.list);
      continue;
    }
    append(audit, c.list);
    if (c.mode.mode === "audit" && c.mode.enforceAfter === undefined) continue;
    findings.push({
      kind: "unenforced",
      reason: "block-list-mode",
      path: CONTROL_PATHS[c.id],
      explicit: r.explicit[c.id],
      message:
        `${r.explicit[c.id] ? "mode" : "default mode"} ${describeMode(modeOf(r, c.id))} cannot be compiled next to ${CONTROL_PATHS[strongest.id].join(".")} ` +
        `(${describeMode(modeOf(r, strongest.id))}): a block-list entry is either in the block list's mode or audit, so its ` +
        `${c.list.names.length + c.list.sha256.length + c.list.pathGlobs.length} entries only report and never switch to enforce`,
      remedy: r.explicit[c.id] ? "give both the same mode, or pass --allow-unenforced to build them as audit only" : "give both the same mode",
    });
  }
  const main = { names: dedupe(list.names), pathGlobs: dedupe(list.pathGlobs), sha256: dedupe(list.sha256) };
  // An entry in both lists is in the stronger one only (the writer would drop the other anyway).
  const weaker = (xs: string[], stronger: string[]) => {
    const strong = new Set(stronger);
    return dedupe(xs).filter((x) => !strong.has(x));
  };
  const audited = { names: weaker(audit.names, main.names), pathGlobs: weaker(audit.pathGlobs, main.pathGlobs), sha256: weaker(audit.sha256, main.sha256) };
  const empty = audited.names.length + audited.pathGlobs.length + audited.sha256.length === 0;
  return { mode: strongest.mode, list: main, ...(empty ? {} : { audit: audited }) };
}

function modeOf(r: ResolvedPolicy, id: ControlId): PolicyMode {
  return (r[id as keyof ResolvedPolicy] as { mode: PolicyMode }).mode;
}

/** enforce > audit-then-enforce (earlier switch is stronger) > audit > off. */
function strength(m: EffectiveMode): number {
  if (m.mode === "enforce") return Number.MAX_SAFE_INTEGER;
  if (m.mode === "audit" && m.enforceAfter !== undefined) return Number.MAX_SAFE_INTEGER - 1 - m.enforceAfter;
  return m.mode === "audit" ? 1 : 0;
}

function sameMode(a: EffectiveMode, b: EffectiveMode): boolean {
  return a.mode === b.mode && a.enforceAfter === b.enforceAfter;
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}

/**
 * The entries without repeated (path, sha256) pairs, first occurrences kept in order. Keyed by path
 * first: a key string per entry cost ~150 bytes each for the image's every executable, and a path
 * seen with several digests is rare (the bundle writer refuses it).
 */
function dedupeManifest(entries: readonly ManifestEntry[]): ManifestEntry[] {
  // Sorted with no path twice (as `inlay embed` passes it): nothing to look up.
  if (strictlyIncreasing(entries)) return entries.map((e) => ({ sha256: e.sha256, path: e.path }));
  const first = new Map<string, string>();
  let more: Set<string> | undefined;
  const out: ManifestEntry[] = [];
  for (const e of entries) {
    const seen = first.get(e.path);
    if (seen === undefined) {
      first.set(e.path, e.sha256);
    } else {
      if (seen === e.sha256) continue;
      const k = `${e.sha256} ${e.path}`;
      more ??= new Set();
      if (more.has(k)) continue;
      more.add(k);
    }
    out.push({ sha256: e.sha256, path: e.path });
  }
  return out;
}

/** True when every path sorts after the one before it (in string order), so none repeats. */
function strictlyIncreasing(entries: readonly ManifestEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.path < entries[i]!.path)) return false;
  return true;
}
