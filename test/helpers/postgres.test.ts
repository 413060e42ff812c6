import { test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startPostgres } from "./postgres.js";

test("startPostgres serves queries on loopback and dispose stops it", async () => {
  const server = await startPostgres();
  const url = await server.createDatabase("probe");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const r = await client.query("select current_database() as db, 6 * 7 as n");
  assert.deepEqual(r.rows[0], { db: "probe", n: 42 });
  await client.end();
  await server.dispose();
  const again = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  await assert.rejects(again.connect());
});
