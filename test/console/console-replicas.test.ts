/**
 * Two `inlay console` processes on one real PostgreSQL, started at the same moment (their
 * migrations race), serving one fleet: an enforcer registered through A heartbeats and sends
 * events through B, the same batch sent to both at once is stored once, a policy change made
 * through A is served by B, the inventory reads the same through both, a revocation made on A is
 * refused by B (also for registrations racing it), and heartbeats buffered by a replica are
 * written when it stops.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import pg from "pg";
import { openDatabase } from "../../src/console/db/open-database.js";
import { freePort } from "../helpers/free-port.js";
import { httpCall, jsonCall } from "../helpers/http-call.js";
import { startPostgres } from "../helpers/postgres.js";
import { SimulatedEnforcer } from "../helpers/simulated-enforcer.js";
import { BOOTSTRAP_SECRET } from "./console-fixture.js";
import { spawnConsole, type ConsoleProcess } from "./console-process.js";

const policyDoc = (mode: string) => `apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: web\nspec:\n  executables:\n    drift:\n      mode: ${mode}\n`;

/** Polls `f` until it returns true, at most `ms`. */
async function eventually(what: string, ms: number, f: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

test("two console replicas on one PostgreSQL serve one fleet with no state of their own", { timeout: 180_000 }, async (t) => {
  const postgres = await startPostgres();
  const procs: ConsoleProcess[] = [];
  try {
    // Six openers in one process on an empty database, then two real processes on another.
    const raced = await postgres.createDatabase("raced");
    const opened = await Promise.allSettled(Array.from({ length: 6 }, () => openDatabase(raced, { poolSize: 2 })));
    for (const o of opened) if (o.status === "fulfilled") await o.value.close();
    assert.deepEqual(opened.map((o) => (o.status === "rejected" ? String(o.reason) : "ok")), Array(6).fill("ok"));
    const check = new pg.Client({ connectionString: raced });
    await check.connect();
    try {
      const names = (await check.query<{ name: string }>("select name from inlay_migration order by name")).rows.map((r) => r.name);
      assert.deepEqual(names, ["0001-initial", "0002-policy-overlay", "0003-enforcer-revocation"], "each migration ran once");
    } finally {
      await check.end();
    }

    const database = await postgres.createDatabase("replicas");
    const [portA, portB] = [await freePort(), await freePort()];
    const env = { INLAY_CONSOLE_BOOTSTRAP_TOKEN: BOOTSTRAP_SECRET };
    // Both start at once on an empty database: the migrations must not trip over each other.
    const started = await Promise.allSettled([
      spawnConsole(["--database", database, "--listen", `127.0.0.1:${portA}`], env),
      spawnConsole(["--database", database, "--listen", `127.0.0.1:${portB}`], env),
    ]);
    for (const s of started) if (s.status === "fulfilled") procs.push(s.value);
    for (const s of started) if (s.status === "rejected") throw s.reason;
    const [A, B] = [procs[0]!.url, procs[1]!.url];

    const admin = (await jsonCall(`${A}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" })).json().token as string;
    assert.equal((await jsonCall(`${B}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "evil", password: "evil-password-1" })).status, 403, "bootstrap is single-use across replicas");
    const group = (await jsonCall(`${A}/api/v1/groups`, admin, "POST", { name: "fleet" })).json().id as string;
    const enrol = (await jsonCall(`${B}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json();

    // Register on A; heartbeat and events on B.
    const e = new SimulatedEnforcer({ baseUrl: A, enrolmentToken: enrol.token });
    await e.register();
    e.baseUrl = B;
    assert.equal((await e.heartbeat()).status, 200);
    for (let i = 0; i < 50; i++) e.record();
    assert.equal(await e.flush(), 200);

    // The same batch to both replicas at once, several times: stored exactly once.
    let accepted = 0;
    let duplicates = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 200; i++) e.record(i % 2 === 0 ? "exec.drift" : "exec.fileless");
      const body = gzipSync(e.pending.map((p) => p.line).join("\n") + "\n");
      const send = (url: string) =>
        httpCall(`${url}/api/enforcer/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${e.credential}`, "content-type": "application/x-ndjson", "content-encoding": "gzip" },
          body,
        });
      const replies = await Promise.all([send(A), send(B), send(A), send(B)]);
      for (const r of replies) {
        assert.equal(r.status, 200, r.body.toString());
        accepted += r.json().accepted;
        duplicates += r.json().duplicates;
      }
      e.pending.splice(0);
    }
    assert.deepEqual({ accepted, duplicates }, { accepted: 1000, duplicates: 3000 }, "each event accepted once, by one replica");
    const client = new pg.Client({ connectionString: database });
    await client.connect();
    try {
      const rows = (await client.query<{ n: string; d: string }>("select count(*) as n, count(distinct id) as d from events")).rows[0]!;
      assert.deepEqual({ n: Number(rows.n), d: Number(rows.d) }, { n: 1050, d: 1050 });
    } finally {
      await client.end();
    }

    // A policy change made through A is served by B at once, with a new ETag.
    const before = await httpCall(`${B}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${e.credential}` } });
    assert.deepEqual(before.json(), { override: false, policy: null });
    assert.equal((await jsonCall(`${A}/api/v1/policies/web/versions`, admin, "POST", { document: policyDoc("enforce") })).status, 201);
    assert.equal((await jsonCall(`${A}/api/v1/groups/${group}/policy`, admin, "PUT", { policy: "web", version: null, override: true })).status, 200);
    const after = await httpCall(`${B}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${e.credential}`, "if-none-match": before.headers.etag as string } });
    assert.equal(after.status, 200, "B does not answer 304 with A's old ETag");
    assert.notEqual(after.headers.etag, before.headers.etag);
    assert.equal(after.json().policy.version, 1);
    assert.match(after.json().policy.overlay, /^inlay-policy 1\n/);
    // The heartbeat's announced ETag may lag a change by up to a second per replica (documented).
    await eventually("B's heartbeat announces the new ETag", 3000, async () => (await e.heartbeat()).etag === after.headers.etag);
    assert.equal((await jsonCall(`${A}/api/v1/policies/web/versions`, admin, "POST", { document: policyDoc("audit") })).status, 201);
    const v2 = await httpCall(`${B}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${e.credential}`, "if-none-match": after.headers.etag as string } });
    assert.equal(v2.status, 200);
    assert.equal(v2.json().policy.version, 2, "a new version stored through A is what B serves");

    // Heartbeats through B (group-committed there) show through A; the inventory reads alike.
    const others = [new SimulatedEnforcer({ baseUrl: B, enrolmentToken: enrol.token, platform: { service: "worker" } }), new SimulatedEnforcer({ baseUrl: A, enrolmentToken: enrol.token, tier: "dormant" })];
    for (const o of others) await o.register();
    const hb = (url: string, credential: string, dropped: number) =>
      jsonCall(`${url}/api/enforcer/v1/heartbeat`, credential, "POST", { mode: "audit", tier: "degraded", policy_in_force: "baked", dropped_total: dropped, buffered: 0 });
    assert.equal((await hb(B, e.credential!, 5)).status, 200);
    await eventually("a heartbeat received by B is visible through A", 5000, async () => {
      const w = (await jsonCall(`${A}/api/v1/workloads/${e.enforcerId}`, admin)).json();
      return w.tier === "degraded" && w.dropped_total === 5;
    });
    const read = async (path: string) => [(await jsonCall(`${A}${path}`, admin)).json(), (await jsonCall(`${B}${path}`, admin)).json()];
    for (const path of [`/api/v1/workloads?group=${group}`, "/api/v1/inventory?group_by=cloud,cluster,service", `/api/v1/events?workload=${e.enforcerId}&limit=20`, "/api/v1/audit?limit=20"]) {
      const [a, b] = await read(path);
      assert.deepEqual(a, b, `${path} reads the same through both replicas`);
    }
    const [inv] = await read("/api/v1/inventory?group_by=cloud,cluster,service");
    assert.equal(inv.groups.reduce((n: number, g: { workloads: number }) => n + g.workloads, 0), 3);

    // A revocation on A is refused on B at once.
    const [o1, o2] = others as [SimulatedEnforcer, SimulatedEnforcer];
    o2.baseUrl = B;
    assert.equal((await o2.heartbeat()).status, 200);
    assert.equal((await jsonCall(`${A}/api/v1/enforcers/${o2.enforcerId}/revoke`, admin, "POST")).status, 204);
    assert.equal((await o2.heartbeat()).status, 401, "B refuses the credential revoked through A");
    assert.equal((await jsonCall(`${A}/api/v1/groups/${group}/enrolment-tokens/${enrol.id}`, admin, "DELETE")).status, 204);
    assert.equal((await e.heartbeat()).status, 401, "B refuses an enforcer of the token revoked through A");
    assert.equal((await jsonCall(`${B}/api/enforcer/v1/register`, enrol.token, "POST", new SimulatedEnforcer({ baseUrl: B, enrolmentToken: enrol.token }).registration())).status, 401);
    assert.equal((await o1.heartbeat()).status, 401);

    // Registrations racing a revocation of their token: none may end up with a working credential.
    const racing = (await jsonCall(`${A}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json();
    const racers = Array.from({ length: 24 }, (_, i) => new SimulatedEnforcer({ baseUrl: i % 2 === 0 ? A : B, enrolmentToken: racing.token }));
    const registrations = racers.map((r) => jsonCall(`${r.baseUrl}/api/enforcer/v1/register`, racing.token, "POST", r.registration()));
    await sleep(5);
    const revoked = await jsonCall(`${A}/api/v1/groups/${group}/enrolment-tokens/${racing.id}`, admin, "DELETE");
    assert.equal(revoked.status, 204);
    const outcomes = await Promise.all(registrations);
    t.diagnostic(`registrations racing the revocation: ${outcomes.filter((o) => o.status === 201).length} registered first, ${outcomes.filter((o) => o.status === 401).length} refused`);
    for (const [i, o] of outcomes.entries()) {
      assert.ok([201, 401].includes(o.status), `racer ${i}: ${o.status} ${o.body}`);
      if (o.status !== 201) continue;
      racers[i]!.credential = o.json().credential;
      assert.equal((await racers[i]!.heartbeat()).status, 401, `racer ${i} registered before the revocation and was cut off with it`);
    }

    // A heartbeat buffered by B is written when B stops gracefully (nothing lost to the group commit).
    const late = new SimulatedEnforcer({ baseUrl: A, enrolmentToken: (await jsonCall(`${A}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json().token });
    await late.register();
    assert.equal((await hb(B, late.credential!, 42)).status, 200);
    assert.equal(await procs[1]!.stop(), 0);
    const w = (await jsonCall(`${A}/api/v1/workloads/${late.enforcerId}`, admin)).json();
    assert.equal(w.dropped_total, 42, "B flushed its pending heartbeats before exiting");
  } finally {
    for (const p of procs) await p.kill();
    await postgres.dispose();
  }
});
