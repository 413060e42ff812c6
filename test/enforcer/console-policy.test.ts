// A console policy in force (issue 5: "a console policy overrides the baked one only when the
// group says so"): the enforcer runs as PID 1 of a podman container against a real TLS console
// whose group is assigned a policy. The baked bundle lets the probe program run; the console
// policy blocks it by name and makes a directory read-only.
//  (a) wait-for-policy: the console policy is in force from the first exec, the read-only
//      directory too (the filter was built from it); negative control: override off.
//  (b) mid-run: assigning the policy blocks the probe within a few heartbeats, with an
//      enforcer.policy event; (c) the read-only control needs a trap the filter lacks, so it is
//      pending_restart and not in force; reverting the override lets the probe run again.
//  (d) a corrupt overlay (from a loopback stand-in, a real console never serves one) under
//      wait-for-policy fail-closed refuses to start, naming the overlay line; fail-open starts
//      under the baked policy with an enforcer.degraded event; a version served with
//      overlay_error instead of an overlay is refused the same way.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile, mkdir } from "node:fs/promises";
import { bundleText, eventsOf, explain, makeTargets, manifestLines, pct, type Target } from "../helpers/enforcer.js";
import { LinkedConsole } from "./linked-console.js";
import { startPolicyAnswerServer } from "./policy-answer-server.js";

const NET = ["--network=host"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("console policy in force (podman, TLS console)", () => {
  let t: Target;
  let cleanup: () => Promise<void>;
  let manifest: string[];
  let linked: LinkedConsole;
  let caPath: string;
  let blocking: { version: number; sha256: string };

  const probe = () => `${t.progs}/pid1`;
  const roDir = () => `${t.scratch}/ro`;
  const policyDoc = () =>
    [
      "apiVersion: inlay.dev/v1",
      "kind: RuntimePolicy",
      "metadata: {name: block-probe}",
      "spec:",
      "  executables:",
      "    drift: {mode: off}",
      "    fileless: {mode: enforce}",
      "    loader: {mode: off}",
      "    block: {mode: enforce, names: [pid1]}",
      "  reverseShell: {mode: off}",
      "  miners: {mode: off}",
      "  packageManagers: {mode: off}",
      "  network: {outbound: {mode: off}, listen: {mode: off}}",
      "  files:",
      `    readOnly: {mode: enforce, paths: ["${roDir()}/*"]}`,
      "    audited: {mode: off}",
      "  privilege: {mode: off}",
      "",
    ].join("\n");

  before(async () => {
    const made = await makeTargets(["podman-default"]);
    t = made.targets[0]!;
    cleanup = made.dispose;
    manifest = await manifestLines(t);
    await mkdir(t.hostPath(roDir()), { recursive: true, mode: 0o777 });
    linked = await LinkedConsole.create({ args: ["--heartbeat-seconds", "1"] });
    caPath = `${t.scratch}/console-ca.pem`;
    await writeFile(t.hostPath(caPath), linked.ca);
    blocking = await linked.addPolicy("block-probe", policyDoc());
  });
  after(async () => {
    await linked?.dispose();
    await cleanup?.();
  });

  const consoleLines = () => [`console ${linked.url}`, `console-ca ${pct(caPath)}`];
  // The baked policy: drift enforced, nothing blocked, no file control (so no file trap).
  const baked = (extra: string[]) => bundleText(["control drift enforce", "control blocklist enforce", ...manifest, ...consoleLines(), ...extra]);
  const env = () => ({ INLAY_ENROL_TOKEN: linked.group.token });

  test("(a) wait-for-policy: the group's console policy is in force from the first exec; override off keeps the baked one", async () => {
    await linked.assignPolicy("block-probe", true);
    const b = await t.writeBundle(baked(["wait-for-policy 15 fail-closed"]));
    // The sleep outlives a heartbeat after the events were stored, for the inventory check below.
    const script = `echo x > ${roDir()}/a; echo write=$?; ${t.progs}/exec-via plain ${probe()} exit 7; echo probe=$?; sleep 2.5`;
    const r = await t.run([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", script], { env: env(), podmanArgs: NET });
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /probe=113\n/, `blocked by the console policy: ${explain(r)}`);
    assert.match(r.stdout, /write=[1-9]\n/, `the read-only directory is in force (the filter traps file writes): ${explain(r)}`);
    const blocked = eventsOf(r, "exec.blocked");
    assert.equal(blocked[0]?.rule, "blocklist.name", explain(r));
    assert.equal(blocked[0]?.action, "deny");
    const applied = eventsOf(r, "enforcer.policy");
    assert.equal(applied.length, 1, explain(r));
    assert.equal(applied[0]!.detail?.action, "applied");
    assert.deepEqual(applied[0]!.detail?.pending_restart, [], "every control in force at start");
    assert.deepEqual((applied[0]!.detail?.policy as { sha256?: string })?.sha256, blocking.sha256);
    // The very first exec of the workload is judged by the console policy too.
    const first = await t.run([t.enforcer, "--bundle", b, "--", probe(), "exit", "7"], { env: env(), podmanArgs: NET });
    assert.notEqual(first.code, 7, explain(first));
    assert.equal(eventsOf(first, "exec.blocked")[0]?.action, "deny", explain(first));
    // The inventory shows it (heartbeats are group-committed within about a second).
    let inForce: string | undefined;
    for (let i = 0; i < 20 && inForce !== blocking.sha256; i++) {
      if (i) await sleep(250);
      inForce = (await linked.workloads()).find((x) => x.instance === r.events[0]?.enforcer.instance)?.policy_in_force;
    }
    assert.equal(inForce, blocking.sha256, "the inventory shows the console policy in force");

    // Negative control: the same policy assigned without override: the baked policy runs the probe.
    await linked.assignPolicy("block-probe", false);
    const n = await t.run([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", script.replace("/a;", "/b;").replace("; sleep 2.5", "")], { env: env(), podmanArgs: NET });
    assert.equal(n.code, 0, explain(n));
    assert.match(n.stdout, /probe=7\n/, explain(n));
    assert.match(n.stdout, /write=0\n/, explain(n));
    assert.equal(eventsOf(n, "enforcer.policy").length, 0, explain(n));
    assert.equal(eventsOf(n, "exec.blocked").length, 0, explain(n));
  });

  test("(b, c) mid-run: an assigned policy takes effect within a few heartbeats, a control needing an untrapped syscall is pending_restart, and revert restores the baked one", async () => {
    await linked.assignPolicy("block-probe", false);
    const stop = `${t.scratch}/stop-midrun`;
    const b = await t.writeBundle(baked([]));
    // Each round: the probe's status and a write under the read-only directory, on one line; once
    // the probe was blocked, a later round where it runs again prints "reran".
    const loop = [
      "i=0; seen=0",
      `while [ ! -e ${stop} ] && [ $i -lt 600 ]; do`,
      `${t.progs}/exec-via plain ${probe()} exit 7; p=$?`,
      `echo x > ${roDir()}/m 2>/dev/null; w=$?`,
      'echo "round=$i probe=$p write=$w"',
      'if [ $p = 113 ]; then seen=1; elif [ $seen = 1 ]; then echo reran; fi',
      "i=$((i+1)); sleep 0.1; done",
    ].join("\n");
    const run = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", loop], { env: env(), podmanArgs: NET, timeoutMs: 120_000 });
    try {
      await run.waitFor("probe=7 write=0");
      await sleep(1500); // registered and the first policy answer (override off) held
      await linked.assignPolicy("block-probe", true);
      await run.waitFor("probe=113");
      await linked.assignPolicy("block-probe", false);
      await run.waitFor("reran");
    } finally {
      await writeFile(t.hostPath(stop), "");
    }
    const r = await run.result;
    assert.equal(r.code, 0, explain(r));
    const rounds = [...r.stdout.matchAll(/round=(\d+) probe=(\d+) write=(\d+)/g)].map((m) => ({ probe: Number(m[2]), write: Number(m[3]) }));
    const firstBlocked = rounds.findIndex((x) => x.probe === 113);
    assert.ok(firstBlocked > 0, `runs first, then blocked: ${explain(r)}`);
    const lastBlocked = rounds.map((x) => x.probe).lastIndexOf(113);
    assert.ok(lastBlocked < rounds.length - 1 && rounds.slice(lastBlocked + 1).every((x) => x.probe === 7), `runs again after the revert: ${explain(r)}`);
    // (c) the read-only control needs the file trap, which the baked filter does not install.
    assert.ok(rounds.every((x) => x.write === 0), `writes are not blocked before a restart: ${explain(r)}`);
    const policy = eventsOf(r, "enforcer.policy");
    assert.deepEqual(policy.map((e) => e.detail?.action), ["applied", "reverted"], explain(r));
    assert.deepEqual(policy[0]!.detail?.pending_restart, ["files"], explain(r));
    assert.equal(policy[0]!.severity, "medium");
    assert.equal((policy[0]!.detail?.policy as { sha256?: string })?.sha256, blocking.sha256);
    assert.equal(policy[1]!.detail?.policy_in_force, "baked");
    // The policy event precedes the first denial, and the denial is the console policy's.
    const ids = r.events.map((e) => e.kind);
    assert.ok(ids.indexOf("enforcer.policy") < ids.indexOf("exec.blocked"), explain(r));
  });

  test("(d) a corrupt overlay under wait-for-policy: fail-closed refuses to start naming the overlay line; fail-open runs the baked policy", async () => {
    const overlay = "inlay-policy 1\ncontrol blocklist enforce\nexe 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 /bin/sh\nend\n";
    const server = await startPolicyAnswerServer({
      override: true,
      policy: { name: "corrupt", version: 3, sha256: "ab".repeat(32), document: "{}", overlay, overlay_id: "sha256:" + "00".repeat(32) },
    });
    try {
      const link = [`console ${server.url}`, "enrol-token inlay_enr_standin"];
      const closed = await t.writeBundle(bundleText([...link, "wait-for-policy 10 fail-closed"]));
      const r = await t.run([t.enforcer, "--bundle", closed, "--", "/bin/echo", "workload-ran"], { podmanArgs: NET });
      assert.equal(r.code, 125, explain(r));
      assert.ok(!r.stdout.includes("workload-ran"), explain(r));
      assert.match(r.stderr, /cannot apply the console policy: console policy corrupt version 3: overlay line 3: "exe" is not allowed in a policy overlay/);
      const refused = eventsOf(r, "enforcer.refused");
      assert.equal(refused.length, 1, explain(r));
      assert.match(String(refused[0]!.detail?.cause), /overlay line 3/);
      assert.equal(eventsOf(r, "enforcer.policy")[0]?.detail?.action, "refused", explain(r));
      assert.ok(server.requests.includes("GET /api/enforcer/v1/policy"), server.requests.join("\n"));

      const open = await t.writeBundle(bundleText([...link, "wait-for-policy 10 fail-open"]));
      const o = await t.run([t.enforcer, "--bundle", open, "--", "/bin/echo", "workload-ran"], { podmanArgs: NET });
      assert.equal(o.code, 0, explain(o));
      assert.match(o.stdout, /workload-ran/);
      const degraded = eventsOf(o, "enforcer.degraded");
      assert.equal(degraded.length, 1, explain(o));
      assert.match(String(degraded[0]!.detail?.cause), /overlay line 3/);
    } finally {
      await server.close();
    }
    // A version the console could not compile is served without an overlay: refused the same way.
    const uncompiled = await startPolicyAnswerServer({
      override: true,
      policy: { name: "old", version: 1, sha256: "cd".repeat(32), document: "{}", overlay: null, overlay_id: null, overlay_error: "p.yaml:4:5: spec.executables.drift.mode: is \"enforced\"" },
    });
    try {
      const closed = await t.writeBundle(bundleText([`console ${uncompiled.url}`, "enrol-token inlay_enr_standin", "wait-for-policy 10 fail-closed"]));
      const r = await t.run([t.enforcer, "--bundle", closed, "--", "/bin/echo", "workload-ran"], { podmanArgs: NET });
      assert.equal(r.code, 125, explain(r));
      assert.ok(!r.stdout.includes("workload-ran"), explain(r));
      assert.match(String(eventsOf(r, "enforcer.refused")[0]?.detail?.cause), /console policy old version 1: the console could not compile it: p\.yaml:4:5/, explain(r));
    } finally {
      await uncompiled.close();
    }
  });
});
