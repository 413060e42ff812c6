import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { compilePolicy } from "./compile-policy.js";
import { parsePolicy } from "./load-policy.js";
import { Readable } from "node:stream";
import { escapeGlob, EventsFileError, MAX_EVENT_LINE_BYTES, suggestPolicy, suggestPolicyFromStream } from "./suggest-policy.js";

const FIXTURE = new URL("../../../test/fixtures/policy/learn-run.ndjson", import.meta.url);

test("suggest turns a learn-mode run into an allow list with the events each rule came from", async () => {
  const text = await readFile(FIXTURE, "utf8");
  const s = suggestPolicy(text, { file: "learn-run.ndjson" });
  assert.equal(s.events, 11);
  assert.equal(s.executables, 4);
  const { policy, source } = parsePolicy(s.yaml, { file: "suggested.yaml" });
  const allow = policy.spec.executables!.allow!;
  assert.equal(allow.mode, "audit");
  // Sorted; the script and its interpreter both ran; `[` is escaped for fnmatch.
  assert.deepEqual(allow.paths, ["/app/run.sh", "/bin/busybox", "/usr/bin/\\[", "/usr/bin/node"]);
  // Each rule is preceded by where it came from.
  const lines = s.yaml.split("\n");
  const node = lines.indexOf('        - "/usr/bin/node"');
  assert.equal(
    lines[node - 1],
    `        # seen 2 times (process.exec); first at line 3 (2026-11-28T22:40:02.000Z), sha256 ${"a".repeat(64)}`,
  );
  const bracket = lines.indexOf('        - "/usr/bin/\\\\["');
  assert.match(lines[bracket - 1]!, /^ {8}# seen 1 time \(exec\.not-allowed alert\); first at line 6 /);
  // Flagged activity is listed for review, never allowed.
  assert.match(s.yaml, /^#   \/tmp\/x: exec\.drift alert \(drift\.manifest\) at line 7: executed file is not in the image manifest$/m);
  assert.match(s.yaml, /^#   \/memfd:x \(deleted\): exec\.fileless alert/m);
  assert.ok(!allow.paths!.includes("/tmp/x"));
  // Network events, handled generically by kind.
  assert.deepEqual(policy.spec.network?.outbound?.allow, [{ cidr: "10.1.2.3/32", ports: [5432] }]);
  assert.deepEqual(policy.spec.network?.listen?.allowPorts, [8080]);
  assert.match(s.yaml, /^# Ignored event kinds: file\.write \(1\)$/m);
  assert.match(s.yaml, /^# 1 line that is not an event \(workload output\) was skipped\.$/m);
  assert.ok(source.has(["spec", "executables", "allow", "paths", 3]));
  // The suggestion compiles as it is, network part included.
  const spec = compilePolicy(policy, { buildTime: new Date(), manifest: [{ sha256: "a".repeat(64), path: "/usr/bin/node" }] });
  assert.ok(spec.network!.connect.some((r) => r.action === "allow" && r.cidr === "10.1.2.3/32" && r.ports === "5432"));
  assert.deepEqual(spec.allowList.pathGlobs, allow.paths);
  assert.equal(spec.controls.allowlist, "audit");
});

test("suggest --mode enforce and a name", async () => {
  const s = suggestPolicy(await readFile(FIXTURE, "utf8"), { file: "f", mode: "enforce", name: "api" });
  const { policy } = parsePolicy(s.yaml, { file: "s.yaml" });
  assert.equal(policy.spec.executables!.allow!.mode, "enforce");
  assert.equal(policy.metadata.name, "api");
});

test("a malformed event line is an error naming the file and line", () => {
  const good = '{"schema":1,"id":"6f1c0e2a9d3b4c5e8f7a6b5c4d3e2f10-1","time":"2026-11-28T22:40:01.123Z","kind":"process.exec","severity":"info","action":"allow","mode":"audit","rule":"","reason":"r","process":{"pid":2,"ppid":1,"uid":0,"exe":"/bin/sh","argv":["sh"],"argv_truncated":false},"enforcer":{"version":"0.1.0","pid":1,"instance":"6f1c0e2a9d3b4c5e8f7a6b5c4d3e2f10"},"bundle":"none"}';
  assert.equal(suggestPolicy(`${good}\n`, { file: "e.ndjson" }).executables, 1);
  assert.throws(
    () => suggestPolicy(`${good}\n{"schema":1,"id":"x"}\n`, { file: "e.ndjson" }),
    (err: unknown) => err instanceof EventsFileError && err.line === 2 && /^Cannot read events e\.ndjson:2: not a valid event: id: /.test(err.message),
  );
  assert.throws(() => suggestPolicy(`{"schema":1,\n`, { file: "e.ndjson" }), /^EventsFileError: Cannot read events e\.ndjson:1: not a valid event: Expected double-quoted property name/);
});

test("no exec activity is an error that says how to record some", () => {
  assert.throws(
    () => suggestPolicy("hello\n", { file: "e.ndjson" }),
    /Cannot suggest a policy from e\.ndjson: it holds no process\.exec or exec\.not-allowed events \(0 events read\); run the workload with spec\.reportExecs: true/,
  );
});

test("escapeGlob escapes fnmatch metacharacters only", () => {
  assert.equal(escapeGlob("/usr/bin/node"), "/usr/bin/node");
  assert.equal(escapeGlob("/a*b?c[d]\\e"), "/a\\*b\\?c\\[d]\\\\e");
});

test("suggest reads the enforcer's own network events (destination A:P and [V6]:P, listen port)", () => {
  const base = { schema: 1, time: "2026-11-28T22:40:00.000Z", severity: "low", action: "alert", mode: "audit", reason: "r", enforcer: { version: "0.1.0", pid: 1, instance: "a".repeat(32) }, bundle: "none" };
  const proc = { pid: 7, ppid: 1, uid: 0, exe: "/usr/bin/node", argv: ["node"], argv_truncated: false };
  const lines = [
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1", kind: "process.exec", action: "allow", mode: "none", rule: "", process: proc },
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-2", kind: "network.connect", rule: "network.default", process: proc, detail: { syscall: "connect", destination: "10.1.2.3:5432" } },
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3", kind: "network.connect", rule: "network.default", process: proc, detail: { syscall: "connect", destination: "[2001:db8::7]:443" } },
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-4", kind: "network.listen", rule: "network.listen", process: proc, detail: { syscall: "bind", port: 8080 } },
  ].map((e) => JSON.stringify(e));
  const s = suggestPolicy(`${lines.join("\n")}\n`, { file: "ev.ndjson" });
  const { policy } = parsePolicy(s.yaml, { file: "s.yaml" });
  assert.deepEqual(policy.spec.network?.outbound?.allow, [
    { cidr: "10.1.2.3/32", ports: [5432] },
    { cidr: "2001:db8::7/128", ports: [443] },
  ]);
  assert.deepEqual(policy.spec.network?.listen?.allowPorts, [8080]);
});

test("suggest keeps the protocol the enforcer's network events name", () => {
  const base = { schema: 1, time: "2026-11-28T22:40:00.000Z", severity: "low", action: "alert", mode: "audit", reason: "r", enforcer: { version: "0.1.0", pid: 1, instance: "a".repeat(32) }, bundle: "none" };
  const proc = { pid: 7, ppid: 1, uid: 0, exe: "/usr/bin/node", argv: ["node"], argv_truncated: false };
  const lines = [
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1", kind: "process.exec", action: "allow", mode: "none", rule: "", process: proc },
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-2", kind: "network.connect", rule: "network.default", process: proc, detail: { syscall: "sendto", destination: "10.0.0.2:53", protocol: "udp" } },
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-3", kind: "network.connect", rule: "network.default", process: proc, detail: { syscall: "connect", destination: "10.0.0.2:53", protocol: "tcp" } },
    { ...base, id: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-4", kind: "network.listen", rule: "network.listen", process: proc, detail: { syscall: "bind", port: 5353, protocol: "udp" } },
  ].map((e) => JSON.stringify(e));
  const { policy } = parsePolicy(suggestPolicy(`${lines.join("\n")}\n`, { file: "ev.ndjson" }).yaml, { file: "s.yaml" });
  assert.deepEqual(policy.spec.network?.outbound?.allow, [
    { cidr: "10.0.0.2/32", ports: [53], protocol: "tcp" },
    { cidr: "10.0.0.2/32", ports: [53], protocol: "udp" },
  ]);
  assert.deepEqual(policy.spec.network?.listen?.allowPorts, [{ ports: [5353], protocol: "udp" }]);
});

/** One process.exec event (line `seq`) for `exe`, plus optional overrides. */
function execEvent(seq: number, exe: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schema: 1, id: `${"a".repeat(32)}-${seq}`, time: "2026-11-28T22:40:00.000Z", kind: "process.exec", severity: "info", action: "allow", mode: "none",
    rule: "", reason: "r", process: { pid: 7, ppid: 1, uid: 0, exe, argv: ["x"], argv_truncated: false }, enforcer: { version: "0.1.0", pid: 1, instance: "a".repeat(32) }, bundle: "none", ...extra,
  });
}

test("suggest lists paths a policy cannot hold for review instead of producing an invalid policy", () => {
  const long = `/${"a".repeat(5000)}`;
  const lines = [
    execEvent(1, "/bin/sh"),
    execEvent(2, "/bin/a\u0000b"),
    execEvent(3, long),
    execEvent(4, "/tmp/x", { kind: "exec.drift", action: "alert", mode: "audit", rule: "drift.manifest", reason: "drifted\rmetadata: {name: evil}\u0000\u001b[2J" }),
  ];
  const s = suggestPolicy(`${lines.join("\n")}\n`, { file: "ev.ndjson" });
  const { policy } = parsePolicy(s.yaml, { file: "s.yaml" });
  assert.deepEqual(policy.spec.executables?.allow?.paths, ["/bin/sh"]);
  assert.equal(policy.metadata.name, "suggested");
  assert.match(s.yaml, /^#   \/bin\/a b: process\.exec at line 2 has a path a policy cannot hold/m);
  assert.match(s.yaml, /^#   \/a{199}\.\.\.: process\.exec at line 3 has a path a policy cannot hold/m);
  assert.match(s.yaml, /^#   \/tmp\/x: exec\.drift alert \(drift\.manifest\) at line 4: drifted metadata: \{name: evil\}  \[2J$/m);
  assert.doesNotMatch(s.yaml, /[\u0000\r\u001b]/, "no control character reaches the YAML");
});

test("a suggestion over the policy size limit is an error, not an invalid policy", () => {
  const lines = Array.from({ length: 60_000 }, (_, i) => execEvent(i + 1, `/usr/lib/app/${"d".repeat(40)}/tool-${i}`));
  assert.throws(
    () => suggestPolicy(`${lines.join("\n")}\n`, { file: "ev.ndjson" }),
    (err: unknown) => err instanceof EventsFileError && /^Cannot suggest a policy from ev\.ndjson: the 60000 executables and 0 endpoints seen make a policy of \d+ bytes, over the 4194304-byte limit/.test(err.message),
  );
});

test("suggest reads an events file that starts with a byte-order mark like one without", async () => {
  const text = await readFile(FIXTURE, "utf8");
  const plain = suggestPolicy(text, { file: "learn-run.ndjson" });
  const bom = suggestPolicy(`\uFEFF${text}`, { file: "learn-run.ndjson" });
  assert.equal(bom.events, plain.events);
  assert.equal(bom.yaml, plain.yaml);
});

test("suggest from a stream reads a line at a time and gives what the whole text gives", async () => {
  const text = await readFile(FIXTURE, "utf8");
  const whole = suggestPolicy(text, { file: "learn-run.ndjson" });
  const bytes = Buffer.from(text, "utf8");
  const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
  assert.deepEqual(await suggestPolicyFromStream(Readable.from(chunks), { file: "learn-run.ndjson" }), whole);
  assert.deepEqual(await suggestPolicyFromStream(Readable.from([Buffer.from(`\uFEFF${text}`)]), { file: "learn-run.ndjson" }), whole);
});

test("a line too long for an event: an error when it claims to be one, skipped when it is workload output", async () => {
  const text = await readFile(FIXTURE, "utf8");
  const noise = "n".repeat(MAX_EVENT_LINE_BYTES + 1);
  const skipped = await suggestPolicyFromStream(Readable.from([`${noise}\n${text}`]), { file: "f" });
  assert.match(skipped.yaml, /^# 2 lines that are not events \(workload output\) were skipped\.$/m);
  assert.equal(skipped.events, suggestPolicy(text, { file: "f" }).events);
  const fake = `{"schema":1,"pad":"${"p".repeat(MAX_EVENT_LINE_BYTES)}"}`;
  await assert.rejects(
    suggestPolicyFromStream(Readable.from([`${text}${fake}\n`]), { file: "f" }),
    (err: unknown) => err instanceof EventsFileError && err.line === text.split("\n").length && /^Cannot read events f:\d+: the line is longer than 1048576 bytes, which no event is$/.test(err.message),
  );
  // The in-memory form refuses it the same way.
  assert.throws(() => suggestPolicy(`${text}${fake}\n`, { file: "f" }), /the line is longer than 1048576 bytes/);
});

test("an events stream without line breaks ends with an error, not a read for ever", async () => {
  let read = 0;
  const zero = new Readable({
    read() {
      read += 1 << 20;
      this.push(Buffer.alloc(1 << 20));
    },
  });
  await assert.rejects(suggestPolicyFromStream(zero, { file: "/dev/zero" }), /^EventsFileError: Cannot read events \/dev\/zero:1: a line goes on past 67108864 bytes without a line break; this is not an events file$/);
  assert.ok(read <= 72 << 20, `read ${read} bytes`);
});

test("flagged events stop being collected once they alone are over the size of a policy", async () => {
  const line = (await readFile(FIXTURE, "utf8")).split("\n").find((l) => l.includes('"kind":"exec.drift"'))!;
  const drift = (i: number) => {
    const ev = JSON.parse(line) as { id: string; process: { exe: string } };
    ev.id = `6f1c0e2a9d3b4c5e8f7a6b5c4d3e2f10-${i + 100}`;
    ev.process.exe = `/tmp/${"d".repeat(200)}-${i}`;
    return JSON.stringify(ev);
  };
  const text = Array.from({ length: 20_000 }, (_, i) => drift(i)).join("\n");
  assert.throws(() => suggestPolicy(text, { file: "f" }), (err: unknown) => err instanceof EventsFileError && /events to review alone are over the 4194304-byte limit/.test(err.message) && err.line > 1000 && err.line < 20_000);
  // Negative control: a few of them are listed.
  assert.match(suggestPolicy(`${text.split("\n").slice(0, 3).join("\n")}\n${line.replace("exec.drift", "process.exec").replace(',"action":"alert"', ',"action":"info"')}`, { file: "f" }).yaml, /^# {3}\/tmp\/d+-2: exec\.drift alert/m);
});
