import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy } from "./load-policy.js";
import { formatProblem, PolicyError } from "./policy-error.js";

/** The problems of an invalid policy, formatted `file:line:col: field: message`. */
function problems(text: string, file = "p.yaml"): string[] {
  try {
    parsePolicy(text, { file });
  } catch (err) {
    assert.ok(err instanceof PolicyError, `expected a PolicyError, got ${String(err)}`);
    return err.problems.map(formatProblem);
  }
  assert.fail("the policy was accepted");
}

const HEAD = "apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: web\n";

test("a minimal policy is valid and every control is optional", () => {
  const { policy } = parsePolicy(`${HEAD}spec: {}\n`, { file: "p.yaml" });
  assert.equal(policy.metadata.name, "web");
  assert.deepEqual(policy.spec, {});
});

test("every mode form is accepted", () => {
  const { policy } = parsePolicy(
    `${HEAD}spec:
  executables:
    drift: {mode: "off"}
    fileless: {mode: audit}
    loader: {mode: enforce}
    block: {mode: {enforce: {after: "2026-12-31T00:00:00Z"}}}
    allow: {mode: {enforce: {afterDaysFromBuild: 14}}, names: [node]}
`,
    { file: "p.yaml" },
  );
  const ex = policy.spec.executables!;
  assert.equal(ex.drift!.mode, "off");
  assert.equal(ex.fileless!.mode, "audit");
  assert.equal(ex.loader!.mode, "enforce");
  assert.deepEqual(ex.block!.mode, { enforce: { after: "2026-12-31T00:00:00Z" } });
  assert.deepEqual(ex.allow!.mode, { enforce: { afterDaysFromBuild: 14 } });
});

test("wrong values are reported at their exact line and column with what is valid", () => {
  const text = `${HEAD}spec:
  executables:
    drift:
      mode: enforced
    block:
      mode: {enforce: {after: "tomorrow"}}
      names: [nc, "/bin/sh"]
      sha256: [ABC]
  network:
    outbound:
      mode: audit
      allow:
        - cidr: 10.0.0.0/33
          ports: [443, "9000-8000", 70000]
  privilege: {mode: enforce}
`;
  assert.deepEqual(problems(text), [
    'p.yaml:8:13: spec.executables.drift.mode: is "enforced"; expected one of off, audit, enforce, {enforce: {after: "<ISO 8601 date-time>"}} or {enforce: {afterDaysFromBuild: <days>}}',
    'p.yaml:10:31: spec.executables.block.mode.enforce.after: is "tomorrow"; expected an ISO 8601 date-time with a zone, e.g. "2026-12-31T00:00:00Z"',
    "p.yaml:11:19: spec.executables.block.names[1]: is \"/bin/sh\"; expected a file name without '/' or NUL, e.g. \"nc\" (use paths for globs)",
    "p.yaml:12:16: spec.executables.block.sha256[0]: is \"ABC\"; expected 64 lower-case hex digits (a SHA-256 of the file's content)",
    'p.yaml:17:17: spec.network.outbound.allow[0].cidr: is "10.0.0.0/33"; expected a CIDR such as "10.0.0.0/8" or "2001:db8::/32" (address/prefix)',
    'p.yaml:18:24: spec.network.outbound.allow[0].ports[1]: is "9000-8000"; expected a port range "LOW-HIGH" with 1 <= LOW <= HIGH <= 65535',
    "p.yaml:18:37: spec.network.outbound.allow[0].ports[2]: is number 70000; expected a port number from 1 to 65535",
    'p.yaml:19:21: spec.privilege.mode: is "enforce"; expected off or audit (this control only reports)',
  ]);
});

test("unknown fields are errors at the key, at every level, naming the valid fields", () => {
  const text = `apiVersion: inlay.dev/v1
kind: RuntimePolicy
metadata:
  name: web
  owner: me
spec:
  executables:
    drift:
      mode: enforce
      colour: red
  netwrok: {}
extra: 1
`;
  assert.deepEqual(problems(text), [
    'p.yaml:5:3: metadata.owner: unknown field "owner"; valid fields here: name, description',
    'p.yaml:10:7: spec.executables.drift.colour: unknown field "colour"; valid fields here: mode, source, pathStrict',
    'p.yaml:11:3: spec.netwrok: unknown field "netwrok"; valid fields here: failMode, activation, reportExecs, executables, reverseShell, miners, network, files, packageManagers, privilege',
    'p.yaml:12:1: extra: unknown field "extra"; valid fields here: apiVersion, kind, metadata, spec',
  ]);
});

test("missing fields are reported at the mapping that should hold them", () => {
  assert.deepEqual(problems(`apiVersion: inlay.dev/v2\nkind: RuntimePolicy\nmetadata: {}\n`), [
    'p.yaml:1:13: apiVersion: is "inlay.dev/v2"; expected "inlay.dev/v1"',
    "p.yaml:1:1: spec: is required; expected a mapping",
    "p.yaml:3:11: metadata.name: is required; expected a name of letters, digits, '.', '_' or '-' (at most 128)",
  ].sort(byPosition));
  assert.deepEqual(problems(`${HEAD}spec:\n  executables:\n    allow: {names: [node]}\n`), [
    'p.yaml:7:12: spec.executables.allow.mode: is required; expected one of off, audit, enforce, {enforce: {after: "<ISO 8601 date-time>"}} or {enforce: {afterDaysFromBuild: <days>}}',
  ]);
});

test("audit-first modes validate their date and day count", () => {
  assert.deepEqual(
    problems(`${HEAD}spec:
  executables:
    fileless: {mode: {enforce: {afterDaysFromBuild: -1}}}
    loader: {mode: {enforce: {afterDaysFromBuild: 1.5}}}
    drift: {mode: {enforce: {after: "2026-12-31"}}}
    block: {mode: {enforce: {later: true}}}
`),
    [
      "p.yaml:7:53: spec.executables.fileless.mode.enforce.afterDaysFromBuild: is number -1; expected a whole number of days from 0 to 3650",
      "p.yaml:8:51: spec.executables.loader.mode.enforce.afterDaysFromBuild: is number 1.5; expected a whole number of days from 0 to 3650",
      'p.yaml:9:37: spec.executables.drift.mode.enforce.after: is "2026-12-31"; expected an ISO 8601 date-time with a zone, e.g. "2026-12-31T00:00:00Z"',
      'p.yaml:10:29: spec.executables.block.mode.enforce: is a mapping; expected {after: "<ISO 8601 date-time>"} or {afterDaysFromBuild: <days>}',
    ],
  );
});

test("JSON policies get positions too, for schema and syntax errors", () => {
  const json = `{
  "apiVersion": "inlay.dev/v1",
  "kind": "RuntimePolicy",
  "metadata": {"name": "web"},
  "spec": {"executables": {"drift": {"mode": "sometimes"}}, "x": 1}
}
`;
  assert.deepEqual(problems(json, "p.json"), [
    'p.json:5:46: spec.executables.drift.mode: is "sometimes"; expected one of off, audit, enforce, {enforce: {after: "<ISO 8601 date-time>"}} or {enforce: {afterDaysFromBuild: <days>}}',
    'p.json:5:61: spec.x: unknown field "x"; valid fields here: failMode, activation, reportExecs, executables, reverseShell, miners, network, files, packageManagers, privilege',
  ]);
  assert.deepEqual(problems('{\n  "apiVersion": "inlay.dev/v1",\n}\n', "p.json"), ["p.json:3:1: JSON: Expected double-quoted property name"]);
  assert.deepEqual(problems('{\n  "a": 1\n', "p.json"), ["p.json:3:1: JSON: Expected ',' or '}' after property value"]);
  // JSON allows duplicate keys and takes the last: a policy must not be ambiguous.
  assert.deepEqual(problems('{"kind": "a",\n "kind": "b"}', "p.json"), ["p.json:2:2: JSON: Map keys must be unique"]);
});

test("YAML syntax errors, duplicate keys, several documents and empty files are positioned", () => {
  assert.deepEqual(problems("a: 1\na: 2\n"), ["p.yaml:2:1: YAML: Map keys must be unique"]);
  assert.deepEqual(problems("a: 1\n---\nb: 2\n"), ["p.yaml:2:1: YAML: a second document; a policy file holds exactly one"]);
  assert.deepEqual(problems("a: [1\n"), ["p.yaml:2:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]"]);
  assert.deepEqual(problems("# nothing\n"), ["p.yaml:1:1: the document is empty; a policy starts with apiVersion: inlay.dev/v1"]);
  assert.deepEqual(problems("a: 1\nb: \0\n"), ["p.yaml:2:4: a NUL byte; a policy is UTF-8 text"]);
});

test("YAML 1.2: off, on, yes and unquoted dates stay strings", () => {
  const { policy } = parsePolicy(`${HEAD}spec:\n  executables:\n    allow: {mode: off, names: [yes, on]}\n    block: {mode: {enforce: {after: 2026-12-31T00:00:00Z}}}\n`, { file: "p.yaml" });
  assert.equal(policy.spec.executables!.allow!.mode, "off");
  assert.deepEqual(policy.spec.executables!.allow!.names, ["yes", "on"]);
  assert.deepEqual(policy.spec.executables!.block!.mode, { enforce: { after: "2026-12-31T00:00:00Z" } });
});

function byPosition(a: string, b: string): number {
  const pa = /:(\d+):(\d+):/.exec(a)!;
  const pb = /:(\d+):(\d+):/.exec(b)!;
  return Number(pa[1]) - Number(pb[1]) || Number(pa[2]) - Number(pb[2]);
}

test("paths that would not fit a bundle line once percent-encoded are refused", () => {
  const long = `/${"é".repeat(700)}`; // 1401 bytes, 4201 once encoded
  assert.deepEqual(problems(`${HEAD}spec:\n  executables:\n    block: {mode: audit, paths: ["${long}"]}\n`), [
    `p.yaml:7:34: spec.executables.block.paths[0]: is "${long.slice(0, 57)}..."; expected at most 4096 bytes once percent-encoded for the bundle`,
  ]);
  assert.deepEqual(problems(`${HEAD}spec:\n  activation: {dormantWhen: {paths: ["relative/x"]}}\n`), [
    "p.yaml:6:38: spec.activation.dormantWhen.paths[0]: is \"relative/x\"; expected an absolute path starting with '/', e.g. \"/run/inlay-host.sock\"",
  ]);
});

test("an alias bomb is refused, not expanded", () => {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (let i = 0, prev = "a"; i < 12; prev = `b${i}`, i++) lines.push(`b${i}: &b${i} [${Array(8).fill(`*${prev}`).join(", ")}]`);
  const out = problems(lines.join("\n"));
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^p\.yaml:1:1: YAML: aliases expand too far \(.*\); a policy needs no more than 100$/);
});

test("a UTF-8 byte-order mark is ignored, in YAML and JSON", () => {
  assert.equal(parsePolicy(`\uFEFF${HEAD}spec: {}\n`, { file: "p.yaml" }).policy.metadata.name, "web");
  const json = '\uFEFF{"apiVersion": "inlay.dev/v1", "kind": "RuntimePolicy", "metadata": {"name": "j"}, "spec": {"failMode": 1}}';
  assert.deepEqual(problems(json, "p.json"), ["p.json:1:105: spec.failMode: is number 1; expected closed (refuse to start without protection) or open"]);
});

test("deep nesting is refused before the recursive YAML parser sees it", () => {
  for (const deep of ["[".repeat(5000), "a: " + "{b: ".repeat(150) + "1" + "}".repeat(150), "- ".repeat(5000) + "x\n", ": ".repeat(3000) + "x\n", "? ".repeat(3000) + "x\n"]) {
    const out = problems(deep);
    assert.equal(out.length, 1);
    assert.match(out[0]!, /^p\.yaml:1:\d+: nesting deeper than 100 levels; a policy needs a handful$/);
  }
  const indented = Array.from({ length: 150 }, (_, i) => `${" ".repeat(i)}a:`).join("\n");
  assert.match(problems(indented)[0]!, /^p\.yaml:100:101: nesting deeper than 100 levels/);
  // Brackets in comments and balanced ones in strings are not nesting.
  const { policy } = parsePolicy(`${HEAD}# ${"[".repeat(200)}\nspec:\n  executables:\n    block: {mode: audit, names: ["${"[a]".repeat(80)}"]}\n`, { file: "p.yaml" });
  assert.equal(policy.spec.executables!.block!.names![0], "[a]".repeat(80));
  // Key-value separators do not nest: one-line flow YAML and JSON written with ": " (as Python's
  // json.dumps writes it) with hundreds of keys are accepted; deep JSON is refused.
  const names = Array.from({ length: 150 }, (_, i) => `"n${i}": ${i}`).join(", ");
  const flowYaml = `${HEAD}spec: {failMode: closed}\nx-extra: {${names}}\n`;
  assert.match(problems(flowYaml).join("\n"), /x-extra/, "refused for the unknown field, not for nesting");
  assert.doesNotMatch(problems(flowYaml).join("\n"), /nesting/);
  const json = `{"apiVersion": "inlay.dev/v1", "kind": "RuntimePolicy", "metadata": {"name": "j"}, "spec": {"failMode": "closed"}, "x": {${names}}}`;
  assert.doesNotMatch(problems(json, "p.json").join("\n"), /nesting/);
  assert.match(problems(`{"a": ${"[".repeat(150)}${"]".repeat(150)}}`, "p.json")[0]!, /^p\.json:1:\d+: nesting deeper than 100 levels/);
  assert.doesNotMatch(problems(`{"a": "${"[{".repeat(150)}"}`, "p.json").join("\n"), /nesting/, "brackets in a JSON string are text");
});

test("a message lists the first 50 problems and counts the rest; every problem stays on the error", () => {
  const text = `${HEAD}spec:\n${Array.from({ length: 120 }, (_, i) => `  unknown${i}: 1`).join("\n")}\n`;
  let caught: PolicyError | undefined;
  try {
    parsePolicy(text, { file: "p.yaml" });
  } catch (err) {
    caught = err as PolicyError;
  }
  assert.ok(caught instanceof PolicyError);
  assert.equal(caught.problems.length, 120);
  const lines = caught.message.split("\n");
  assert.equal(lines[0], "Cannot read policy p.yaml: 120 problems");
  assert.equal(lines.length, 1 + 50 + 1);
  assert.equal(lines.at(-1), "… and 70 more (fix the ones above and check again)");
});
