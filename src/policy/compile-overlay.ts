/**
 * Compiles a policy document into a policy overlay (docs/bundle-format.md, "Policy overlay"):
 * what the console stores beside each policy version and serves to enforcers, which merge it
 * into the bundle baked into their image. Refusals name file, line, column and field.
 * @module
 */
import type { BundleSpec } from "../bundle/bundle-spec.js";
import { policyOverlayId, writePolicyOverlay } from "../bundle/write-policy-overlay.js";
import { PolicyCompileError, planPolicy, withRemedy, type CompileFinding } from "./compile-policy.js";
import type { LoadedPolicy } from "./load-policy.js";
import type { MinerList } from "./miner-list.js";
import { formatFieldPath, formatProblem } from "./policy-error.js";

/** A compiled overlay. */
export interface CompiledOverlay {
  /** The overlay bytes (`inlay-policy 1` … `end`). */
  overlay: Buffer;
  /** `sha256:` and the hex SHA-256 of `overlay`. */
  overlayId: string;
  spec: BundleSpec;
  /** Findings that did not refuse the policy (defaulted controls this enforcer cannot express). */
  findings: CompileFinding[];
}

/**
 * Compiles a parsed policy for the console. Pure.
 * @param loaded a policy from `parsePolicy` (its source gives the positions in messages)
 * @param options.allowUnenforced accept explicitly requested controls the overlay cannot carry
 * @throws PolicyCompileError "Cannot compile policy NAME as a console policy:" and one
 *   `FILE:LINE:COL: FIELD: problem; remedy` line per refusal (e.g. `afterDaysFromBuild`)
 */
export function compilePolicyOverlay(loaded: LoadedPolicy, options: { allowUnenforced?: boolean; minerList?: MinerList } = {}): CompiledOverlay {
  const { policy, source } = loaded;
  const { spec, findings } = planPolicy(policy, { target: "overlay", ...(options.minerList ? { minerList: options.minerList } : {}) });
  const refused = findings.filter((f) => f.kind === "invalid" || (f.kind === "unenforced" && f.explicit && options.allowUnenforced !== true));
  const heading = `Cannot compile policy ${policy.metadata.name} as a console policy`;
  if (refused.length > 0) {
    const lines = refused.map((f) => {
      const at = source.locate(f.path);
      return formatProblem({ file: source.file, line: at.line, col: at.col, field: formatFieldPath(f.path), message: withRemedy(f) });
    });
    throw new PolicyCompileError(`${heading}:\n${lines.join("\n")}`, refused);
  }
  let overlay: Buffer;
  try {
    overlay = writePolicyOverlay(spec);
  } catch (err) {
    throw new PolicyCompileError(`${heading}: ${(err as Error).message}`, []);
  }
  return { overlay, overlayId: policyOverlayId(overlay), spec, findings: findings.filter((f) => !refused.includes(f)) };
}
