/**
 * Turns policy text into a validated {@link Policy}: syntax first (with positions), then the
 * schema, every zod issue translated into a problem that names file, line, column, field and
 * what would be valid.
 * @module
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { formatFieldPath, PolicyError, type PolicyProblem } from "./policy-error.js";
import { parsePolicySource, type PolicySource } from "./policy-source.js";
import { policySchema, type Policy } from "./policy-schema.js";

/** A validated policy and the source it came from (for positions in later messages). */
export interface LoadedPolicy {
  policy: Policy;
  source: PolicySource;
}

/**
 * Parses and validates policy text.
 * @param text the document (YAML, or JSON when `file` ends in `.json`)
 * @param options.file name used in messages
 * @throws PolicyError listing every problem, in document order
 */
export function parsePolicy(text: string, options: { file: string; format?: "json" | "yaml" }): LoadedPolicy {
  const source = parsePolicySource(text, options);
  const result = policySchema.safeParse(source.value);
  if (result.success) return { policy: result.data, source };
  const problems = result.error.issues.flatMap((issue) => issueToProblems(issue, [], source.value, source));
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const k = `${p.line}:${p.col}:${p.field}:${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => a.line - b.line || a.col - b.col);
  throw new PolicyError(unique);
}

/**
 * Reads and validates a policy file.
 * @throws PolicyError for invalid content; an Error with `{ cause }` when the file cannot be read
 */
export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`Cannot read policy ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parsePolicy(text, { file: path });
}

type Issue = z.core.$ZodIssue;

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg as string];
  }
  return v;
}

const EXPECTED_WORDS: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  boolean: "true or false",
};

/** How the value found at a field reads in a message: "is required", "is "x"". */
function describe(v: unknown): string {
  if (v === undefined) return "is required";
  return `is ${describeValue(v)}`;
}

function describeValue(v: unknown): string {
  if (v === null) return "empty (null)";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `"${v.length > 60 ? `${v.slice(0, 57)}...` : v}"`;
  return `${typeof v} ${String(v)}`;
}

function issueToProblems(issue: Issue, prefix: readonly PropertyKey[], root: unknown, source: PolicySource): PolicyProblem[] {
  const path = [...prefix, ...issue.path];
  const field = formatFieldPath(path);
  const at = (p: readonly PropertyKey[], key = false) => source.locate(p, { key });
  const problem = (p: readonly PropertyKey[], f: string, message: string, key = false): PolicyProblem => {
    const pos = at(p, key);
    return { file: source.file, line: pos.line, col: pos.col, field: f, message };
  };
  const actual = valueAt(root, path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = knownKeys(path);
      return issue.keys.map((k) =>
        problem([...path, k], formatFieldPath([...path, k]), `unknown field "${k}"; valid fields here: ${allowed.join(", ")}`, true),
      );
    }
    case "invalid_union": {
      // Report the alternative that got furthest into the value (a mapping gets the mapping
      // alternative's own errors); otherwise the union's summary of what is valid.
      const deep = issue.errors.filter((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0));
      if (deep.length === 1 && typeof actual === "object" && actual !== null) {
        return deep[0]!.flatMap((e) => issueToProblems(e, path, root, source));
      }
      return [problem(path, field, `${describe(actual)}; ${issue.message}`)];
    }
    case "invalid_type": {
      // zod's own wording ("Invalid input: expected object") is replaced by the policy's words.
      const expected = issue.message.startsWith("Invalid input") ? `expected ${EXPECTED_WORDS[issue.expected] ?? issue.expected}` : issue.message;
      return [problem(path, field, `${describe(actual)}; ${expected}`)];
    }
    default:
      return [problem(path, field, `${describe(actual)}; ${issue.message}`)];
  }
}

/** The field names the schema accepts at a path (for "valid fields here"). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: unknown = policySchema;
  for (const seg of path) {
    schema = unwrap(schema);
    if (typeof seg === "number") {
      schema = schema instanceof z.ZodArray ? schema.element : undefined;
    } else if (schema instanceof z.ZodObject) {
      schema = (schema.shape as Record<string, unknown>)[seg as string];
    } else {
      return [];
    }
  }
  schema = unwrap(schema);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap();
  return s;
}
