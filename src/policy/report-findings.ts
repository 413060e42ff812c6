/**
 * Turns compile findings into what a person reads: refusals (with file:line:col), loud warnings
 * for controls built without enforcement, and notes about defaults. Shared by `inlay policy` and
 * `inlay embed --policy`, so both say the same thing about the same policy.
 * @module
 */
import { withRemedy, type CompileFinding } from "./compile-policy.js";
import type { PolicySource } from "./policy-source.js";

/** Findings rendered as lines, grouped by what the caller must do with them. */
export interface FindingReport {
  /** Non-empty: the policy must not be compiled; each line names where and what to do. */
  refusals: string[];
  /** `WARNING: NOT ENFORCED ...`: explicit controls built anyway under allowUnenforced. */
  warnings: string[];
  /** Defaults that are not enforced yet, and other remarks. */
  notes: string[];
}

/**
 * Renders findings against the source they came from. Pure.
 * @param options.allowUnenforced explicitly requested unenforced controls become warnings, not refusals
 */
export function reportFindings(source: PolicySource, findings: readonly CompileFinding[], options: { allowUnenforced: boolean }): FindingReport {
  const where = (f: CompileFinding): string => {
    if (!source.has(f.path)) return `${source.file}: ${f.path.join(".")} (default)`;
    const pos = source.locate(f.path, { key: true });
    return `${source.file}:${pos.line}:${pos.col}: ${f.path.join(".")}`;
  };
  const report: FindingReport = { refusals: [], warnings: [], notes: [] };
  const defaulted: string[] = [];
  // Document order: findings at a written field first, sorted by position; defaults after.
  const rank = (f: CompileFinding): number => {
    if (!source.has(f.path)) return Number.MAX_SAFE_INTEGER;
    const pos = source.locate(f.path, { key: true });
    return pos.line * 1_000_000 + pos.col;
  };
  const ordered = [...findings].sort((a, b) => rank(a) - rank(b));
  for (const f of ordered) {
    if (f.kind === "invalid" || (f.explicit && !options.allowUnenforced)) report.refusals.push(`${where(f)}: ${withRemedy(f)}`);
    else if (f.explicit) report.warnings.push(`WARNING: NOT ENFORCED (--allow-unenforced): ${where(f)}: ${f.message}`);
    else if (f.reason === "not-supported") defaulted.push(`${f.path.slice(1).join(".")} (${f.mode ?? "on"})`);
    else report.notes.push(`note: ${where(f)}: ${withRemedy(f)}`);
  }
  if (defaulted.length > 0) {
    report.notes.push(
      `note: ${source.file}: defaults not enforced by this enforcer version yet: ${defaulted.join(", ")} (inlay policy explain says what they would do)`,
    );
  }
  return report;
}
