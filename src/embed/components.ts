/**
 * The bundle builders `inlay embed` can use: the policy compiler (`--policy FILE`, or the default
 * policy), or a fixed spec (`--bundle-spec`). Each compiles per platform, because the bundle
 * carries that platform's executable manifest.
 * @module
 */
import type { BundleSpec } from "../bundle/bundle-spec.js";
import { writeBundle } from "../bundle/write-bundle.js";
import { planPolicy } from "../policy/compile-policy.js";
import type { LoadedPolicy } from "../policy/load-policy.js";
import { reportFindings } from "../policy/report-findings.js";
import type { BundleBuilder } from "./embed-image.js";

/** The compiler refused the policy for one platform; `refusals` are the lines to show. */
export class PolicyRefusedError extends Error {
  readonly refusals: string[];
  constructor(message: string, refusals: string[]) {
    super(message);
    this.name = "PolicyRefusedError";
    this.refusals = refusals;
  }
}

/**
 * Compiles `loaded` once per platform with that platform's manifest; warnings and notes go to
 * `warn` (printed once each), refusals throw {@link PolicyRefusedError}.
 */
export function policyBundleBuilder(loaded: LoadedPolicy, opts: { buildTime: Date; allowUnenforced: boolean; warn: (line: string) => void }): BundleBuilder {
  const said = new Set<string>();
  return (manifest, platform) => {
    const { spec, findings } = planPolicy(loaded.policy, { buildTime: opts.buildTime, manifest });
    const report = reportFindings(loaded.source, findings, { allowUnenforced: opts.allowUnenforced });
    if (report.refusals.length > 0) {
      throw new PolicyRefusedError(`Cannot compile policy ${loaded.source.file} for ${platform}:\n${report.refusals.join("\n")}`, report.refusals);
    }
    for (const line of [...report.warnings, ...report.notes]) {
      if (!said.has(line)) {
        said.add(line);
        opts.warn(line);
      }
    }
    return writeBundle(spec);
  };
}

/** Uses a fixed spec, replacing its manifest per platform. */
export function specBundleBuilder(spec: BundleSpec): BundleBuilder {
  return (manifest) => writeBundle({ ...spec, manifest });
}
