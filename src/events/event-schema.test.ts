import { test } from "node:test";
import assert from "node:assert/strict";
import { extractEvents, parseEventLine } from "./event-schema.js";

const good = {
  schema: 1,
  id: "6f1c0e2a9d3b4c5e8f7a6b5c4d3e2f10-7",
  time: "2026-11-28T22:40:01.123Z",
  kind: "exec.drift",
  severity: "high",
  action: "deny",
  mode: "enforce",
  rule: "drift.manifest",
  reason: "executed file is not in the image manifest",
  process: { pid: 42, ppid: 1, uid: 0, exe: "/tmp/x", argv: ["/tmp/x"], argv_truncated: false, cwd: "/" },
  enforcer: { version: "0.1.0", pid: 1, instance: "6f1c0e2a9d3b4c5e8f7a6b5c4d3e2f10" },
  bundle: "none",
};

test("parseEventLine accepts the documented example shape", () => {
  const ev = parseEventLine(JSON.stringify(good));
  assert.equal(ev.kind, "exec.drift");
  assert.equal(ev.process?.pid, 42);
});

test("parseEventLine rejects unknown fields and bad times", () => {
  assert.throws(() => parseEventLine(JSON.stringify({ ...good, extra: 1 })));
  assert.throws(() => parseEventLine(JSON.stringify({ ...good, time: "yesterday" })));
  assert.throws(() => parseEventLine("{not json"), SyntaxError);
});

test("extractEvents separates workload output from events", () => {
  const { events, other } = extractEvents(`hello\n${JSON.stringify(good)}\nworld\n`);
  assert.equal(events.length, 1);
  assert.deepEqual(other, ["hello", "world"]);
});
