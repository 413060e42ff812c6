// PID-1 duties of the real enforcer, ported from tini's and dumb-init's suites: exit codes,
// signal deaths, signal forwarding, process groups, zombie reaping, exec failures, descriptor
// leaks. Runs on the host and as PID 1 of a podman container in three configurations.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { access, writeFile } from "node:fs/promises";
import { ALL_TARGETS, bundleText, eventsOf, explain, makeTargets, type Target } from "../helpers/enforcer.js";
import { extractEvents } from "../../src/events/event-schema.js";
import { startSilentConsole } from "./silent-console.js";

const exists = (p: string) => access(p).then(() => true, () => false);

for (const kind of ALL_TARGETS) {
  describe(`enforcer PID-1 duties (${kind})`, () => {
    let t: Target;
    let bundle: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
      // every control off: these tests are about the supervisor, not the policy
      bundle = await t.writeBundle(bundleText(["control drift off"]));
    });
    after(async () => cleanup());

    const enf = (...argv: string[]) => [t.enforcer, "--bundle", bundle, "--", ...argv];

    test("passes the workload's exit status through, and reports start and exit", async () => {
      const codes = kind === "host" ? Array.from({ length: 256 }, (_, i) => i) : [0, 1, 2, 100, 127, 128, 255];
      for (const code of codes) {
        const r = await t.run(enf(`${t.progs}/pid1`, "exit", String(code)));
        assert.equal(r.code, code, explain(r));
        const start = eventsOf(r, "enforcer.start");
        assert.equal(start.length, 1, explain(r));
        assert.ok(typeof start[0]!.detail?.workload_pid === "number");
        assert.deepEqual(eventsOf(r, "enforcer.exit").map((e) => e.detail), [{ status: code }]);
      }
    });

    test("exits with 128+N when signal N kills the workload", async () => {
      for (const sig of [9, 15, 10]) {
        const r = await t.run(enf(`${t.progs}/pid1`, "kill-self", String(sig)));
        assert.equal(r.code, 128 + sig, explain(r));
        assert.deepEqual(eventsOf(r, "enforcer.exit").map((e) => e.detail), [{ signal: sig }]);
      }
    });

    test("forwards TERM, USR1, USR2, HUP and INT to the workload", async () => {
      const nums: Record<string, number> = { SIGTERM: 15, SIGUSR1: 10, SIGUSR2: 12, SIGHUP: 1, SIGINT: 2 };
      for (const [sig, num] of Object.entries(nums)) {
        const run = t.start(enf(`${t.progs}/pid1`, "wait-signal"));
        await run.waitFor("ready");
        await run.signal(sig as NodeJS.Signals);
        const r = await run.result;
        assert.equal(r.code, num, `${sig}: ${explain(r)}`);
      }
    });

    test("forwards signal 34 (SIGRTMIN of glibc and Go; musl keeps 32-34 for itself) instead of dying of it or dropping it", async () => {
      // The workload traps 34 and exits 9. Before the fix the enforcer left 32-34 unblocked: on the
      // host it died of the signal (and EXITKILL took the workload), as PID 1 the kernel dropped it
      // and the workload ran to its end (0).
      const run = t.start(enf("/bin/sh", "-c", "trap 'exit 9' 34; echo ready; i=0; while [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; exit 0"));
      await run.waitFor("ready");
      await new Promise((r) => setTimeout(r, 200)); // the enforcer's threads have all started
      await run.signal(34);
      const r = await run.result;
      assert.equal(r.code, 9, explain(r));
      assert.deepEqual(eventsOf(r, "enforcer.exit").map((e) => e.detail), [{ status: 9 }]);
      // control: the same trap answers 34 sent to the shell directly, so 9 means "forwarded"
      const direct = await t.run(enf("/bin/sh", "-c", "trap 'exit 9' 34; kill -34 $$; sleep 1; exit 0"));
      assert.equal(direct.code, 9, explain(direct));
    });

    test("-g forwards to the whole process group; without it only the workload gets the signal", async () => {
      const withGroup = t.start([t.enforcer, "--bundle", bundle, "-g", "--", `${t.progs}/pid1`, "pgroup"]);
      await withGroup.waitFor("ready");
      await withGroup.signal("SIGTERM");
      const r1 = await withGroup.result;
      assert.equal(r1.code, 0, explain(r1));
      // negative control: the grandchild never sees the TERM
      const without = t.start(enf(`${t.progs}/pid1`, "pgroup"));
      await without.waitFor("ready");
      await without.signal("SIGTERM");
      const r2 = await without.result;
      assert.equal(r2.code, 3, explain(r2));
    });

    test("a stopped workload stays stopped (group-stop) until SIGCONT is forwarded; SIGSTOP is not swallowed", async () => {
      const run = t.start(enf("/bin/sh", "-c", "echo stopping; kill -STOP $$; echo resumed; exit 4"));
      await run.waitFor("stopping");
      await new Promise((r) => setTimeout(r, 700));
      let ended = false;
      void run.result.then(() => (ended = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(ended, false, "the workload kept running although it stopped itself");
      await run.signal("SIGCONT");
      const r = await run.result;
      assert.equal(r.code, 4, explain(r));
      assert.equal(r.stdout, "stopping\nresumed\n");
    });

    test("a stop request (SIGTERM) during wait-for-policy ends start-up at once: 143, enforcer.exit, the workload never started", async () => {
      // Before the fix every signal stayed blocked and untaken until the workload started: the
      // enforcer waited out all 12 s, then started the workload only to forward it the TERM.
      const console_ = await startSilentConsole();
      try {
        const b = await t.writeBundle(bundleText(["control drift off", `console ${console_.url}`, "enrol-token abc", "wait-for-policy 12 fail-open"]));
        const marker = `${t.scratch}/started-by-term-test`;
        const run = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", `touch ${marker}; exec sleep 30`], { podmanArgs: ["--network=host"] });
        await console_.connected; // registering: the enforcer is in its wait-for-policy
        const sent = Date.now();
        await run.signal("SIGTERM");
        const r = await run.result;
        const took = Date.now() - sent;
        assert.equal(r.code, 143, explain(r));
        assert.ok(took < 4000, `the enforcer took ${took} ms to honour the stop request\n${explain(r)}`);
        assert.deepEqual(eventsOf(r, "enforcer.exit").map((e) => e.detail), [{ stopped_by: 15, phase: "wait-for-policy" }], explain(r));
        assert.match(eventsOf(r, "enforcer.exit")[0]!.reason, /stopped by SIGTERM during start-up, before the workload started/);
        assert.deepEqual(eventsOf(r, "enforcer.start"), [], "the workload never started");
        assert.match(r.stderr, /inlay-enforcer: stopped by SIGTERM during start-up \(wait-for-policy\); the workload was not started/);
        assert.equal(await exists(t.hostPath(marker)), false, "the workload ran");
      } finally {
        await console_.close();
      }
    });

    test("a signal that is no stop request (SIGUSR1) during wait-for-policy does not end start-up and reaches the workload once it starts", async () => {
      const console_ = await startSilentConsole();
      try {
        const b = await t.writeBundle(bundleText(["control drift off", `console ${console_.url}`, "enrol-token abc", "wait-for-policy 2 fail-open"]));
        const run = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", "sleep 5; exit 0"], { podmanArgs: ["--network=host"] });
        await console_.connected;
        const sent = Date.now();
        await run.signal("SIGUSR1");
        const r = await run.result;
        // the whole wait was served (fail-open), then the pending USR1 was forwarded: 128+10. The
        // workload outlives the forwarder's start (a thread, scheduled when it is scheduled), so
        // the signal cannot come after it ended.
        assert.ok(Date.now() - sent > 1000, `start-up ended early\n${explain(r)}`);
        assert.equal(r.code, 138, explain(r));
        assert.deepEqual(eventsOf(r, "enforcer.exit").map((e) => e.detail), [{ signal: 10 }], explain(r));
        assert.equal(eventsOf(r, "enforcer.console").some((e) => /did not answer within wait-for-policy/.test(e.reason)), true, explain(r));
        assert.doesNotMatch(r.stderr, /stopped by/);
      } finally {
        await console_.close();
      }
    });

    test("reaps orphaned zombies", async () => {
      const r = await t.run(enf(`${t.progs}/pid1`, "zombies", "5"));
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, /^zombies=0$/m, explain(r));
    });

    if (kind !== "host") {
      test("negative control: the same program as PID 1 without the enforcer leaves zombies", async () => {
        const r = await t.run([`${t.progs}/pid1`, "zombies", "5"]);
        assert.equal(r.code, 0, explain(r));
        assert.match(r.stdout, /^zombies=5$/m, explain(r));
      });
    }

    test("exits 127 when the program is not found and 126 when it is not executable", async () => {
      const r1 = await t.run(enf("no-such-program"));
      assert.equal(r1.code, 127, explain(r1));
      assert.match(r1.stderr, /cannot execute no-such-program: not found on PATH/);
      await writeFile(t.hostPath(`${t.scratch}/not-exec`), "#!/bin/sh\n", { mode: 0o644 });
      const r2 = await t.run(enf(`${t.scratch}/not-exec`));
      assert.equal(r2.code, 126, explain(r2));
      assert.match(r2.stderr, /cannot execute .*not-exec: Permission denied/);
      const r3 = await t.run(enf("not-exec"), { env: { PATH: `/nowhere:${t.scratch}` } });
      assert.equal(r3.code, 126, explain(r3));
    });

    test("leaks no descriptor into the workload and restores its signal mask", async () => {
      const r = await t.run([t.enforcer, "--bundle", bundle, "--events", `file:${t.scratch}/events-fd`, "--", `${t.progs}/pid1`, "fds"]);
      assert.equal(r.code, 0, explain(r));
      const fds = r.stdout.trim().split("\n").map((l) => Number(l.split(" ")[1]));
      assert.deepEqual(fds.filter((fd) => fd > 2), [], explain(r));
      const m = await t.run(enf(`${t.progs}/pid1`, "sigmask"));
      assert.match(m.stdout, /^blocked=0+$/m, explain(m));
    });

    if (kind === "host") {
      test("on a terminal the workload gets its own foreground process group, and Ctrl-C reaches it (130)", async () => {
        const viaScript = (cmd: string, input?: string): Promise<{ code: number; out: string }> =>
          new Promise((resolve) => {
            const child = spawn("script", ["-qec", cmd, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
            let out = "";
            child.stdout.setEncoding("utf8").on("data", (d: string) => {
              out += d;
              if (input && out.includes("ready")) {
                child.stdin.write(input);
                input = undefined;
              }
            });
            child.on("close", (code) => resolve({ code: code ?? -1, out }));
            if (!input) child.stdin.end();
          });
        const fg = await viaScript(`${t.enforcer} --bundle ${bundle} --events file:${t.scratch}/tty-events -- ${t.progs}/pid1 tty`);
        assert.match(fg.out, /foreground=yes\r?$/m, fg.out);
        // negative control: a job in its own background process group is not the foreground
        const bg = await viaScript(`/bin/sh -c 'set -m; ${t.progs}/pid1 tty & wait'`);
        assert.match(bg.out, /foreground=no\r?$/m, bg.out);
        const ctrlC = await viaScript(`${t.enforcer} --bundle ${bundle} --events file:${t.scratch}/tty-events -- /bin/sh -c 'echo ready; exec sleep 20'`, "\x03");
        assert.equal(ctrlC.code, 130, ctrlC.out);
      });

      test("closes descriptors it inherits and keeps --events fd:N out of the workload", async () => {
        const child = spawn(t.enforcer, ["--bundle", bundle, "--events", "fd:4", "--", `${t.progs}/pid1`, "fds"], {
          stdio: ["ignore", "pipe", "pipe", "pipe", "pipe", "pipe"],
        });
        let out = "";
        let events = "";
        child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
        (child.stdio[4] as NodeJS.ReadableStream).setEncoding("utf8").on("data", (d: string) => (events += d));
        const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
        assert.equal(code, 0);
        const fds = out.trim().split("\n").map((l) => Number(l.split(" ")[1]));
        assert.deepEqual(fds.filter((fd) => fd > 2), [], out);
        const ev = extractEvents(events).events;
        assert.deepEqual(ev.map((e) => e.kind), ["enforcer.start", "enforcer.exit"]);
      });
    }
  });
}
