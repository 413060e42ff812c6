/**
 * Errors about a policy document. Each problem names the file, the 1-based line and column, the
 * field path and what would be valid, so a person can fix it without reading the schema.
 * @module
 */

/** One thing wrong with a policy, at one place. */
export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted field path, e.g. `spec.executables.drift.mode` (empty for the document itself). */
  field: string;
  message: string;
}

/** Formats a problem as `FILE:LINE:COL: FIELD: MESSAGE`. */
export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.field === "" ? "" : `${p.field}: `}${p.message}`;
}

/** Formats a field path: `spec.network.outbound.allow[2].cidr`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** A policy that cannot be read: every problem found, in document order. */
/**
 * Problems spelled out in a message; the rest are counted. A document of thousands of duplicate
 * keys would otherwise give a message (and a console answer) as large as itself.
 */
const MAX_PROBLEMS_SHOWN = 50;

export class PolicyError extends Error {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[], options?: { cause?: unknown }) {
    const first = problems[0];
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
    if (problems.length > MAX_PROBLEMS_SHOWN) shown.push(`… and ${problems.length - MAX_PROBLEMS_SHOWN} more (fix the ones above and check again)`);
    super(`Cannot read policy ${first?.file ?? "(unknown)"}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n` + shown.join("\n"), options);
    this.name = "PolicyError";
    this.problems = problems;
  }
}
