/**
 * Reads policy text (YAML, or JSON when the file name ends in `.json`) into a plain value that
 * remembers where each field came from, so later errors can name the line and column.
 * @module
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { PolicyError, type PolicyProblem } from "./policy-error.js";

/** A 1-based line and column. */
export interface SourcePosition {
  line: number;
  col: number;
}

/** A parsed document and the way back from a field path to its place in the text. */
export interface PolicySource {
  file: string;
  value: unknown;
  /**
   * Where a field is. A path that does not exist points at the nearest enclosing node that does
   * (a missing field is reported at the object that should hold it).
   * @param options.key point at the key of the last segment rather than its value
   */
  locate(path: readonly PropertyKey[], options?: { key?: boolean }): SourcePosition;
  /** True when every segment of the path exists in the document. */
  has(path: readonly PropertyKey[]): boolean;
}

export const MAX_POLICY_BYTES = 4 * 1024 * 1024;
/**
 * The yaml package parses recursively: a few thousand nested levels exhaust the stack, and in a
 * server, where the stack is already deep, V8 then aborted the whole process instead of throwing.
 * A policy nests a handful of levels.
 */
const MAX_NESTING = 100;

/**
 * Parses policy text.
 * @param text the file's content
 * @param options.file the name used in error messages
 * @param options.format `json` or `yaml`; default: `json` when the file name ends in `.json`
 * @throws PolicyError with a position for syntax errors, duplicate keys, several documents or size
 */
export function parsePolicySource(text: string, options: { file: string; format?: "json" | "yaml" }): PolicySource {
  const file = options.file;
  // A UTF-8 byte-order mark is not content: drop it so JSON parses and columns stay visible ones.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const format = options.format ?? (file.toLowerCase().endsWith(".json") ? "json" : "yaml");
  const fail = (line: number, col: number, message: string): never => {
    throw new PolicyError([{ file, line, col, field: "", message }]);
  };
  if (Buffer.byteLength(text, "utf8") > MAX_POLICY_BYTES) fail(1, 1, `the file is larger than ${MAX_POLICY_BYTES} bytes; a policy is a few kilobytes`);
  if (text.includes("\0")) {
    const at = positionOf(text, text.indexOf("\0"));
    fail(at.line, at.col, "a NUL byte; a policy is UTF-8 text");
  }
  const deep = format === "json" ? deepJsonOffset(text) : deepYamlOffset(text);
  if (deep !== null) {
    const at = positionOf(text, deep);
    fail(at.line, at.col, `nesting deeper than ${MAX_NESTING} levels; a policy needs a handful`);
  }
  if (format === "json") checkJsonSyntax(text, fail);

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: "1.2" });
  const problems: PolicyProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = e.linePos?.[0] ?? lineCounter.linePos(e.pos[0]);
    const msg =
      e.code === "MULTIPLE_DOCS"
        ? "a second document; a policy file holds exactly one"
        : e.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? e.code;
    problems.push({ file, line: pos.line, col: pos.col, field: "", message: `${format === "json" ? "JSON" : "YAML"}: ${msg}` });
  }
  if (problems.length > 0) throw new PolicyError(problems);
  if (doc.contents === null) fail(1, 1, "the document is empty; a policy starts with apiVersion: inlay.dev/v1");
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // The yaml package refuses alias expansion beyond the limit (a "billion laughs" document).
    throw new PolicyError([{ file, line: 1, col: 1, field: "", message: `YAML: aliases expand too far (${(err as Error).message}); a policy needs no more than 100` }], { cause: err });
  }
  return {
    file,
    value,
    locate: (path, opts) => locateNode(doc, lineCounter, path, opts?.key ?? false),
    has: (path) => findNode(doc, path).missing === 0,
  };
}

function positionOf(text: string, offset: number): SourcePosition {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, col: offset - start + 1 };
}

/**
 * Where YAML text first nests deeper than MAX_NESTING, or null. It over-estimates on purpose, as it
 * must never miss depth the parser would see: flow brackets count everywhere but in comments
 * (inside quotes they are text, and balanced ones cancel out), block levels count by indentation
 * steps, and outside flow collections every `- `, `? ` and `: ` indicator on a line counts as one
 * more level (inside `{…}` a `: ` separates a key from its value, it does not nest).
 */
function deepYamlOffset(text: string): number | null {
  const indents: number[] = [];
  let flow = 0;
  for (let start = 0; start < text.length; ) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    let i = start;
    while (text.charCodeAt(i) === 32) i++;
    if (i < end && text[i] !== "#" && text[i] !== "\r") {
      while (indents.length > 0 && indents.at(-1)! >= i - start) indents.pop();
      indents.push(i - start);
      let inline = 0;
      for (; i < end; i++) {
        const ch = text[i];
        const prev = i === start ? " " : text[i - 1];
        // Only a '#' after white space starts a comment; anything after it is invisible to the parser.
        if (ch === "#" && (prev === " " || prev === "\t")) break;
        if (ch === "[" || ch === "{") flow++;
        else if ((ch === "]" || ch === "}") && flow > 0) flow--;
        else if (flow === 0 && (ch === "-" || ch === "?" || ch === ":") && (i + 1 === end || " \t\r".includes(text[i + 1]!))) inline++;
        if (indents.length + inline + flow > MAX_NESTING) return i;
      }
    }
    start = end + 1;
  }
  return null;
}

/** Where JSON text first nests deeper than MAX_NESTING (brackets outside strings), or null. */
function deepJsonOffset(text: string): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > MAX_NESTING) return i;
    } else if (ch === 0x5d || ch === 0x7d) {
      depth--;
    }
  }
  return null;
}

/** JSON is stricter than YAML's flow style (no comments, no unquoted keys): check it as JSON first. */
function checkJsonSyntax(text: string, fail: (line: number, col: number, message: string) => never): void {
  try {
    JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = /at position (\d+)/.exec(message);
    const offset = m ? Number(m[1]) : text.trimEnd().length;
    const at = positionOf(text, offset);
    fail(at.line, at.col, `JSON: ${message.replace(/ in JSON at position \d+.*$/, "").replace(/ \(line \d+ column \d+\)$/, "")}`);
  }
}

function findNode(doc: Document, path: readonly PropertyKey[]): { node: Node | null; keyNode: Node | null; missing: number } {
  let node = doc.contents as Node | null;
  let keyNode: Node | null = null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node, keyNode: null, missing: path.length - i };
      keyNode = (pair.key as Node | null) ?? null;
      node = (pair.value as Node | null) ?? keyNode;
    } else if (isSeq(node) && typeof seg === "number" && node.items[seg] !== undefined) {
      keyNode = null;
      node = node.items[seg] as Node;
    } else {
      return { node, keyNode: null, missing: path.length - i };
    }
  }
  return { node, keyNode, missing: 0 };
}

function locateNode(doc: Document, lc: LineCounter, path: readonly PropertyKey[], key: boolean): SourcePosition {
  const found = findNode(doc, path);
  const target = key && found.missing === 0 && found.keyNode ? found.keyNode : found.node;
  const offset = target?.range?.[0] ?? 0;
  return lc.linePos(offset);
}
