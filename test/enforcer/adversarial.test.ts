// Attacks from inside the workload against the exec checks and against the enforcer itself,
// each with a negative control showing the same attack succeeds in audit mode or without the
// enforcer. Host and three podman setups.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ALL_TARGETS, BUILD_DIR, bundleText, eventsOf, explain, makeTargets, manifestLines, pct, sha256File, type RunResult, type Target } from "../helpers/enforcer.js";

interface RaceSummary { forbidden: number; allowed: number; killed: number; refused: number; other: number }

function parseRace(stdout: string): RaceSummary {
  const m = /ran-forbidden=(\d+) ran-allowed=(\d+) killed=(\d+) refused=(\d+) other=(\d+)/.exec(stdout);
  assert.ok(m, `exec-race printed no summary: ${stdout}`);
  const [forbidden, allowed, killed, refused, other] = m.slice(1).map(Number) as [number, number, number, number, number];
  return { forbidden, allowed, killed, refused, other };
}

function lines(stdout: string): Record<string, string> {
  return Object.fromEntries(stdout.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

for (const kind of ALL_TARGETS) {
  describe(`enforcer against adversarial workloads (${kind})`, () => {
    let t: Target;
    let cleanup: () => Promise<void>;
    let forbidden: string;
    let allowed: string;
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
      allowed = `${t.scratch}/allowed`;
      forbidden = `${t.scratch}/forbidden`;
      for (const p of [allowed, forbidden]) {
        await copyFile(join(BUILD_DIR, "tests", "pid1"), t.hostPath(p));
        await chmod(t.hostPath(p), 0o755);
      }
    });
    after(async () => cleanup());

    test("a thread rewriting the exec path after the entry check never gets the forbidden file run", async () => {
      const enforce = await t.writeBundle(bundleText(["control blocklist enforce", `block-path ${pct(forbidden)}`]));
      const total = { forbidden: 0, killed: 0, refused: 0, allowed: 0 };
      // keep going until the exec-stop check has demonstrably caught a swapped path
      for (let round = 0; round < 5 && total.killed === 0; round++) {
        const r = await t.run([t.enforcer, "--bundle", enforce, "--", `${t.progs}/exec-race`, allowed, forbidden, "150"], { timeoutMs: 240_000 });
        assert.equal(r.code, 0, explain(r));
        const s = parseRace(r.stdout);
        assert.equal(s.forbidden, 0, `the forbidden file ran: ${explain(r)}`);
        for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
        if (s.killed > 0) {
          const late = eventsOf(r, "exec.blocked").filter((e) => (e.detail as { stage?: string }).stage === "exec");
          assert.ok(late.length > 0, `a killed exec left no exec-stage event: ${explain(r)}`);
          assert.ok(late.every((e) => e.action === "deny" && e.process!.exe === forbidden));
        }
      }
      assert.ok(total.killed > 0, `the race never got past the entry check: ${JSON.stringify(total)}`);
      assert.ok(total.allowed + total.refused > 0);
      // negative control: in audit mode the same race runs the forbidden file
      const audit = await t.writeBundle(bundleText(["control blocklist audit", `block-path ${pct(forbidden)}`]));
      const a = await t.run([t.enforcer, "--bundle", audit, "--", `${t.progs}/exec-race`, allowed, forbidden, "150"], { timeoutMs: 240_000 });
      assert.ok(parseRace(a.stdout).forbidden > 0, explain(a));
    });

    test("clone(CLONE_UNTRACED) is refused, so nothing escapes the tracer", async () => {
      const b = await t.writeBundle(bundleText(["control blocklist enforce", `block-path ${pct(forbidden)}`]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/escape`, "untraced-clone", forbidden]);
      assert.equal(r.code, 0, explain(r));
      assert.equal(lines(r.stdout).clone, "EPERM", explain(r));
      // negative control: without the enforcer the untraced clone runs the file
      const plain = await t.run([`${t.progs}/escape`, "untraced-clone", forbidden]);
      assert.deepEqual(lines(plain.stdout), { clone: "OK", "child-exit": "42" }, explain(plain));
    });

    test("the workload can neither trace, signal, write nor disable the enforcer", async () => {
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/escape`, "attack", "parent"]);
      assert.equal(r.code, 0, explain(r));
      const got = lines(r.stdout);
      assert.equal(got.ptrace, "EPERM", explain(r));
      assert.equal(got.kill, "EPERM");
      assert.equal(got.process_vm_writev, "EPERM");
      assert.notEqual(got.proc_mem, "OK");
      assert.equal(got.seccomp_listener, "EPERM");
      assert.equal(got.io_uring_setup, "ENOSYS");
      assert.equal(got.clone3, "ENOSYS");
      if (process.arch === "x64") assert.equal(got.ia32_getpid, "ENOSYS", "a foreign syscall ABI is refused");
      assert.equal(eventsOf(r, "enforcer.exit").length, 1, "the enforcer survived to report the exit");
      // negative control: the same attacks on an ordinary process (a sibling) succeed
      const plain = await t.run(["/bin/sh", "-c", `sleep 3 </dev/null >/dev/null 2>&1 & exec ${t.progs}/escape attack $!`]);
      const p = lines(plain.stdout);
      assert.equal(p.ptrace, "OK", explain(plain));
      assert.equal(p.kill, "OK");
      if (process.arch === "x64" && kind === "host") assert.equal(p.ia32_getpid, "OK", "this kernel has the ia32 entry");
    });

    test("not PID 1, no signal from the workload reaches any enforcer thread (tid, pidfd, /proc/<pid>)", async () => {
      // The wrapper case: on the host the enforcer is a child of the test runner; in a container
      // it runs behind --init (catatonit is PID 1), so the kernel's protection of init is absent.
      // Each attack signals every thread but the leader (event writer, forwarder, ...) with
      // SIGKILL (tkill-stop: SIGSTOP); before the fix each one killed or stopped the enforcer.
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const modes = ["kill", "tkill", "tkill-stop", "sigqueue", "pidfd-thread", "proc-pid", "proc-tid", "pgrp-join"];
      const opts = kind === "host" ? { timeoutMs: 20_000 } : { timeoutMs: 60_000, podmanArgs: ["--init"] };
      // one run per attack on the host (each proven alone), all in one run in the containers
      for (const mode of kind === "host" ? modes : ["all"]) {
        const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/escape`, "signal", "parent", mode], opts);
        assert.equal(r.code, 0, `${mode}: ${explain(r)}`);
        const got = lines(r.stdout);
        assert.ok(Number(got.threads) >= 1, `the enforcer has threads besides its leader: ${explain(r)}`);
        for (const m of mode === "all" ? modes : [mode]) assert.equal(got[m], "EPERM", `${m}: ${explain(r)}`);
        assert.equal(eventsOf(r, "enforcer.exit").length, 1, `the enforcer survived to report the exit: ${explain(r)}`);
      }
      if (kind !== "host") return;
      // negative control: the same attacks on another process's thread (a child of the workload)
      // go through under the enforcer
      for (const mode of modes.filter((m) => m !== "pgrp-join")) {
        const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/escape`, "signal", "child", mode], opts);
        const got = lines(r.stdout);
        assert.equal(got[mode], "OK", `${mode}: ${explain(r)}`);
        assert.equal(got.victim, "9", explain(r)); // killed by the attack (tkill-stop: by the final SIGKILL)
      }
      // and joining a process group of the same session works without the enforcer
      const plain = await t.run([`${t.progs}/escape`, "signal", "parent", "pgrp-join"]);
      assert.equal(lines(plain.stdout)["pgrp-join"], "OK", explain(plain));
    });

    test("a workload's own signals still work: raise, pthread_kill, kill, sigqueue, pidfd_send_signal", async () => {
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/escape`, "legit"]);
      assert.equal(r.code, 0, explain(r));
      const fine = { raise: "OK", pthread_kill: "OK", kill_self: "OK", sigqueue_self: "OK", pidfd_child: "OK", child_signal: "15" };
      assert.deepEqual(lines(r.stdout), fine, explain(r));
      if (kind === "host" || kind === "podman-default") {
        // a workload with another uid than the enforcer: in the container the enforcer lacks
        // CAP_SYS_PTRACE, so pidfd_getfd is refused and the pidfd is judged from its fdinfo
        const u = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/setuid-exec`, "1000", "1000", `${t.progs}/escape`, "legit"]);
        assert.equal(u.code, 0, explain(u));
        assert.deepEqual(lines(u.stdout), fine, explain(u));
      }
    });

    test("an exec from a secondary thread (the tid becomes the pid) is judged", async () => {
      const enforce = await t.writeBundle(bundleText(["control blocklist enforce", `block-path ${pct(forbidden)}`]));
      const r = await t.run([t.enforcer, "--bundle", enforce, "--", `${t.progs}/exec-via`, "thread", forbidden, "exe-marker"]);
      assert.equal(r.code, 113, explain(r));
      assert.equal(eventsOf(r, "exec.blocked")[0]?.action, "deny", explain(r));
      // audit: it runs, and the exec-stage alert names the process by its (unchanged) pid
      const audit = await t.writeBundle(bundleText(["control blocklist audit", `block-path ${pct(forbidden)}`]));
      const a = await t.run([t.enforcer, "--bundle", audit, "--", `${t.progs}/exec-via`, "thread", forbidden, "exe-marker"]);
      assert.equal(a.code, 42, explain(a));
      const alert = eventsOf(a, "exec.blocked");
      assert.equal(alert.length, 1, explain(a));
      assert.equal(alert[0]!.process!.pid, eventsOf(a, "enforcer.start")[0]!.detail!.workload_pid);
      assert.equal(alert[0]!.process!.exe, forbidden);
    });

    if (kind === "host" || kind === "podman-default") {
      test("in a chroot, the entry check resolves paths in the workload's root", async () => {
        // jail/<forbidden path> is a copy the block list does not name: the kernel reports it as
        // <scratch>/jail<forbidden>. Resolving the path in the enforcer's root instead would
        // refuse the exec for the blocked file outside the jail.
        const jail = `${t.scratch}/jail`;
        await mkdir(t.hostPath(`${jail}${t.scratch}`), { recursive: true });
        await copyFile(join(BUILD_DIR, "tests", "pid1"), t.hostPath(`${jail}${forbidden}`));
        await chmod(t.hostPath(`${jail}${forbidden}`), 0o755);
        const chroot = kind === "host" ? "/usr/sbin/chroot" : "/bin/chroot";
        const b = await t.writeBundle(bundleText(["control blocklist enforce", `block-path ${pct(forbidden)}`, "report-execs on"]));
        const r = await t.run([t.enforcer, "--bundle", b, "--", chroot, jail, forbidden, "exit", "7"]);
        assert.equal(r.code, 7, explain(r));
        assert.deepEqual(eventsOf(r, "exec.blocked"), []);
        assert.ok(eventsOf(r, "process.exec").some((e) => e.process!.exe === `${jail}${forbidden}`), explain(r));
      });
    }

    test("a script named through the enforcer's own /proc/self is still judged (exec stop)", async () => {
      // //proc/self/fd/200 and a symlink to /proc/self/fd/200 name the caller's descriptor for
      // the kernel, but the enforcer's (absent) one when it resolves them: the entry check sees
      // nothing, and the exec stop used to skip the script it could not open (ENOENT).
      const script = `${t.scratch}/fd-script.sh`;
      await writeFile(t.hostPath(script), "#!/bin/sh\nexit 6\n", { mode: 0o755 });
      const link = `${t.scratch}/to-self-fd`;
      await symlink("/proc/self/fd/200", t.hostPath(link));
      const manifest = await manifestLines(t);
      const enforce = await t.writeBundle(bundleText(["control drift enforce", ...manifest]));
      const audit = await t.writeBundle(bundleText(["control drift audit", ...manifest]));
      for (const name of ["//proc/self/fd/200", "/proc/./self/fd/200", link]) {
        const argv = [`${t.progs}/exec-via`, "fd-name", name, script];
        const r = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
        assert.equal(r.code, 137, `${name}: ${explain(r)}`);
        const denied = r.events.filter((e) => e.kind.startsWith("exec."));
        assert.ok(denied.length > 0 && denied.every((e) => e.action === "deny" && (e.detail as { stage?: string }).stage === "exec"), explain(r));
        // negative controls: audit mode and no enforcer run the script
        const a = await t.run([t.enforcer, "--bundle", audit, "--", ...argv]);
        assert.equal(a.code, 6, `${name}: ${explain(a)}`);
        assert.ok(a.events.some((e) => e.kind.startsWith("exec.") && e.action === "alert"), explain(a));
        const plain = await t.run(argv);
        assert.equal(plain.code, 6, explain(plain));
      }
      // the spelling the enforcer rewrites is judged at the entry, as before
      const own = await t.run([t.enforcer, "--bundle", enforce, "--", `${t.progs}/exec-via`, "fd-name", "/dev/fd/200", script]);
      assert.equal(own.code, 113, explain(own));
      assert.equal(eventsOf(own, "exec.drift")[0]?.rule, "drift.manifest", explain(own));
    });

    test("a hint left by a failed exec does not vouch for the next exec (same thread or another)", async () => {
      // A failed execve of /bin/sh (E2BIG) leaves the entry stop's hint "the named file is
      // /bin/sh". The next exec names a dropped #!/bin/sh script in a way the entry cannot
      // resolve (no new hint): the exe is /bin/sh again, so a stale hint made the exec stop
      // believe no script was involved and skip it.
      const script = `${t.scratch}/stale-script.sh`;
      await writeFile(t.hostPath(script), "#!/bin/sh\nexit 6\n", { mode: 0o755 });
      const manifest = await manifestLines(t);
      const enforce = await t.writeBundle(bundleText(["control drift enforce", ...manifest]));
      const audit = await t.writeBundle(bundleText(["control drift audit", ...manifest]));
      for (const how of ["same", "thread"]) {
        const argv = [`${t.progs}/exec-via`, "stale", "//proc/self/fd/200", script, "/bin/sh", how];
        const r = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
        assert.equal(r.code, 137, `${how}: ${explain(r)}`);
        assert.ok(r.events.some((e) => e.kind.startsWith("exec.") && e.action === "deny"), explain(r));
        const a = await t.run([t.enforcer, "--bundle", audit, "--", ...argv]);
        assert.equal(a.code, 6, `${how}: ${explain(a)}`);
        const plain = await t.run(argv);
        assert.equal(plain.code, 6, explain(plain));
      }
    });

    test("every script of a #! chain is judged, not only the one named and the final interpreter", async () => {
      // The kernel follows #! up to 5 scripts deep (exec_binprm: ELOOP past depth 5). An image
      // script whose interpreter is a dropped script: the exe (the shell) and AT_EXECFN (the
      // image script) both pass, and the dropped script in between used to run unjudged.
      const write = async (p: string, text: string, mode = 0o755) => writeFile(t.hostPath(p), text, { mode });
      await mkdir(t.hostPath(`${t.scratch}/drop`), { recursive: true });
      const drop = `${t.scratch}/drop/interp`;
      await write(drop, "#!/bin/sh\nexit 9\n");
      const evil = `${t.scratch}/chain-evil.sh`;
      await write(evil, `#!${drop}\nexit 5\n`);
      // a legitimate chain of image scripts, and one of the kernel's full depth
      const mid = `${t.scratch}/chain-mid.sh`;
      await write(mid, "#!/bin/sh\nexit 7\n");
      const top = `${t.scratch}/chain-top.sh`;
      await write(top, `#!${mid}\nexit 5\n`);
      const deep = (prefix: string) => [1, 2, 3, 4, 5].map((k) => `${t.scratch}/${prefix}${k}`);
      const good = deep("good-");
      const bad = deep("bad-");
      for (const [chain, code] of [[good, 11], [bad, 9]] as const) {
        await write(chain[0]!, `#!/bin/sh\nexit ${code}\n`);
        for (let k = 1; k < 5; k++) await write(chain[k]!, `#!${chain[k - 1]}\nexit 5\n`);
      }
      const image = [evil, mid, top, ...good, ...bad.slice(1)]; // bad-1 is the dropped one
      const manifest = [...(await manifestLines(t))];
      for (const p of image) manifest.push(`exe ${await sha256File(t.hostPath(p))} ${pct(p)}`);
      const enforce = await t.writeBundle(bundleText(["control drift enforce", ...manifest]));
      const audit = await t.writeBundle(bundleText(["control drift audit", ...manifest]));
      const namesDropped = (r: RunResult, action: string, script: string, depth: number) =>
        eventsOf(r, "exec.drift").some((e) => e.action === action && e.rule === "drift.manifest" && e.process!.script === script &&
          (e.detail as { script_depth?: number }).script_depth === depth);

      for (const [argv, dropped, depth] of [[[evil], drop, 2], [[bad[4]!], bad[0]!, 5]] as const) {
        const r = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
        assert.equal(r.code, 137, explain(r));
        assert.ok(namesDropped(r, "deny", dropped, depth), explain(r));
        assert.ok(r.events.filter((e) => e.kind.startsWith("exec.")).every((e) => e.action === "deny"), explain(r));
        // negative controls: audit mode runs it with an alert naming the dropped script; so does no enforcer
        const a = await t.run([t.enforcer, "--bundle", audit, "--", ...argv]);
        assert.equal(a.code, 9, explain(a));
        assert.ok(namesDropped(a, "alert", dropped, depth), explain(a));
        const plain = await t.run([...argv]);
        assert.equal(plain.code, 9, explain(plain));
      }
      // chains of image scripts still run, up to the kernel's depth
      for (const [argv, code] of [[[top], 7], [[good[4]!], 11]] as const) {
        const ok = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
        assert.equal(ok.code, code, explain(ok));
        assert.deepEqual(ok.events.filter((e) => e.kind.startsWith("exec.")), [], explain(ok));
      }

      if (kind === "host" || kind === "podman-default") {
        // The same chain built by a root workload in a chroot: jail/x is a copy of an image
        // script (#!/bin/sh), jail/bin/sh a dropped #!/bin/busybox script, jail/bin/busybox a copy.
        const jail = `${t.scratch}/chain-jail`;
        await mkdir(t.hostPath(`${jail}/bin`), { recursive: true });
        await write(`${jail}/x`, "#!/bin/sh\nexit 7\n"); // the content of chain-mid.sh
        await write(`${jail}/bin/sh`, "#!/bin/busybox sh\nexit 9\n");
        await copyFile("/bin/busybox", t.hostPath(`${jail}/bin/busybox`));
        await chmod(t.hostPath(`${jail}/bin/busybox`), 0o755);
        const chroot = kind === "host" ? "/usr/sbin/chroot" : "/bin/chroot";
        const extra = kind === "host" ? [`exe ${await sha256File("/bin/busybox")} /bin/busybox`, `exe ${await sha256File(chroot)} ${chroot}`] : [];
        const cEnforce = await t.writeBundle(bundleText(["control drift enforce", ...manifest, ...extra]));
        const cAudit = await t.writeBundle(bundleText(["control drift audit", ...manifest, ...extra]));
        const argv = [chroot, jail, "/x"];
        const r = await t.run([t.enforcer, "--bundle", cEnforce, "--", ...argv]);
        assert.equal(r.code, 137, explain(r));
        assert.ok(namesDropped(r, "deny", "/bin/sh", 2), explain(r));
        const a = await t.run([t.enforcer, "--bundle", cAudit, "--", ...argv]);
        assert.equal(a.code, 9, explain(a));
        assert.ok(namesDropped(a, "alert", "/bin/sh", 2), explain(a));
        const plain = await t.run(argv);
        assert.equal(plain.code, 9, explain(plain));
      }
    });

    test("execveat(AT_EMPTY_PATH) on a blocked file is judged like execve", async () => {
      const b = await t.writeBundle(bundleText(["control blocklist enforce", "control fileless enforce", `block-path ${pct(forbidden)}`]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/exec-via`, "execveat", forbidden, "exit", "5"]);
      assert.equal(r.code, 113, explain(r));
      assert.deepEqual(r.events.filter((e) => e.kind.startsWith("exec.")).map((e) => e.rule), ["blocklist.path"]);
      const ok = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/exec-via`, "execveat", allowed, "exit", "5"]);
      assert.equal(ok.code, 5, explain(ok));
    });
  });
}
