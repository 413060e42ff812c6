// The enforcer's reporter against a real console over TLS: the enforcer runs as PID 1 of a podman
// container (--network=host, so it reaches the console on loopback by the name "localhost"),
// enrols with the group's token, and its events are stored exactly once, through a console that
// is down at start or killed mid-stream. Negative controls: a revoked token and a wrong CA are
// refused, and protection goes on regardless.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BUILD_DIR, bundleText, eventsOf, explain, makeTargets, manifestLines, pct, type RunResult, type Target } from "../helpers/enforcer.js";
import { makeDevCertificate } from "../../src/console/dev-cert.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { startMetadataServer } from "./metadata-server.js";
import { LinkedConsole, type StoredEvent } from "./linked-console.js";

const EACCES_EXIT = 113; // exec-via exits 100 + errno when its exec is refused
const NET = ["--network=host"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() returns a value, or fails after timeoutMs with what was last seen. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`Cannot observe ${what} within ${timeoutMs} ms${last ? `: ${String(last)}` : ""}`);
}

function storedIds(stored: StoredEvent[], instance: string): string[] {
  return stored.filter((s) => s.event.enforcer.instance === instance).map((s) => s.event.id);
}

function instanceOf(r: RunResult): string {
  const e = r.events[0];
  assert.ok(e, explain(r));
  return e.enforcer.instance;
}

/** Every event the enforcer wrote is stored, and nothing is stored twice. */
function assertStoredExactlyOnce(r: RunResult, stored: StoredEvent[]): void {
  const instance = instanceOf(r);
  const ids = storedIds(stored, instance);
  assert.equal(new Set(ids).size, ids.length, `duplicates stored: ${ids.join(" ")}`);
  const written = r.events.map((e) => e.id);
  const missing = written.filter((id) => !ids.includes(id));
  assert.deepEqual(missing, [], `events written by the enforcer but not stored\n${explain(r)}`);
  assert.equal(ids.length, written.length, "the console holds exactly the events the enforcer wrote");
}

describe("enforcer reporter (podman, TLS console)", () => {
  let t: Target;
  let cleanup: () => Promise<void>;
  let manifest: string[];
  let caPath: string;
  let linked: LinkedConsole;

  before(async () => {
    const made = await makeTargets(["podman-default"]);
    t = made.targets[0]!;
    cleanup = made.dispose;
    manifest = await manifestLines(t);
    const pid1 = await readFile(join(BUILD_DIR, "tests", "pid1"));
    await writeFile(t.hostPath(`${t.scratch}/drifted`), Buffer.concat([pid1, Buffer.from([0])]), { mode: 0o755 });
    linked = await LinkedConsole.create();
    caPath = `${t.scratch}/console-ca.pem`;
    await writeFile(t.hostPath(caPath), linked.ca);
  });
  after(async () => {
    await linked?.dispose();
    await cleanup?.();
  });

  const drift = () => [`${t.progs}/exec-via`, "plain", `${t.scratch}/drifted`, "exit", "5"];
  const consoleLines = (c: LinkedConsole, ca = caPath) => [`console ${c.url}`, `console-ca ${pct(ca)}`];

  test("enrols over TLS with the pinned CA; a blocked exec and the lifecycle events are stored exactly once", async () => {
    const b = await t.writeBundle(bundleText(["control drift enforce", ...manifest, ...consoleLines(linked)]));
    const r = await t.run(
      [t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", `env; ${drift().join(" ")}`],
      { env: { INLAY_ENROL_TOKEN: linked.group.token, INLAY_IMAGE_NAME: "registry.example/shop/api:1.4" }, podmanArgs: NET },
    );
    assert.equal(r.code, EACCES_EXIT, explain(r));
    assert.ok(!r.stdout.includes(linked.group.token), "the workload does not inherit the enrolment token");
    assert.ok(!r.stdout.includes("INLAY_ENROL_TOKEN"), "the variable is removed from the workload's environment");
    const registered = eventsOf(r, "enforcer.console");
    assert.equal(registered.length, 1, explain(r));
    assert.equal(registered[0]!.detail?.problem, "none");
    const stored = await linked.events();
    assertStoredExactlyOnce(r, stored);
    const deny = stored.find((s) => s.event.kind === "exec.drift" && s.event.enforcer.instance === instanceOf(r));
    assert.equal(deny?.event.action, "deny");
    const w = (await linked.workloads()).filter((x) => x.instance === instanceOf(r));
    assert.equal(w.length, 1, "one registration");
    assert.equal(w[0]!.tier, "full");
    assert.equal(w[0]!.mode, "enforce");
    assert.equal(w[0]!.image.name, "registry.example/shop/api:1.4");
    assert.equal(w[0]!.platform.platform, "container");
    assert.match(w[0]!.platform.container_id ?? "", /^[0-9a-f]{64}$/, "podman's container id from /proc/self/mountinfo");
  });

  test("an inline PEM CA in the bundle works like a CA file", async () => {
    const b = await t.writeBundle(bundleText([`console ${linked.url}`, `console-ca ${pct(linked.ca)}`]));
    const r = await t.run([t.enforcer, "--bundle", b, "--", "/bin/true"], { env: { INLAY_ENROL_TOKEN: linked.group.token }, podmanArgs: NET });
    assert.equal(r.code, 0, explain(r));
    assertStoredExactlyOnce(r, await linked.events());
  });

  test("negative control: a console whose certificate another CA signed is refused; protection goes on", async () => {
    const tmp = await makeTempDir("inlay-other-ca-");
    try {
      const other = await makeDevCertificate(tmp.path);
      const otherCa = `${t.scratch}/other-ca.pem`;
      await writeFile(t.hostPath(otherCa), await readFile(other.certFile));
      const before_ = (await linked.workloads()).length;
      const b = await t.writeBundle(bundleText(["control drift enforce", ...manifest, ...consoleLines(linked, otherCa)]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...drift()], { env: { INLAY_ENROL_TOKEN: linked.group.token }, podmanArgs: NET });
      assert.equal(r.code, EACCES_EXIT, `still protected: ${explain(r)}`);
      const link = eventsOf(r, "enforcer.console");
      assert.equal(link.length, 1, explain(r));
      assert.equal(link[0]!.detail?.problem, "untrusted", explain(r));
      assert.equal((await linked.workloads()).length, before_, "nothing registered through an untrusted link");
    } finally {
      await tmp.dispose();
    }
  });

  test("an unreadable or invalid console CA is a configuration error: the workload never starts (124)", async () => {
    const garbage = `${t.scratch}/garbage-ca.pem`;
    await writeFile(t.hostPath(garbage), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
    for (const [ca, words] of [
      [`${t.scratch}/absent-ca.pem`, /console-ca \/scratch\/absent-ca\.pem: cannot open/],
      [garbage, /certificate 1 of the console CA cannot be decoded/],
    ] as const) {
      const b = await t.writeBundle(bundleText(consoleLines(linked, ca)));
      const r = await t.run([t.enforcer, "--bundle", b, "--", "/bin/echo", "workload-ran"], { env: { INLAY_ENROL_TOKEN: linked.group.token }, podmanArgs: NET });
      assert.equal(r.code, 124, explain(r));
      assert.ok(!r.stdout.includes("workload-ran"), explain(r));
      assert.match(r.stderr, /inlay-enforcer: cannot configure the console link: /);
      assert.match(r.stderr, words);
    }
    const bad = await t.writeBundle(bundleText(consoleLines(linked)));
    // Only digits: a leading space or sign is refused too, not read past.
    for (const value of ["12", " 65536", "+65536", "99999999999999999999999"]) {
      const r = await t.run([t.enforcer, "--bundle", bad, "--", "/bin/true"], {
        env: { INLAY_ENROL_TOKEN: linked.group.token, INLAY_REPORTER_BUFFER_BYTES: value },
        podmanArgs: NET,
      });
      assert.equal(r.code, 124, `${value}: ${explain(r)}`);
      assert.ok(r.stderr.includes(`INLAY_REPORTER_BUFFER_BYTES=${value.slice(0, 32)}: use a byte count from 65536 to 268435456`), `${value}: ${explain(r)}`);
    }
  });

  test("a dormant enforcer registers once, briefly, before the workload runs without it", async () => {
    const b = await t.writeBundle(bundleText(["dormant-env INLAY_HOST_ENFORCER", ...consoleLines(linked)]));
    const r = await t.run([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", "echo workload-ran pid=$$"], {
      env: { INLAY_ENROL_TOKEN: linked.group.token, INLAY_HOST_ENFORCER: "1" },
      podmanArgs: NET,
    });
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /workload-ran pid=1\n/, "the workload is PID 1 itself: the enforcer handed over");
    const w = (await linked.workloads()).filter((x) => x.instance === instanceOf(r));
    assert.equal(w.length, 1, explain(r));
    assert.equal(w[0]!.tier, "dormant");
    const stored = storedIds(await linked.events(), instanceOf(r));
    assert.ok(stored.includes(eventsOf(r, "enforcer.dormant")[0]!.id), "the dormant event reached the console");
  });

  test("console down at start: the enforcer keeps protecting and delivers its buffered events when the console comes up", async () => {
    const late = await LinkedConsole.create({ started: false });
    try {
      // The group and token exist only once the console ran; start it, note the token, stop it.
      await late.start();
      await late.kill();
      const ca = `${t.scratch}/late-ca.pem`;
      await writeFile(t.hostPath(ca), late.ca);
      const b = await t.writeBundle(bundleText(["control drift enforce", ...manifest, ...consoleLines(late, ca)]));
      const run = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", `${drift().join(" ")}; echo denied=$?; sleep 9`], {
        env: { INLAY_ENROL_TOKEN: late.group.token },
        podmanArgs: NET,
      });
      await run.waitFor("denied=113");
      await late.start();
      const r = await run.result;
      assert.equal(r.code, 0, explain(r));
      const link = eventsOf(r, "enforcer.console").map((e) => e.detail?.problem);
      assert.deepEqual(link, ["unreachable", "none"], explain(r));
      assertStoredExactlyOnce(r, await late.events());
    } finally {
      await late.dispose();
    }
  });

  test("a full buffer drops the newest events and counts them; the count reaches the console when the link returns", async () => {
    const late = await LinkedConsole.create();
    try {
      await late.kill();
      const ca = `${t.scratch}/drop-ca.pem`;
      await writeFile(t.hostPath(ca), late.ca);
      const b = await t.writeBundle(bundleText(["report-execs on", ...manifest, ...consoleLines(late, ca)]));
      const burst = `i=0; while [ $i -lt 200 ]; do ${t.progs}/exec-via plain /bin/true; i=$((i+1)); done; echo burst-done; sleep 14`;
      const run = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", burst], {
        env: { INLAY_ENROL_TOKEN: late.group.token, INLAY_REPORTER_BUFFER_BYTES: "65536" },
        podmanArgs: NET,
      });
      await run.waitFor("burst-done");
      await late.start();
      const r = await run.result;
      assert.equal(r.code, 0, explain(r));
      const stored = storedIds(await late.events(), instanceOf(r));
      assert.equal(new Set(stored).size, stored.length, "nothing stored twice");
      const missing = r.events.filter((e) => !stored.includes(e.id));
      const reports = eventsOf(r, "enforcer.dropped").filter((e) => e.detail?.sink === "console");
      const reported = reports.reduce((n, e) => n + Number(e.detail?.dropped), 0);
      assert.ok(missing.length > 0, "a 64 KiB buffer cannot hold the burst");
      assert.equal(reported, missing.length, `every lost event is counted: ${reported} reported, ${missing.length} missing`);
      assert.ok(reports.every((e) => stored.includes(e.id)), "the drop report itself reached the console");
      assert.ok(stored.length * 600 > 65536 / 2, `the buffer was used: ${stored.length} stored`);
    } finally {
      await late.dispose();
    }
  });

  test("console killed and restarted mid-stream: no acknowledged event is lost and none is stored twice", async () => {
    const b = await t.writeBundle(bundleText(["report-execs on", ...manifest, ...consoleLines(linked)]));
    const loop = `i=0; while [ $i -lt 60 ]; do ${t.progs}/exec-via plain /bin/echo tick >/dev/null; i=$((i+1)); sleep 0.1; done; echo done`;
    const run = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", loop], { env: { INLAY_ENROL_TOKEN: linked.group.token }, podmanArgs: NET });
    // Kill the console once some events were stored, while the workload keeps producing.
    const instance = await eventually("the first stored process.exec", async () => {
      const s = (await linked.events()).filter((e) => e.event.kind === "process.exec");
      const mine = s.at(-1)?.event.enforcer.instance;
      return mine && s.filter((e) => e.event.enforcer.instance === mine).length >= 4 ? mine : undefined;
    });
    await linked.kill();
    await sleep(2500);
    await linked.start();
    const r = await run.result;
    assert.equal(r.code, 0, explain(r));
    assert.equal(instanceOf(r), instance);
    assert.ok(eventsOf(r, "process.exec").length >= 100, `a stream of events: ${eventsOf(r, "process.exec").length}`);
    assertStoredExactlyOnce(r, await linked.events());
  });

  test("a revoked enrolment token is refused; the enforcer says so and keeps protecting", async () => {
    const doomed = await linked.newToken();
    const b = await t.writeBundle(bundleText(["control drift enforce", ...manifest, ...consoleLines(linked)]));
    const ok = await t.run([t.enforcer, "--bundle", b, "--", "/bin/true"], { env: { INLAY_ENROL_TOKEN: doomed.token }, podmanArgs: NET });
    assert.equal(eventsOf(ok, "enforcer.console")[0]?.detail?.problem, "none", `positive control: ${explain(ok)}`);
    await linked.revokeToken(doomed.id);
    const r = await t.run([t.enforcer, "--bundle", b, "--", ...drift()], { env: { INLAY_ENROL_TOKEN: doomed.token }, podmanArgs: NET });
    assert.equal(r.code, EACCES_EXIT, `still protected: ${explain(r)}`);
    const link = eventsOf(r, "enforcer.console");
    assert.equal(link.length, 1, explain(r));
    assert.equal(link[0]!.detail?.problem, "refused");
    assert.equal(link[0]!.detail?.status, 401);
    assert.equal((await linked.workloads()).filter((w) => w.instance === instanceOf(r)).length, 0);
  });

  test("wait-for-policy holds the workload for the console: fail-closed refuses to start, fail-open starts with an event", async () => {
    const down = await LinkedConsole.create({ started: false });
    try {
      const ca = `${t.scratch}/down-ca.pem`;
      await writeFile(t.hostPath(ca), down.ca);
      const closed = await t.writeBundle(bundleText([...consoleLines(down, ca), "enrol-token inlay_enr_unused", "wait-for-policy 2 fail-closed"]));
      const r1 = await t.run([t.enforcer, "--bundle", closed, "--", "/bin/echo", "workload-ran"], { podmanArgs: NET });
      assert.equal(r1.code, 125, explain(r1));
      assert.ok(!r1.stdout.includes("workload-ran"), explain(r1));
      assert.match(r1.stderr, /did not answer within 2 s \(wait-for-policy fail-closed\)/);
      const open = await t.writeBundle(bundleText([...consoleLines(down, ca), "enrol-token inlay_enr_unused", "wait-for-policy 2 fail-open"]));
      const r2 = await t.run([t.enforcer, "--bundle", open, "--", "/bin/echo", "workload-ran"], { podmanArgs: NET });
      assert.equal(r2.code, 0, explain(r2));
      assert.match(r2.stdout, /workload-ran/);
      assert.ok(eventsOf(r2, "enforcer.console").some((e) => /wait-for-policy/.test(e.reason)), explain(r2));
      // Positive control: with the console up the workload starts after registration and policy fetch.
      const fresh = await LinkedConsole.create();
      try {
        const fca = `${t.scratch}/fresh-ca.pem`;
        await writeFile(t.hostPath(fca), fresh.ca);
        const b = await t.writeBundle(bundleText([...consoleLines(fresh, fca), "wait-for-policy 10 fail-closed"]));
        const r3 = await t.run([t.enforcer, "--bundle", b, "--", "/bin/echo", "workload-ran"], { env: { INLAY_ENROL_TOKEN: fresh.group.token }, podmanArgs: NET });
        assert.equal(r3.code, 0, explain(r3));
        assert.match(r3.stdout, /workload-ran/);
      } finally {
        await fresh.dispose();
      }
    } finally {
      await down.dispose();
    }
  });

  test("platform metadata from ECS task metadata v4, the Cloud Run metadata server and the Kubernetes downward API reaches the inventory", async () => {
    const meta = await startMetadataServer();
    try {
      const digest = `sha256:${"d6".repeat(32)}`;
      const run = async (env: Record<string, string>) => {
        const b = await t.writeBundle(bundleText(consoleLines(linked)));
        const r = await t.run([t.enforcer, "--bundle", b, "--", "/bin/true"], { env: { INLAY_ENROL_TOKEN: linked.group.token, ...env }, podmanArgs: NET });
        assert.equal(r.code, 0, explain(r));
        const w = (await linked.workloads()).filter((x) => x.instance === instanceOf(r));
        assert.equal(w.length, 1, explain(r));
        return Object.assign(w[0]!, { run: r });
      };

      const ecs = await run({ ECS_CONTAINER_METADATA_URI_V4: `${meta.url}/v4/0f1e2d3c-api`, AWS_EXECUTION_ENV: "AWS_ECS_FARGATE" });
      assert.deepEqual(ecs.location, {
        cloud: "aws", account: "111122223333", region: "eu-west-1", cluster: "prod", service: "api-service",
        task: "arn:aws:ecs:eu-west-1:111122223333:task/prod/158d1c8083dd49d6b527399fd6414f5c", container: "api",
      });
      assert.equal(ecs.platform.platform, "ecs-fargate");
      assert.equal(ecs.platform.family, "api");
      assert.equal(ecs.platform.revision, "26");
      assert.equal(ecs.platform.availability_zone, "eu-west-1b");
      assert.equal(ecs.platform.launch_type, "FARGATE");
      assert.deepEqual(ecs.image, { name: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/api:1.4", digest });
      // Events formatted after the metadata was gathered carry the location (the registration event always is).
      const onEvent = eventsOf(ecs.run, "enforcer.console")[0]?.platform;
      assert.deepEqual(onEvent, { platform: "ecs-fargate", ...ecs.location }, explain(ecs.run));
      const storedLink = (await linked.events()).find((e) => e.event.id === eventsOf(ecs.run, "enforcer.console")[0]!.id);
      assert.deepEqual((storedLink?.event as { platform?: unknown } | undefined)?.platform, onEvent, "stored with the event");

      const run_ = await run({ K_SERVICE: "checkout", K_REVISION: "checkout-00042-abc", K_CONFIGURATION: "checkout", GCE_METADATA_HOST: meta.host });
      assert.equal(run_.location.cloud, "gcp");
      assert.equal(run_.location.account, "shop-prod");
      assert.equal(run_.location.region, "europe-west1");
      assert.equal(run_.location.service, "checkout");
      assert.equal(run_.location.task, "checkout-00042-abc");
      assert.ok(meta.requests.some((q) => q.path === "/computeMetadata/v1/instance/region" && q.flavor === "Google"), "the metadata header is sent");

      const k8s = await run({
        KUBERNETES_SERVICE_HOST: "10.96.0.1", INLAY_POD_NAME: "api-7d9f-x2x", INLAY_POD_NAMESPACE: "shop", INLAY_NODE_NAME: "fargate-ip-10-0-1-2.eu-west-1.compute.internal",
        INLAY_CLUSTER_NAME: "eks-prod",
      });
      assert.equal(k8s.platform.platform, "eks-fargate");
      assert.equal(k8s.location.cloud, "aws");
      assert.equal(k8s.location.task, "api-7d9f-x2x");
      assert.equal(k8s.location.cluster, "eks-prod");
      assert.equal(k8s.platform.namespace, "shop");

      // Negative control: a metadata endpoint that answers 500 leaves the fields empty and says why.
      const broken = await run({ ECS_CONTAINER_METADATA_URI_V4: `${meta.url}/broken` });
      assert.equal(broken.location.task, "");
      assert.match(broken.platform.metadata_error ?? "", /answered 500/);
    } finally {
      await meta.close();
    }
  });
});
