/**
 * Kills the console (SIGKILL) twice while simulated enforcers stream event batches, restarts it
 * on the same database, and checks that every acknowledged event is stored, exactly once, and
 * that the enforcers' resends of unacknowledged batches filled every gap. Runs on both backends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import SqliteDatabase from "better-sqlite3";
import { freePort } from "../helpers/free-port.js";
import { jsonCall } from "../helpers/http-call.js";
import { SimulatedEnforcer } from "../helpers/simulated-enforcer.js";
import { BACKENDS, BOOTSTRAP_SECRET, makeDatabase } from "./console-fixture.js";
import { spawnConsole, type ConsoleProcess } from "./console-process.js";

async function storedIds(location: string): Promise<string[]> {
  if (location.startsWith("postgres://")) {
    const c = new pg.Client({ connectionString: location });
    await c.connect();
    try {
      return (await c.query<{ id: string }>("select id from events")).rows.map((r) => r.id);
    } finally {
      await c.end();
    }
  }
  const db = new SqliteDatabase(location, { readonly: true });
  try {
    return (db.prepare("select id from events").all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

for (const backend of BACKENDS) {
  test(`console on ${backend} killed mid-stream loses no acknowledged event and stores no duplicate`, { timeout: 180_000 }, async () => {
    const database = await makeDatabase(backend);
    const port = await freePort();
    const args = ["--database", database.location, "--listen", `127.0.0.1:${port}`];
    const env = { INLAY_CONSOLE_BOOTSTRAP_TOKEN: BOOTSTRAP_SECRET };
    let proc: ConsoleProcess | null = await spawnConsole(args, env);
    try {
      const url = proc.url;
      const admin = (await jsonCall(`${url}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" })).json().token;
      const group = (await jsonCall(`${url}/api/v1/groups`, admin, "POST", { name: "stream" })).json().id;
      const enrol = (await jsonCall(`${url}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json().token;
      const enforcers = Array.from({ length: 4 }, () => new SimulatedEnforcer({ baseUrl: url, enrolmentToken: enrol }));
      for (const e of enforcers) await e.register();

      let streaming = true;
      let failures = 0;
      let recorded = 0;
      const loops = enforcers.map(async (e) => {
        while (streaming) {
          if (e.pending.length < 2000) {
            for (let i = 0; i < 100; i++) e.record();
            recorded += 100;
          }
          const status = await e.flush(250);
          if (status !== 200) {
            if (status !== 0 && status < 500) throw new Error(`Cannot continue: the console refused a batch with ${status}`);
            failures++;
            await sleep(20);
          }
        }
      });
      const acked = () => enforcers.reduce((n, e) => n + e.acknowledged.size, 0);
      const waitAcked = async (n: number) => {
        while (acked() < n) await sleep(5);
      };

      for (const target of [2000, 5000]) {
        await waitAcked(target);
        await proc.kill();
        proc = null;
        await sleep(200);
        proc = await spawnConsole(args, env);
      }
      await waitAcked(8000);
      streaming = false;
      await Promise.all(loops);
      for (const e of enforcers) {
        while (e.pending.length > 0) assert.equal(await e.flush(1000), 200);
      }
      await proc.kill();
      proc = null;

      const ids = await storedIds(database.location);
      const unique = new Set(ids);
      assert.equal(unique.size, ids.length, "no event is stored twice");
      assert.equal(ids.length, recorded, "every recorded event is stored once the enforcers drained their queues");
      for (const e of enforcers) for (const id of e.acknowledged) assert.ok(unique.has(id), `acknowledged event ${id} is stored`);
      assert.ok(failures > 0, "the kills interrupted delivery (otherwise this test proves nothing)");
    } finally {
      await proc?.kill();
      await database.dispose();
    }
  });
}
