/**
 * Console policies served as policy overlays, on SQLite and PostgreSQL: every stored version is
 * compiled at upload (or refused with the compiler's message), the enforcer's policy response
 * carries the overlay and its id under an ETag that digests the exact body, and versions stored
 * by an older console (before the overlay column) are compiled on first serve.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import SqliteDatabase from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { migrateTo } from "../../src/console/db/migrations.js";
import { startConsole } from "../../src/console/server.js";
import { compilePolicyOverlay } from "../../src/policy/compile-overlay.js";
import { parsePolicy } from "../../src/policy/load-policy.js";
import { httpCall, jsonCall } from "../helpers/http-call.js";
import { SimulatedEnforcer } from "../helpers/simulated-enforcer.js";
import { startPostgres, type Postgres } from "../helpers/postgres.js";
import { BACKENDS, BOOTSTRAP_SECRET, makeDatabase, startFixture } from "./console-fixture.js";

const doc = (drift: string, name = "web") =>
  `apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: ${name}\nspec:\n  executables:\n    drift:\n      mode: ${drift}\n    block:\n      mode: enforce\n      names: [nc]\n`;
const expectedOverlay = (text: string) => compilePolicyOverlay(parsePolicy(text, { file: "x.yaml" })).overlay.toString("utf8");
const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

async function fetchPolicy(url: string, credential: string, etag?: string) {
  return httpCall(`${url}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${credential}`, ...(etag === undefined ? {} : { "if-none-match": etag }) } });
}

for (const backend of BACKENDS) {
  describe(`policy overlays on ${backend}`, () => {
    // One PostgreSQL server for both tests, a fresh database each.
    let postgres: Postgres | null = null;
    let seq = 0;
    const freshDatabase = async () =>
      postgres === null ? makeDatabase(backend) : { location: await postgres.createDatabase(`overlay_${++seq}`), dispose: async () => undefined };
    before(async () => {
      if (backend === "postgres") postgres = await startPostgres();
    });
    after(async () => {
      await postgres?.dispose();
    });

    test("upload compiles the overlay or refuses with the compiler's message; the enforcer gets overlay and overlay_id", async () => {
      const database = await freshDatabase();
      const f = await startFixture(backend, {}, { database: database.location });
      try {
        const editor = await f.userToken("editor");
        const g = await f.group("overlay");
        const e = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
        await e.register();

        const relative = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: doc("{enforce: {afterDaysFromBuild: 14}}") });
        assert.equal(relative.status, 400);
        assert.match(relative.json().error.message, /^Cannot compile policy web as a console policy:\nweb\.yaml:8:13: spec\.executables\.drift\.mode: .*afterDaysFromBuild: 14.*; use enforce: \{after: <date>\} in a console policy/);
        const failMode = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: doc("enforce").replace("spec:\n", "spec:\n  failMode: open\n") });
        assert.equal(failMode.status, 400);
        assert.match(failMode.json().error.message, /web\.yaml:6:13: spec\.failMode: the fail mode belongs to the image/);
        assert.equal((await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor)).status, 404, "nothing was stored for refused uploads");

        const v1 = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: doc("enforce") });
        assert.equal(v1.status, 201);
        const overlay1 = expectedOverlay(doc("enforce"));
        assert.equal(v1.json().overlay_id, `sha256:${sha(overlay1)}`);
        const stored = await jsonCall(`${f.url}/api/v1/policies/web/versions/1`, editor);
        assert.equal(stored.json().overlay, overlay1);

        await jsonCall(`${f.url}/api/v1/groups/${g.id}/policy`, editor, "PUT", { policy: "web", version: null, override: true });
        const r1 = await fetchPolicy(f.url, e.credential!);
        assert.equal(r1.status, 200);
        assert.deepEqual(Object.keys(r1.json().policy), ["name", "version", "sha256", "document", "overlay", "overlay_id"]);
        assert.deepEqual(r1.json(), {
          override: true,
          policy: { name: "web", version: 1, sha256: sha(doc("enforce")), document: doc("enforce"), overlay: overlay1, overlay_id: `sha256:${sha(overlay1)}` },
        });
        assert.match(overlay1, /^inlay-policy 1\ncontrol drift enforce\n[\s\S]*\nblock-name nc\n[\s\S]*\nend\n$/);
        assert.equal(r1.headers.etag, `"${sha(r1.body).slice(0, 32)}"`, "the ETag digests the exact body");
        assert.equal((await fetchPolicy(f.url, e.credential!, r1.headers.etag as string)).status, 304);

        await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: doc("audit") });
        const r2 = await fetchPolicy(f.url, e.credential!, r1.headers.etag as string);
        assert.equal(r2.status, 200, "a new version changes the ETag");
        assert.equal(r2.json().policy.overlay, expectedOverlay(doc("audit")));
        assert.notEqual(r2.json().policy.overlay_id, r1.json().policy.overlay_id);
      } finally {
        await f.dispose();
        await database.dispose();
      }
    });

    test("versions stored before overlays are compiled on first serve; one that cannot compile is served with overlay_error", async () => {
      const database = await freshDatabase();
      try {
        // An older console's database: schema up to 0001, two versions without overlays.
        const old =
          backend === "sqlite"
            ? new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(database.location) }) })
            : new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.location, max: 2 }) }) });
        await migrateTo(old, backend, "0001-initial");
        const row = (version: number, document: string) => ({ policy_name: "web", version, document, sha256: sha(document), created_ms: 1, created_by: "user:old" });
        await old.insertInto("policies").values({ name: "web", created_ms: 1 }).execute();
        await old.insertInto("policy_versions").values([row(1, doc("enforce")), row(2, doc("{enforce: {afterDaysFromBuild: 7}}"))]).execute();
        await old.destroy();

        const running = await startConsole({ database: database.location, listen: "127.0.0.1:0", bootstrapSecret: BOOTSTRAP_SECRET });
        try {
          const url = running.url;
          const admin = (await jsonCall(`${url}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" })).json().token;
          const group = (await jsonCall(`${url}/api/v1/groups`, admin, "POST", { name: "old" })).json().id;
          const enrol = (await jsonCall(`${url}/api/v1/groups/${group}/enrolment-tokens`, admin, "POST")).json().token;
          const e = new SimulatedEnforcer({ baseUrl: url, enrolmentToken: enrol });
          await e.register();
          const db = running.database.db;
          const overlayOf = async (v: number) => (await db.selectFrom("policy_versions").select(["overlay", "overlay_id"]).where("version", "=", v).executeTakeFirstOrThrow());
          assert.deepEqual(await overlayOf(1), { overlay: null, overlay_id: null }, "the migration adds the columns empty");

          assert.equal((await jsonCall(`${url}/api/v1/groups/${group}/policy`, admin, "PUT", { policy: "web", version: 1, override: true })).status, 200);
          const r1 = await fetchPolicy(url, e.credential!);
          const overlay1 = expectedOverlay(doc("enforce"));
          assert.equal(r1.json().policy.overlay, overlay1);
          assert.equal(r1.json().policy.overlay_id, `sha256:${sha(overlay1)}`);
          assert.deepEqual(await overlayOf(1), { overlay: overlay1, overlay_id: `sha256:${sha(overlay1)}` }, "compiled once and stored");
          assert.equal((await fetchPolicy(url, e.credential!, r1.headers.etag as string)).status, 304, "the stored overlay gives the same body and ETag");

          await jsonCall(`${url}/api/v1/groups/${group}/policy`, admin, "PUT", { policy: "web", version: 2, override: true });
          const r2 = await fetchPolicy(url, e.credential!);
          assert.equal(r2.status, 200);
          assert.equal(r2.json().policy.overlay, null);
          assert.equal(r2.json().policy.overlay_id, null);
          assert.match(r2.json().policy.overlay_error, /spec\.executables\.drift\.mode: .*afterDaysFromBuild: 7.*use enforce: \{after: <date>\}/);
          assert.deepEqual(await overlayOf(2), { overlay: null, overlay_id: null }, "nothing stored for a version that does not compile");
          assert.equal(r2.headers.etag, `"${sha(r2.body).slice(0, 32)}"`);
        } finally {
          await running.close();
        }
      } finally {
        await database.dispose();
      }
    });
  });
}
