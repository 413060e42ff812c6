/**
 * The console end to end, run against SQLite and against a real PostgreSQL: bootstrap, roles,
 * enrolment, inventory, events, policies with ETags, audit, and route-by-route authorisation
 * driven by the served OpenAPI document.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import * as schemas from "../../src/console/http/api-schemas.js";
import { httpCall, jsonCall } from "../helpers/http-call.js";
import { SimulatedEnforcer } from "../helpers/simulated-enforcer.js";
import { BACKENDS, BOOTSTRAP_SECRET, startFixture, type ConsoleFixture } from "./console-fixture.js";

/** A minimal runtime policy (docs/policy.md) with drift in `mode`. */
const policyDoc = (mode: string) =>
  `apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: web\nspec:\n  executables:\n    drift:\n      mode: ${mode}\n`;

for (const backend of BACKENDS) {
  describe(`console on ${backend}`, () => {
    let f: ConsoleFixture;
    before(async () => {
      f = await startFixture(backend);
    });
    after(async () => {
      await f?.dispose();
    });

    test("bootstrap is single-use and checks the secret", async () => {
      const again = await jsonCall(`${f.url}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "evil", password: "evil-password-1" });
      assert.equal(again.status, 403);
      assert.match(again.json().error.message, /already exists/);
      const rows = await f.running.database.db.selectFrom("bootstrap").selectAll().execute();
      assert.equal(rows.length, 0, "the bootstrap secret is gone after use");
      const me = await jsonCall(`${f.url}/api/v1/me`, f.adminToken);
      assert.deepEqual({ status: me.status, role: me.json().role }, { status: 200, role: "admin" });
    });

    test("secrets are stored hashed, never as given", async () => {
      const g = await f.group("hash-check");
      const db = f.running.database.db;
      const tokens = await db.selectFrom("enrolment_tokens").select("token_hash").execute();
      assert.ok(tokens.every((t) => /^[0-9a-f]{64}$/.test(t.token_hash)));
      assert.ok(!tokens.some((t) => t.token_hash === g.token));
      const users = await db.selectFrom("users").select("password_hash").execute();
      assert.ok(users.every((u) => u.password_hash.startsWith("scrypt$")));
      const api = await db.selectFrom("api_tokens").select("token_hash").execute();
      assert.ok(!api.some((t) => t.token_hash.includes(f.adminToken)));
    });

    test("an enrolled enforcer appears in the inventory with its location, image and tier", async () => {
      const g = await f.group("inventory");
      const a = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token, platform: { cluster: "inv-a", service: "web" } });
      const b = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token, platform: { cluster: "inv-a", service: "worker" }, tier: "dormant" });
      const c = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token, platform: { cloud: "gcp", cluster: "inv-b", service: "web" }, tier: "degraded" });
      for (const e of [a, b, c]) await e.register();
      assert.equal((await a.heartbeat()).status, 200);

      const page = await jsonCall(`${f.url}/api/v1/workloads?group=${g.id}&limit=2`, f.adminToken);
      assert.equal(page.status, 200);
      const p1 = schemas.workloadPage.parse(page.json());
      assert.equal(p1.items.length, 2);
      assert.equal(p1.next_offset, 2);
      const p2 = schemas.workloadPage.parse((await jsonCall(`${f.url}/api/v1/workloads?group=${g.id}&limit=2&offset=2`, f.adminToken)).json());
      assert.equal(p2.items.length, 1);
      assert.equal(p2.next_offset, null);
      const all = [...p1.items, ...p2.items];
      assert.deepEqual(new Set(all.map((w) => w.instance)), new Set([a.instance, b.instance, c.instance]));
      const wa = all.find((w) => w.instance === a.instance)!;
      assert.equal(wa.location.cluster, "inv-a");
      assert.equal(wa.image.digest, `sha256:${"ab".repeat(32)}`);
      assert.equal(wa.tier, "full");
      assert.equal(wa.stale, false);

      const search = schemas.workloadPage.parse((await jsonCall(`${f.url}/api/v1/workloads?q=INV-B`, f.adminToken)).json());
      assert.deepEqual(search.items.map((w) => w.instance), [c.instance], "search is case-insensitive and selective");
      const pct = schemas.workloadPage.parse((await jsonCall(`${f.url}/api/v1/workloads?q=%25`, f.adminToken)).json());
      assert.equal(pct.items.length, 0, "LIKE wildcards in the search text match only themselves");

      // Missed heartbeats: move b's last contact back beyond 3 intervals of 30 s.
      await f.running.database.db.updateTable("enforcers").set({ last_seen_ms: Date.now() - 91_000 }).where("instance", "=", b.instance).execute();
      const stale = schemas.workloadPage.parse((await jsonCall(`${f.url}/api/v1/workloads?group=${g.id}&stale=true`, f.adminToken)).json());
      assert.deepEqual(stale.items.map((w) => w.instance), [b.instance]);
      const fresh = schemas.workloadPage.parse((await jsonCall(`${f.url}/api/v1/workloads?group=${g.id}&stale=false`, f.adminToken)).json());
      assert.equal(fresh.items.length, 2);

      const inv = schemas.inventoryResponse.parse((await jsonCall(`${f.url}/api/v1/inventory?group_by=cloud,cluster`, f.adminToken)).json());
      const invA = inv.groups.find((x) => x.key.cluster === "inv-a")!;
      assert.deepEqual({ ...invA, key: undefined }, { key: undefined, workloads: 2, stale: 1, tiers: { full: 1, degraded: 0, dormant: 1 } });
      assert.equal(inv.groups.find((x) => x.key.cluster === "inv-b")!.key.cloud, "gcp");

      const one = await jsonCall(`${f.url}/api/v1/workloads/${wa.id}`, f.adminToken);
      assert.equal(schemas.workloadSchema.parse(one.json()).instance, a.instance);
    });

    test("event batches are acknowledged after commit and resends store no duplicates", async () => {
      const g = await f.group("events");
      const e = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      await e.register();
      for (let i = 0; i < 250; i++) e.record(i % 50 === 0 ? "exec.fileless" : "exec.drift");
      const batch = gzipSync(e.pending.map((p) => p.line).join("\n"));
      const send = () =>
        httpCall(`${f.url}/api/enforcer/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${e.credential}`, "content-type": "application/x-ndjson", "content-encoding": "gzip" },
          body: batch,
        });
      const first = await send();
      assert.equal(first.status, 200);
      assert.deepEqual(schemas.eventsAckResponse.parse(first.json()), { accepted: 250, duplicates: 0, last_id: `${e.instance}-250` });
      const resend = await send();
      assert.deepEqual(resend.json(), { accepted: 0, duplicates: 250, last_id: `${e.instance}-250` });
      const count = await f.running.database.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("enforcer_id", "=", e.enforcerId!).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 250);

      const q = (qs: string) => jsonCall(`${f.url}/api/v1/events?workload=${e.enforcerId}&${qs}`, f.adminToken).then((r) => schemas.eventPage.parse(r.json()));
      const fileless = await q("kind=exec.fileless");
      assert.equal(fileless.items.length, 5);
      assert.ok(fileless.items.every((i) => i.event.kind === "exec.fileless"));
      assert.equal((await q("kind=exec.*&limit=1000")).items.length, 250);
      assert.equal((await q("severity=high,critical&rule=drift.manifest&limit=1")).items.length, 1);
      assert.equal((await q("severity=low")).items.length, 0);
      assert.equal((await q("since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z")).items.length, 0);
      assert.equal((await q(`since=${new Date(Date.now() - 3600_000).toISOString()}&limit=1000`)).items.length, 250);
      // Keyset pagination walks every event exactly once.
      const seen = new Set<string>();
      let before: number | null | undefined;
      do {
        const page = await q(`limit=100${before ? `&before=${before}` : ""}`);
        for (const i of page.items) seen.add(i.event.id as string);
        before = page.next_before;
      } while (before !== null);
      assert.equal(seen.size, 250);
    });

    test("an event claiming another instance, or an invalid line, refuses the whole batch", async () => {
      const g = await f.group("integrity");
      const e = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      const other = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      await e.register();
      e.record();
      const forged = other.record();
      const lines = [e.pending[0]!.line, JSON.stringify(forged)].join("\n");
      const r = await httpCall(`${f.url}/api/enforcer/v1/events`, { method: "POST", headers: { authorization: `Bearer ${e.credential}`, "content-type": "application/x-ndjson" }, body: lines });
      assert.equal(r.status, 400);
      assert.match(r.json().error.message, /line 2: event .* comes from instance/);
      const bad = [e.pending[0]!.line, e.pending[0]!.line.replace('"severity":"high"', '"severity":"huge"')].join("\n");
      const r2 = await httpCall(`${f.url}/api/enforcer/v1/events`, { method: "POST", headers: { authorization: `Bearer ${e.credential}`, "content-type": "application/x-ndjson" }, body: bad });
      assert.equal(r2.status, 400);
      assert.match(r2.json().error.message, /line 2: field severity/);
      const n = await f.running.database.db.selectFrom("events").select("id").where("enforcer_id", "=", e.enforcerId!).execute();
      assert.equal(n.length, 0, "nothing of a refused batch is stored");
      assert.equal(await e.flush(), 200, "control: the valid event alone is accepted");
    });

    test("revoked and rotated enrolment tokens are refused; the grace period and new tokens work", async () => {
      const g = await f.group("tokens");
      const reg = (token: string) => jsonCall(`${f.url}/api/enforcer/v1/register`, token, "POST", new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: token }).registration());
      assert.equal((await reg(g.token)).status, 201, "control: the active token enrols");

      const rot = await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${g.tokenId}/rotate`, f.adminToken, "POST", { grace_seconds: 0 });
      assert.equal(rot.status, 201);
      const fresh = rot.json();
      const old = await reg(g.token);
      assert.equal(old.status, 401);
      assert.match(old.json().error.message, /revoked or rotated/);
      assert.equal((await reg(fresh.token)).status, 201);

      const graced = await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${fresh.id}/rotate`, f.adminToken, "POST", { grace_seconds: 3600 });
      assert.equal((await reg(fresh.token)).status, 201, "the rotated token still works inside its grace period");
      assert.equal((await reg(graced.json().token)).status, 201);

      const del = await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${fresh.id}`, f.adminToken, "DELETE");
      assert.equal(del.status, 204);
      assert.equal((await reg(fresh.token)).status, 401, "revocation ends the grace period at once");
      assert.equal((await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${fresh.id}`, f.adminToken, "DELETE")).status, 404);

      const list = await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens`, f.adminToken);
      assert.deepEqual(list.json().items.map((t: { active: boolean }) => t.active), [false, false, true]);

      const e = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: graced.json().token });
      await e.register();
      const firstCredential = e.credential!;
      await e.register();
      assert.equal((await jsonCall(`${f.url}/api/enforcer/v1/heartbeat`, firstCredential, "POST", { mode: "enforce", tier: "full", policy_in_force: "baked", dropped_total: 0 })).status, 401, "re-registering replaces the old credential");
      assert.equal((await e.heartbeat()).status, 200);
    });

    test("revoking an enrolment token cuts off every enforcer registered with it; rotation does not", async () => {
      const g = await f.group("cut-off");
      const calls = async (e: SimulatedEnforcer) => {
        e.record();
        const policy = await httpCall(`${f.url}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${e.credential}` } });
        return { heartbeat: (await e.heartbeat()).status, events: await e.flush(), policy: policy.status };
      };
      const OK = { heartbeat: 200, events: 200, policy: 200 };
      const REFUSED = { heartbeat: 401, events: 401, policy: 401 };
      const e1 = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      const e2 = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      await e1.register();
      await e2.register();
      const graced = (await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${g.tokenId}/rotate`, f.adminToken, "POST", { grace_seconds: 3600 })).json();
      const e3 = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: graced.token });
      await e3.register();
      const t3 = (await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${graced.id}/rotate`, f.adminToken, "POST", { grace_seconds: 0 })).json();
      assert.deepEqual(await calls(e1), OK, "rotation with grace leaves registered enforcers running");
      assert.deepEqual(await calls(e3), OK, "rotation without grace too: it only stops new registrations");

      assert.equal((await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${g.tokenId}`, f.adminToken, "DELETE")).status, 204);
      assert.deepEqual(await calls(e1), REFUSED, "e1 is cut off");
      assert.deepEqual(await calls(e2), REFUSED, "e2 is cut off");
      assert.deepEqual(await calls(e3), OK, "control: an enforcer of another token keeps working");
      const again = await jsonCall(`${f.url}/api/enforcer/v1/register`, g.token, "POST", e1.registration());
      assert.equal(again.status, 401, "re-registering with the revoked token is refused");
      const viaOther = await jsonCall(`${f.url}/api/enforcer/v1/register`, t3.token, "POST", e1.registration());
      assert.equal(viaOther.status, 403, "a cut-off instance cannot come back through another token");
      assert.match(viaOther.json().error.message, /revoked this enforcer/);
      const w1 = schemas.workloadSchema.parse((await jsonCall(`${f.url}/api/v1/workloads/${e1.enforcerId}`, f.adminToken)).json());
      assert.notEqual(w1.revoked, null);
      const fresh = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: t3.token });
      await fresh.register();
      assert.deepEqual(await calls(fresh), OK, "control: a new instance enrols with an active token");

      // A token already rotated out can still be revoked, and that cuts off its enforcers.
      assert.equal((await jsonCall(`${f.url}/api/v1/groups/${g.id}/enrolment-tokens/${graced.id}`, f.adminToken, "DELETE")).status, 204);
      assert.deepEqual(await calls(e3), REFUSED);
      const audit = (await jsonCall(`${f.url}/api/v1/audit?limit=50`, f.adminToken)).json().items as { action: string; detail: Record<string, unknown> }[];
      const revokes = audit.filter((a) => a.action === "enrolment-token.revoke" && [g.tokenId, graced.id].includes(a.detail.token_id as string));
      assert.deepEqual(revokes.map((a) => a.detail.enforcers_revoked).sort(), [1, 2]);
    });

    test("an admin revokes one enforcer's credential, audited; viewers and editors cannot", async () => {
      const g = await f.group("revoke-one");
      const a = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      const b = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      await a.register();
      await b.register();
      const revoke = (id: string, token: string) => jsonCall(`${f.url}/api/v1/enforcers/${id}/revoke`, token, "POST");
      assert.equal((await revoke(a.enforcerId!, await f.userToken("viewer"))).status, 403);
      assert.equal((await revoke(a.enforcerId!, await f.userToken("editor"))).status, 403);
      assert.equal((await a.heartbeat()).status, 200, "refused revocations changed nothing");

      assert.equal((await revoke(a.enforcerId!, f.adminToken)).status, 204);
      assert.equal((await a.heartbeat()).status, 401);
      a.record();
      assert.equal(await a.flush(), 401);
      assert.equal((await httpCall(`${f.url}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${a.credential}` } })).status, 401);
      assert.equal((await b.heartbeat()).status, 200, "control: the other enforcer of the same token keeps working");
      const back = await jsonCall(`${f.url}/api/enforcer/v1/register`, g.token, "POST", a.registration());
      assert.equal(back.status, 403, "the revoked instance cannot register again with the still-valid token");
      assert.equal((await revoke(a.enforcerId!, f.adminToken)).status, 404, "already revoked");
      assert.equal((await revoke("00000000-0000-0000-0000-000000000000", f.adminToken)).status, 404);
      const audit = (await jsonCall(`${f.url}/api/v1/audit?limit=50`, f.adminToken)).json().items as { action: string; actor: string; target: string }[];
      assert.ok(audit.some((x) => x.action === "enforcer.revoke" && x.target === `enforcer:${a.enforcerId}` && x.actor === "user:admin"));
    });

    test("policies are versioned, assigned to groups, override only when the group says so, and revalidate with ETags", async () => {
      const editor = await f.userToken("editor");
      const g = await f.group("policy");
      const e = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      await e.register();
      const fetchPolicy = (etag?: string) =>
        httpCall(`${f.url}/api/enforcer/v1/policy`, { headers: { authorization: `Bearer ${e.credential}`, ...(etag === undefined ? {} : { "if-none-match": etag }) } });

      const baked = await fetchPolicy();
      assert.equal(baked.status, 200);
      assert.deepEqual(baked.json(), { override: false, policy: null });
      const bakedTag = baked.headers.etag as string;
      assert.match(bakedTag, /^"[0-9a-f]{32}"$/);
      assert.equal((await fetchPolicy(bakedTag)).status, 304);

      const bad = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: policyDoc("enforce").replace("mode: enforce", "mode: sometimes") });
      assert.equal(bad.status, 400);
      assert.match(bad.json().error.message, /web\.yaml:\d+:\d+: spec\.executables\.drift\.mode/, "the policy parser names file, line, column and field");
      const v1 = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: policyDoc("enforce") });
      assert.equal(v1.status, 201);
      assert.equal(v1.json().version, 1);
      const v2 = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor, "POST", { document: policyDoc("audit") });
      assert.equal(v2.json().version, 2);
      const versions = await jsonCall(`${f.url}/api/v1/policies/web/versions`, editor);
      assert.deepEqual(versions.json().items.map((v: { version: number }) => v.version), [2, 1]);
      assert.equal((await jsonCall(`${f.url}/api/v1/policies/web/versions/1`, editor)).json().document, policyDoc("enforce"));

      const pin = await jsonCall(`${f.url}/api/v1/groups/${g.id}/policy`, editor, "PUT", { policy: "web", version: 1, override: false });
      assert.equal(pin.status, 200);
      const notOverriding = await fetchPolicy(bakedTag);
      assert.equal(notOverriding.status, 200, "the assignment changed the answer, so the old ETag no longer matches");
      assert.equal(notOverriding.json().override, false, "without override the baked policy stays in force");

      await jsonCall(`${f.url}/api/v1/groups/${g.id}/policy`, editor, "PUT", { policy: "web", version: null, override: true });
      const latest = await fetchPolicy();
      assert.equal(latest.json().override, true);
      assert.equal(latest.json().policy.version, 2, "version null follows the newest");
      assert.equal(latest.json().policy.document, policyDoc("audit"));
      const hb = await e.heartbeat();
      assert.equal(hb.etag, latest.headers.etag, "the heartbeat announces the ETag of the policy to apply");

      const missing = await jsonCall(`${f.url}/api/v1/groups/${g.id}/policy`, editor, "PUT", { policy: "web", version: 9, override: true });
      assert.equal(missing.status, 409);
      assert.match(missing.json().error.message, /no such policy version/);

      const audit = await jsonCall(`${f.url}/api/v1/audit?limit=50`, f.adminToken);
      const actions = audit.json().items.map((a: { action: string; actor: string }) => `${a.action}`);
      assert.equal(actions.filter((a: string) => a === "policy.version.create").length >= 2, true);
      assert.equal(actions.filter((a: string) => a === "group.policy.assign").length >= 2, true);
      assert.ok(audit.json().items.some((a: { actor: string; action: string }) => a.action === "group.policy.assign" && a.actor.startsWith("user:editor-")));
    });

    test("roles: editors manage policies but not users; tokens never exceed their user's role", async () => {
      const editor = await f.userToken("editor");
      const viewer = await f.userToken("viewer");
      assert.equal((await jsonCall(`${f.url}/api/v1/users`, editor, "POST", { username: "x", password: "x-password-123", role: "admin" })).status, 403);
      assert.equal((await jsonCall(`${f.url}/api/v1/tokens`, viewer, "POST", { name: "up", role: "admin" })).status, 403);
      const own = await jsonCall(`${f.url}/api/v1/tokens`, editor, "POST", { name: "ci", role: "viewer" });
      assert.equal(own.status, 201);
      const ciToken = own.json().token as string;
      assert.equal((await jsonCall(`${f.url}/api/v1/policies/x/versions`, ciToken, "POST", { document: policyDoc("audit") })).status, 403, "a viewer token of an editor acts as viewer");
      assert.equal((await jsonCall(`${f.url}/api/v1/workloads`, ciToken)).status, 200);
      assert.equal((await jsonCall(`${f.url}/api/v1/tokens/${own.json().id}`, editor, "DELETE")).status, 204);
      assert.equal((await jsonCall(`${f.url}/api/v1/workloads`, ciToken)).status, 401, "revoked tokens stop working");

      const me = (await jsonCall(`${f.url}/api/v1/me`, editor)).json() as { user_id: string; username: string };
      const ed = { id: me.user_id, username: me.username };
      assert.equal((await jsonCall(`${f.url}/api/v1/users/${ed.id}`, f.adminToken, "PATCH", { role: "viewer" })).status, 204);
      assert.equal((await jsonCall(`${f.url}/api/v1/policies/y/versions`, editor, "POST", { document: policyDoc("audit") })).status, 403, "a downgraded user's session loses the role at once");
      assert.equal((await jsonCall(`${f.url}/api/v1/users/${ed.id}`, f.adminToken, "PATCH", { disabled: true })).status, 204);
      assert.equal((await jsonCall(`${f.url}/api/v1/workloads`, editor)).status, 401, "a disabled user's tokens stop working");
      assert.equal((await jsonCall(`${f.url}/api/v1/login`, null, "POST", { username: ed.username, password: "user-password-1" })).status, 401);
    });

    test("every route refuses a missing token, and a viewer token wherever it needs more (from /openapi.json)", async () => {
      const viewer = await f.userToken("viewer");
      const doc = (await jsonCall(`${f.url}/openapi.json`, null)).json() as { paths: Record<string, Record<string, { "x-inlay-auth": string }>> };
      let checked = 0;
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          const url = f.url + path.replace(/\{\w+\}/g, "00000000-0000-0000-0000-000000000000");
          const auth = op["x-inlay-auth"];
          assert.ok(["none", "enrolment", "enforcer", "viewer", "editor", "admin"].includes(auth), `${method} ${path} declares its auth`);
          const body = method === "get" || method === "delete" ? undefined : {};
          const anon = await jsonCall(url, null, method.toUpperCase(), body);
          if (auth === "none") {
            assert.notEqual(anon.status, 401, `${method} ${path} is public`);
            continue;
          }
          assert.equal(anon.status, 401, `${method} ${path} without a token`);
          assert.equal(anon.headers["www-authenticate"], "Bearer");
          const asViewer = await jsonCall(url, viewer, method.toUpperCase(), body);
          if (auth === "enrolment" || auth === "enforcer") assert.equal(asViewer.status, 401, `${method} ${path}: an API token is not an enforcer credential`);
          else if (auth === "viewer") assert.ok(![401, 403].includes(asViewer.status), `${method} ${path} allows viewers (got ${asViewer.status})`);
          else assert.equal(asViewer.status, 403, `${method} ${path} needs ${auth}`);
          checked++;
        }
      }
      assert.ok(checked >= 25, `checked ${checked} protected operations`);
    });

    test("garbage on the API gets a 4xx with a clear message, never a 500", async () => {
      const g = await f.group("garbage");
      const e = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: g.token });
      await e.register();
      const A = { authorization: `Bearer ${f.adminToken}` };
      const C = { authorization: `Bearer ${e.credential}` };
      e.record();
      const nulRule = e.pending.at(-1)!.line.replace('"rule":"drift.manifest"', '"rule":"a\\u0000b"');
      assert.ok(nulRule.includes("a\\u0000b"));
      const cases: { name: string; path: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; status: number; message: RegExp }[] = [
        { name: "invalid JSON", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "application/json" }, body: "{name:", status: 400, message: /not valid JSON/ },
        { name: "JSON not UTF-8", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "application/json" }, body: Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xff]), Buffer.from('"}')]), status: 400, message: /not valid UTF-8/ },
        { name: "wrong field type", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "application/json" }, body: '{"name":5}', status: 400, message: /field name/ },
        { name: "unknown field", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "application/json" }, body: '{"name":"a","x":1}', status: 400, message: /x/ },
        { name: "JSON null body", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "application/json" }, body: "null", status: 400, message: /Cannot read the body/ },
        { name: "wrong content type", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "text/plain" }, body: "x", status: 415, message: /application\/json/ },
        { name: "oversized JSON", path: "/api/v1/groups", method: "POST", headers: { ...A, "content-type": "application/json" }, body: `{"name":"${"a".repeat(2 * 1024 * 1024)}"}`, status: 413, message: /bytes/ },
        { name: "bad query number", path: "/api/v1/events?limit=abc", headers: A, status: 400, message: /field limit/ },
        { name: "unknown query parameter", path: "/api/v1/events?colour=red", headers: A, status: 400, message: /colour/ },
        { name: "repeated query parameter", path: "/api/v1/events?kind=a.b&kind=c.d", headers: A, status: 400, message: /more than once/ },
        { name: "bad time", path: "/api/v1/events?since=yesterday", headers: A, status: 400, message: /RFC 3339/ },
        { name: "bad severity", path: "/api/v1/events?severity=loud", headers: A, status: 400, message: /severity/ },
        { name: "bad group_by", path: "/api/v1/inventory?group_by=planet", headers: A, status: 400, message: /group_by/ },
        { name: "bad percent-encoding", path: "/api/v1/workloads/%E0%A4%A", headers: A, status: 400, message: /path parameter|URL/ },
        { name: "bad policy name", path: "/api/v1/policies/UPPER/versions", headers: A, status: 400, message: /policy name/ },
        { name: "bad version", path: "/api/v1/policies/web/versions/0", headers: A, status: 400, message: /positive integer/ },
        { name: "version beyond the column", path: "/api/v1/policies/web/versions/2147483648", headers: A, status: 400, message: /positive integer up to 2147483647/ },
        { name: "assigned version beyond the column", path: `/api/v1/groups/${g.id}/policy`, method: "PUT", headers: { ...A, "content-type": "application/json" }, body: JSON.stringify({ policy: "web", version: 2147483648, override: true }), status: 400, message: /field version/ },
        { name: "malformed Authorization", path: "/api/v1/me", headers: { authorization: "Basic abc" }, status: 401, message: /Bearer/ },
        { name: "unknown route", path: "/api/v1/nothing", headers: A, status: 404, message: /no such route/ },
        { name: "batch not gzip", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/x-ndjson", "content-encoding": "gzip" }, body: "plain", status: 400, message: /not valid gzip/ },
        { name: "batch unknown encoding", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/x-ndjson", "content-encoding": "br" }, body: "x", status: 415, message: /gzip or identity/ },
        { name: "batch wrong type", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/json" }, body: "{}", status: 415, message: /x-ndjson/ },
        { name: "batch not UTF-8", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/x-ndjson" }, body: Buffer.from([0xff, 0xfe, 0x0a]), status: 400, message: /UTF-8/ },
        { name: "batch line not JSON", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/x-ndjson" }, body: "{}\n{oops", status: 400, message: /line 1/ },
        { name: "batch zip bomb", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/x-ndjson", "content-encoding": "gzip" }, body: gzipSync(Buffer.alloc(17 * 1024 * 1024, 0x20)), status: 413, message: /inflates/ },
        { name: "register wrong protocol", path: "/api/enforcer/v1/register", method: "POST", headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" }, body: JSON.stringify({ ...e.registration(), protocol: 2 }), status: 400, message: /field protocol/ },
        { name: "register control characters", path: "/api/enforcer/v1/register", method: "POST", headers: { authorization: `Bearer ${g.token}`, "content-type": "application/json" }, body: JSON.stringify({ ...e.registration(), platform: { cluster: "a\u0000b" } }), status: 400, message: /platform.cluster/ },
        { name: "cursor beyond 2^53", path: "/api/v1/events?before=1e30", headers: A, status: 400, message: /field before/ },
        { name: "deeply nested policy document", path: "/api/v1/policies/deep/versions", method: "POST", headers: { ...A, "content-type": "application/json" }, body: JSON.stringify({ document: "[".repeat(5000) }), status: 400, message: /nesting deeper than 100 levels/ },
        { name: "NUL in a policy document", path: "/api/v1/policies/nul/versions", method: "POST", headers: { ...A, "content-type": "application/json" }, body: JSON.stringify({ document: "a\u0000b" }), status: 400, message: /NUL/ },
        { name: "NUL in an event rule", path: "/api/enforcer/v1/events", method: "POST", headers: { ...C, "content-type": "application/x-ndjson" }, body: nulRule, status: 400, message: /NUL/ },
        { name: "heartbeat negative counter", path: "/api/enforcer/v1/heartbeat", method: "POST", headers: { ...C, "content-type": "application/json" }, body: JSON.stringify({ mode: "enforce", tier: "full", policy_in_force: "baked", dropped_total: -1 }), status: 400, message: /dropped_total/ },
      ];
      for (const c of cases) {
        const r = await httpCall(f.url + c.path, { method: c.method ?? "GET", headers: c.headers, body: c.body });
        assert.equal(r.status, c.status, `${c.name}: ${r.body.toString().slice(0, 300)}`);
        const err = r.json().error;
        assert.notEqual(err.code, "internal", c.name);
        assert.match(err.message, c.message, c.name);
      }
    });
  });
}

test("rate limits answer 429 with Retry-After once a client exceeds its budget", async () => {
  const f = await startFixture("sqlite", { rateLimit: { ratePerSecond: 1, burst: 5 } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await jsonCall(`${f.url}/api/v1/me`, f.adminToken)).status);
    assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200], "control: within the burst requests pass");
    const limited = await jsonCall(`${f.url}/api/v1/me`, f.adminToken);
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers["retry-after"]) >= 1);
    assert.equal(limited.json().error.code, "rate_limited");
  } finally {
    await f.dispose();
  }
});

test("a request that is not HTTP/1.1 gets the API's JSON error from the console itself", async () => {
  const f = await startFixture("sqlite");
  try {
    const port = Number(new URL(f.url).port);
    const answer = await new Promise<string>((resolve, reject) => {
      let got = "";
      const c = connect(port, "127.0.0.1", () => c.write("HELLO /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n"));
      c.setEncoding("utf8").on("data", (d: string) => (got += d));
      c.on("close", () => resolve(got));
      c.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "bad_request");
    assert.match(body.error.message, /^Cannot read the request: it is not valid HTTP\/1\.1 \(.*HPE_/);
    assert.equal((await jsonCall(`${f.url}/api/v1/me`, f.adminToken)).status, 200, "negative control: the console still answers");
  } finally {
    await f.dispose();
  }
});
