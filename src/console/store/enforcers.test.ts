import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { openDatabase } from "../db/open-database.js";
import { createGroup } from "./groups.js";
import { authenticateEnforcer, createHeartbeatRecorder, registerEnforcer, type EnforcerIdentity } from "./enforcers.js";
import { makeTempDir } from "../../../test/helpers/temp-dir.js";

const identity = (instance: string): EnforcerIdentity => ({
  instance,
  enforcer_version: "0.1.0",
  mode: "enforce",
  tier: "full",
  bundle: "none",
  policy_in_force: "baked",
  image: { name: "app", digest: "" },
  platform: { cloud: "aws", account: "", region: "", cluster: "", service: "", task: "", container: "" },
});

test("createHeartbeatRecorder group-commits on its interval and flushes on close", async () => {
  const tmp = await makeTempDir();
  const open = await openDatabase(join(tmp.path, "c.sqlite"));
  try {
    const g = await createGroup(open.db, { name: "g", actor: "test" });
    const e = await registerEnforcer(open.db, g.id, identity("a".repeat(32)));
    const tierOf = async () => (await open.db.selectFrom("enforcers").select("tier").where("id", "=", e.id).executeTakeFirstOrThrow()).tier;
    const rec = createHeartbeatRecorder(open, { intervalMs: 60_000 });
    await rec.record(e.id, { tier: "degraded", mode: "enforce", policy_in_force: "baked", dropped_total: 3 });
    assert.equal(await tierOf(), "full", "buffered until the interval or close");
    await rec.close();
    assert.equal(await tierOf(), "degraded");
    const direct = createHeartbeatRecorder(open, { intervalMs: 0 });
    await direct.record(e.id, { tier: "dormant", mode: "off", policy_in_force: "baked", dropped_total: 3 });
    assert.equal(await tierOf(), "dormant", "interval 0 writes before answering");
  } finally {
    await open.close();
    await tmp.dispose();
  }
});

test("a heartbeat write that fails is retried at the next interval; a newer heartbeat wins", async () => {
  const tmp = await makeTempDir();
  const open = await openDatabase(join(tmp.path, "c.sqlite"));
  try {
    const g = await createGroup(open.db, { name: "g", actor: "test" });
    const e = await registerEnforcer(open.db, g.id, identity("c".repeat(32)));
    const droppedOf = async () => (await open.db.selectFrom("enforcers").select("dropped_total").where("id", "=", e.id).executeTakeFirstOrThrow()).dropped_total;
    const errors: unknown[] = [];
    const rec = createHeartbeatRecorder(open, { intervalMs: 50, onError: (err) => errors.push(err) });
    // The table disappears for a while: every write in that time fails.
    open.sqlite!.exec("alter table enforcers rename to enforcers_away");
    await rec.record(e.id, { tier: "full", mode: "enforce", policy_in_force: "baked", dropped_total: 1 });
    await sleep(200);
    assert.ok(errors.length >= 1, "the write failed and was reported");
    await rec.record(e.id, { tier: "full", mode: "enforce", policy_in_force: "baked", dropped_total: 2 });
    await sleep(120);
    open.sqlite!.exec("alter table enforcers_away rename to enforcers");
    await sleep(200);
    assert.equal(await droppedOf(), 2, "kept through the failures, and the newest heartbeat is the one written");
    await rec.close();
  } finally {
    await open.close();
    await tmp.dispose();
  }
});

test("registerEnforcer replaces the credential of a re-registering instance and refuses another group", async () => {
  const tmp = await makeTempDir();
  const open = await openDatabase(join(tmp.path, "c.sqlite"));
  try {
    const g = await createGroup(open.db, { name: "g", actor: "test" });
    const h = await createGroup(open.db, { name: "h", actor: "test" });
    const first = await registerEnforcer(open.db, g.id, identity("b".repeat(32)));
    const second = await registerEnforcer(open.db, g.id, identity("b".repeat(32)));
    assert.equal(first.id, second.id);
    assert.equal(await authenticateEnforcer(open.db, first.credential), null);
    assert.equal((await authenticateEnforcer(open.db, second.credential))?.enforcerId, first.id);
    await assert.rejects(registerEnforcer(open.db, h.id, identity("b".repeat(32))), /enrolled in another group/);
  } finally {
    await open.close();
    await tmp.dispose();
  }
});
