import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBatch } from "./parse-batch.js";
import { createValidationPool } from "./validation-pool.js";

const inst = "6f1c0e2a9d3b4c5e8f7a6b5c4d3e2f10";
const line = (seq: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    schema: 1, id: `${inst}-${seq}`, time: "2026-11-28T22:40:01.123Z", kind: "exec.drift", severity: "high", action: "deny", mode: "enforce",
    rule: "drift.manifest", reason: "r", enforcer: { version: "0.1.0", pid: 1, instance: inst }, bundle: "none", ...extra,
  });

test("parseBatch keeps the lines and the indexed fields, tolerating CRLF and a missing final newline", () => {
  const r = parseBatch(`${line(1)}\r\n${line(2)}`, { instance: inst, maxEvents: 10 });
  assert.ok(r.ok);
  assert.deepEqual(r.rows.map((x) => x.event.id), [`${inst}-1`, `${inst}-2`]);
  assert.equal(r.rows[0]!.line, line(1));
});

test("parseBatch names the bad line and field, and refuses too many events", () => {
  const bad = parseBatch(`${line(1)}\n${line(2, { severity: "loud" })}\n`, { instance: inst, maxEvents: 10 });
  assert.deepEqual(bad.ok ? null : [bad.code, /line 2: field severity/.test(bad.message)], ["bad_request", true]);
  const many = parseBatch(`${line(1)}\n${line(2)}\n${line(3)}\n`, { instance: inst, maxEvents: 2 });
  assert.equal(many.ok ? null : many.code, "payload_too_large");
  const other = parseBatch(line(1), { instance: "f".repeat(32), maxEvents: 10 });
  assert.match(other.ok ? "" : other.message, /comes from instance/);
});

test("createValidationPool gives the same results as inline validation", async () => {
  const pool = createValidationPool(2);
  try {
    const text = `${line(1)}\n${line(2, { rule: "x" })}\n`;
    const results = await Promise.all([pool.validate(text, { instance: inst, maxEvents: 10 }), pool.validate("{oops", { instance: inst, maxEvents: 10 })]);
    assert.deepEqual(results[0], parseBatch(text, { instance: inst, maxEvents: 10 }));
    assert.deepEqual(results[1], parseBatch("{oops", { instance: inst, maxEvents: 10 }));
    assert.equal(results[1].ok, false);
  } finally {
    await pool.close();
  }
});
