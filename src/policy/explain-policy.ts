/**
 * `inlay policy explain`: what a policy will block, audit and allow, in plain words, including
 * what this enforcer version will not enforce yet.
 * @module
 */
import { describeMode, planPolicy } from "./compile-policy.js";
import { shippedMinerList, type MinerList } from "./miner-list.js";
import { PACKAGE_MANAGER_NAMES } from "./package-managers.js";
import type { ListenPort, NetworkRule, Policy, PolicyMode } from "./policy-schema.js";
import { CONTROL_PATHS, effectiveMode, resolvePolicy, type ControlId } from "./resolve-policy.js";

type Section = "blocked" | "later" | "audited" | "unenforced" | "off";

const HEADINGS: Record<Section, string> = {
  blocked: "Blocked (denied, and reported):",
  later: "Audited first, blocked later:",
  audited: "Audited (reported, but allowed):",
  unenforced: "Asked for, but NOT enforced by this enforcer version yet:",
  off: "Off (neither blocked nor reported):",
};

/**
 * Explains a policy.
 * @param options.buildTime resolves `afterDaysFromBuild`
 */
export function explainPolicy(policy: Policy, options: { buildTime: Date; minerList?: MinerList }): string {
  const r = resolvePolicy(policy);
  const miners = options.minerList ?? shippedMinerList();
  const { findings } = planPolicy(policy, { buildTime: options.buildTime, minerList: miners, manifest: [] });
  const leftOut = new Set(findings.filter((f) => f.kind === "unenforced").map((f) => f.path.join(".")));
  const sections: Record<Section, string[]> = { blocked: [], later: [], audited: [], unenforced: [], off: [] };

  const add = (id: ControlId, mode: PolicyMode, what: string, unsupported = false): void => {
    const origin = r.explicit[id] ? "" : " [default]";
    const m = effectiveMode(mode, options);
    if (m.mode === "off") {
      sections.off.push(`${what}${origin}`);
    } else if (unsupported || leftOut.has(CONTROL_PATHS[id].join("."))) {
      sections.unenforced.push(`${what}: asked ${describeMode(mode)}${origin}`);
    } else if (m.enforceAfter !== undefined) {
      sections.later.push(`${what}: reported until ${new Date(m.enforceAfter * 1000).toISOString()}, blocked from then on${origin}`);
    } else {
      sections[m.mode === "enforce" ? "blocked" : "audited"].push(`${what}${origin}`);
    }
  };

  add(
    "drift",
    r.drift.mode,
    r.drift.source === "manifest"
      ? r.drift.pathStrict
        ? "running an executable whose content was not in the image at build time, or image content from a path where the image does not have it, e.g. a copy of /bin/sh in /tmp (drift, by content and path)"
        : "running an executable whose content was not in the image at build time (drift, by content; a copy of an image executable under a new path still runs)"
      : "running an executable created or changed after the container started (drift, manifest-free)",
  );
  add("fileless", r.fileless.mode, "running a program from memory (memfd) or from a deleted file (fileless)");
  add("loader", r.loader.mode, "running a program through the dynamic loader directly, e.g. ld-linux.so /tmp/x (loader)");
  add("allow", r.allow.mode, `running anything not on the allow list (${listText(r.allow.names, r.allow.paths, r.allow.sha256)})`);
  if (r.block.names.length + r.block.paths.length + r.block.sha256.length > 0 || r.explicit.block)
    add("block", r.block.mode, `running executables on the block list (${listText(r.block.names, r.block.paths, r.block.sha256)})`);
  const pm = PACKAGE_MANAGER_NAMES.filter((n) => !r.packageManagers.except.includes(n));
  add(
    "packageManagers",
    r.packageManagers.mode,
    `running package managers (${pm.length} names: ${abbreviate(pm)}${r.packageManagers.except.length > 0 ? `; except ${r.packageManagers.except.join(", ")}` : ""})`,
  );
  const minerNames = [...(r.miners.shippedList ? miners.names : []), ...r.miners.names];
  const minerHashes = (r.miners.shippedList ? miners.sha256.length : 0) + r.miners.sha256.length;
  add(
    "miners",
    r.miners.mode,
    `running known crypto-miners (${minerNames.length} names: ${abbreviate(minerNames)}; ${minerHashes} hashes${r.miners.shippedList ? `; shipped list revision ${miners.revision}` : ""})`,
  );
  add("stratum", r.stratum.mode, `connecting to mining-pool (stratum) ports ${r.stratum.ports.join(", ")}`);
  add("reverseShell", r.reverseShell.mode, `reverse shells: ${abbreviate(r.reverseShell.interpreters)} started with a network socket as stdin, stdout or stderr`);
  add("outbound", r.outbound.mode, `outbound connections ${networkText(r.outbound.allow, r.outbound.block, r.outbound.default)}`);
  add("listen", r.listen.mode, `listening on ports${r.listen.allowPorts.length > 0 ? ` other than ${r.listen.allowPorts.map(listenText).join(", ")}` : ""} (otherwise: ${r.listen.default})`);
  add("readOnly", r.readOnly.mode, `writing, creating, renaming, linking or chmod/chown under ${r.readOnly.paths.length > 0 ? r.readOnly.paths.join(", ") : "(no paths listed)"}`);
  add("audited", r.audited.mode, `file operations on audited paths ${r.audited.paths.length > 0 ? r.audited.paths.join(", ") : "(no paths listed)"}`);
  add("privilege", r.privilege.mode, "running setuid/setgid executables and setuid/setgid/capset calls");

  const lines: string[] = [`Policy "${r.name}"${r.description !== undefined ? `: ${r.description}` : ""}`, ""];
  for (const s of ["blocked", "later", "audited", "unenforced", "off"] as const) {
    if (sections[s].length === 0) continue;
    lines.push(HEADINGS[s], ...sections[s].map((t) => `  - ${t}`), "");
  }
  lines.push("Allowed:", "  - everything not matched above" + (effectiveMode(r.drift.mode, options).mode !== "off" && r.drift.source === "manifest" ? " (executables of the image run freely)" : ""), "");
  lines.push(
    "Other settings:",
    `  - fail mode ${r.failMode}: ${r.failMode === "closed" ? "the workload does not start when protection is unavailable (exit 125)" : "the workload runs UNPROTECTED when protection is unavailable (an enforcer.degraded event says so)"}`,
    `  - activation ${r.activation.mode}: ${r.activation.mode === "always" ? "protect wherever the image runs" : "protect only on a recognised serverless platform (ECS/EKS Fargate, ACI, Cloud Run)"}`,
    `  - dormant when ${[...r.activation.dormantWhen.env.map((e) => `env ${e}`), ...r.activation.dormantWhen.paths.map((p) => `${p} exists`)].join(" or ") || "never"}`,
    `  - report every allowed exec (learn mode): ${r.reportExecs ? "yes" : "no"}`,
  );
  if (sections.unenforced.length > 0)
    lines.push("", "Controls under \"NOT enforced\" compile only with --allow-unenforced when the policy sets them; defaults are noted.");
  return `${lines.join("\n")}\n`;
}

function listText(names: string[], paths: string[], sha256: string[]): string {
  const parts: string[] = [];
  if (names.length > 0) parts.push(`names ${abbreviate(names)}`);
  if (paths.length > 0) parts.push(`paths ${abbreviate(paths)}`);
  if (sha256.length > 0) parts.push(`${sha256.length} sha256 hash${sha256.length === 1 ? "" : "es"}`);
  return parts.length > 0 ? parts.join("; ") : "empty";
}

function abbreviate(xs: readonly string[], max = 8): string {
  return xs.length <= max ? xs.join(", ") : `${xs.slice(0, max).join(", ")}, and ${xs.length - max} more`;
}

function ruleText(rule: NetworkRule): string {
  const ports = rule.ports && rule.ports.length > 0 ? ` port ${rule.ports.join(",")}` : "";
  const proto = rule.protocol && rule.protocol !== "any" ? ` (${rule.protocol.toUpperCase()} only)` : "";
  return `${rule.cidr}${ports}${proto}`;
}

/** `8080`, or `53 (UDP only)` for a protocol-limited entry. */
function listenText(entry: ListenPort): string {
  if (typeof entry !== "object") return String(entry);
  const proto = entry.protocol !== "any" ? ` (${entry.protocol.toUpperCase()} only)` : "";
  return `${entry.ports.join(",")}${proto}`;
}

function networkText(allow: NetworkRule[], block: NetworkRule[], dflt: "audit" | "block"): string {
  const parts: string[] = [];
  if (block.length > 0) parts.push(`blocked to ${block.map(ruleText).join(", ")}`);
  if (allow.length > 0) parts.push(`allowed to ${allow.map(ruleText).join(", ")}`);
  parts.push(`anything else: ${dflt}`);
  return `(${parts.join("; ")})`;
}
