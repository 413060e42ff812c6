/**
 * The `inlay` console API commands end to end: a real console, a real API token, the built CLI,
 * and a simulated enforcer whose events and revocation the commands must show.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jsonCall } from "../helpers/http-call.js";
import { runInlay } from "../helpers/run-inlay.js";
import { SimulatedEnforcer } from "../helpers/simulated-enforcer.js";
import { makeTempDir } from "../helpers/temp-dir.js";

type TempDir = Awaited<ReturnType<typeof makeTempDir>>;
import { makeDevCertificate } from "../../src/console/dev-cert.js";
import { startConsole } from "../../src/console/server.js";
import { BOOTSTRAP_SECRET, startFixture, type ConsoleFixture } from "./console-fixture.js";

const POLICY = `apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata:\n  name: web\nspec:\n  executables:\n    drift:\n      mode: enforce\n    block:\n      mode: enforce\n      names: [nc]\n`;

/** The environment of a CLI run: nothing inherited that names a console or token. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.INLAY_CONSOLE_URL;
  delete env.INLAY_API_TOKEN;
  return { ...env, ...extra };
}

async function apiToken(f: ConsoleFixture, role: "admin" | "viewer"): Promise<string> {
  const r = await jsonCall(`${f.url}/api/v1/tokens`, f.adminToken, "POST", { name: `cli-${role}`, role });
  assert.equal(r.status, 201, r.body.toString());
  return r.json().token as string;
}

describe("inlay console API commands", () => {
  let f: ConsoleFixture;
  let tmp: TempDir;
  let admin: string;
  let viewer: string;
  before(async () => {
    f = await startFixture("sqlite");
    tmp = await makeTempDir("inlay-cc-");
    admin = await apiToken(f, "admin");
    viewer = await apiToken(f, "viewer");
  });
  after(async () => {
    await f.dispose();
    await tmp.dispose();
  });
  const inlay = (args: string[], token = admin, extra: Record<string, string> = {}) => runInlay(args, cliEnv({ INLAY_CONSOLE_URL: f.url, INLAY_API_TOKEN: token, ...extra }));
  const json = (r: { code: number; stdout: string; stderr: string }) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  test("push, group, assign, list workloads and events, revoke: every command against a real console", async () => {
    const file = join(tmp.path, "web.yaml");
    await writeFile(file, POLICY);
    const pushed = json(await inlay(["policies", "push", file, "--name", "web", "--json"]));
    assert.equal(pushed.name, "web");
    assert.equal(pushed.version, 1);
    assert.match(pushed.overlay_id, /^sha256:[0-9a-f]{64}$/);

    const created = json(await inlay(["groups", "create", "payments", "--json"]));
    assert.equal(created.name, "payments");
    assert.equal(created.policy, null);
    const assigned = json(await inlay(["groups", "policy", "payments", "--policy", "web", "--override", "--json"]));
    assert.deepEqual([assigned.id, assigned.policy, assigned.policy_override], [created.id, { name: "web", version: null }, true]);
    const listed = await inlay(["groups", "list"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${created.id}\\s+payments\\s+web@latest\\s+true`));

    // An enforcer enrolled into that group, with two events.
    const t = await jsonCall(`${f.url}/api/v1/groups/${created.id}/enrolment-tokens`, f.adminToken, "POST");
    assert.equal(t.status, 201);
    const enforcer = new SimulatedEnforcer({ baseUrl: f.url, enrolmentToken: t.json().token, platform: { cluster: "cli-cluster" } });
    await enforcer.register();
    const sent = [enforcer.record("exec.drift"), enforcer.record("exec.blocked")];
    assert.equal(await enforcer.flush(), 200);

    const workloads = json(await inlay(["workloads", "--cluster", "cli-cluster", "--json"]));
    assert.equal(workloads.items.length, 1);
    assert.equal(workloads.items[0].id, enforcer.enforcerId);
    assert.equal(workloads.items[0].instance, enforcer.instance);
    assert.equal(workloads.items[0].group_id, created.id);
    assert.equal(json(await inlay(["workloads", "--cluster", "elsewhere", "--json"])).items.length, 0, "the filter reaches the console");
    const table = await inlay(["workloads", "--search", enforcer.instance]);
    assert.match(table.stdout, new RegExp(`${enforcer.enforcerId}\\s+registry.example/app:1\\s+aws/cli-cluster/`));

    const events = json(await inlay(["events", "--workload", enforcer.enforcerId!, "--json"]));
    assert.deepEqual(events.items.map((e: { event: { id: string } }) => e.event.id).sort(), sent.map((e) => e.id).sort());
    const drift = json(await inlay(["events", "--workload", enforcer.enforcerId!, "--kind", "exec.drift", "--severity", "high", "--json"]));
    assert.deepEqual(drift.items.map((e: { event: { id: string; rule: string } }) => [e.event.id, e.event.rule]), [[sent[0]!.id, "drift.manifest"]]);

    assert.equal((await enforcer.heartbeat()).status, 200, "negative control: heartbeats work before the revocation");
    const revoked = await inlay(["enforcers", "revoke", enforcer.enforcerId!]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.notEqual((await enforcer.heartbeat()).status, 200, "a revoked enforcer's heartbeat is refused");
    const again = await inlay(["enforcers", "revoke", enforcer.enforcerId!]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /POST \/api\/v1\/enforcers\/.*\/revoke on http:\/\/127\.0\.0\.1:\d+: HTTP 404 not_found/);
  });

  test("missing settings name the variable or flag to set", async () => {
    const noToken = await runInlay(["groups", "list"], cliEnv({ INLAY_CONSOLE_URL: f.url }));
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /INLAY_API_TOKEN or pass --token-file/);
    const noUrl = await runInlay(["groups", "list"], cliEnv({ INLAY_API_TOKEN: admin }));
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /--console URL or set INLAY_CONSOLE_URL/);
    const clear = await inlay(["groups", "list", "--console", "http://console.example:8080"]);
    assert.equal(clear.code, 2);
    assert.match(clear.stderr, /Refusing plain http to console\.example:8080/);
    // The token file works where the variable is absent.
    const tokenFile = join(tmp.path, "token");
    await writeFile(tokenFile, `${admin}\n`, { mode: 0o600 });
    const viaFile = await runInlay(["groups", "list", "--json", "--token-file", tokenFile], cliEnv({ INLAY_CONSOLE_URL: f.url }));
    assert.equal(viaFile.code, 0, viaFile.stderr);
  });

  test("the console's refusals come through: a viewer cannot push, a bad policy shows the compiler's message", async () => {
    const file = join(tmp.path, "ok.yaml");
    await writeFile(file, POLICY);
    const denied = await inlay(["policies", "push", file, "--name", "web"], viewer);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /POST \/api\/v1\/policies\/web\/versions on http:\/\/127\.0\.0\.1:\d+: HTTP 403 forbidden/);

    const bad = join(tmp.path, "bad.yaml");
    await writeFile(bad, POLICY.replace("mode: enforce\n    block", "mode: sometimes\n    block"));
    const refused = await inlay(["policies", "push", bad, "--name", "web"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /POST \/api\/v1\/policies\/web\/versions .*HTTP 400 bad_request: Cannot read policy/);
    assert.match(refused.stderr, /:8:13: spec\.executables\.drift\.mode: is "sometimes"/, "the compiler's file:line:col and field");
  });

  test("a server answering outside the contract is reported as an unexpected response", async () => {
    const server: Server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.url?.startsWith("/api/v1/groups") ? JSON.stringify({ items: [{ id: "not-a-uuid", name: 7 }] }) : "{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await runInlay(["groups", "list"], cliEnv({ INLAY_CONSOLE_URL: `http://127.0.0.1:${port}`, INLAY_API_TOKEN: "x" }));
      assert.equal(r.code, 3);
      assert.match(r.stderr, /GET \/api\/v1\/groups on http:\/\/127\.0\.0\.1:\d+: unexpected response HTTP 200: items\.0\.id/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("https: --ca pins the console's CA; without it the certificate is refused", async () => {
    const dir = join(tmp.path, "tls");
    const { certFile, keyFile } = await makeDevCertificate(dir);
    const running = await startConsole({ database: join(dir, "c.sqlite"), listen: "127.0.0.1:0", bootstrapSecret: BOOTSTRAP_SECRET, tls: { certFile, keyFile } });
    try {
      const boot = await jsonCall(`${running.url}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" }, { ca: await readFile(certFile) });
      assert.equal(boot.status, 201);
      const env = cliEnv({ INLAY_CONSOLE_URL: running.url, INLAY_API_TOKEN: boot.json().token });
      const pinned = await runInlay(["groups", "create", "over-tls", "--ca", certFile, "--json"], env);
      assert.equal(JSON.parse(pinned.stdout).name, "over-tls", pinned.stderr);
      const unpinned = await runInlay(["groups", "list"], env);
      assert.equal(unpinned.code, 4, "negative control: the same call without --ca fails verification");
      assert.match(unpinned.stderr, /GET \/api\/v1\/groups on https:\/\/127\.0\.0\.1:\d+: .*(self-signed|certificate).*; if the console uses a private CA, pass it with --ca FILE\n$/);
    } finally {
      await running.close();
    }
  });
});
