// Every exec control of the bundle against the real enforcer: in enforce mode the exec is
// refused and a deny event names the rule; the same attempt succeeds with an alert event in audit
// mode, and succeeds without the enforcer (negative controls). Host and three podman setups.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, copyFile, link, readFile, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import {
  ALL_TARGETS, BUILD_DIR, bundleText, eventsOf, explain, makeTargets, manifestLines, pct, sha256File, type RunResult, type Target,
} from "../helpers/enforcer.js";
import { join } from "node:path";

const EACCES_EXIT = 113; // exec-via exits 100 + errno when its exec is refused

function assertDenied(r: RunResult, kind: string, rule: string): void {
  assert.equal(r.code, EACCES_EXIT, explain(r));
  const ev = eventsOf(r, kind);
  assert.equal(ev.length, 1, explain(r));
  assert.equal(ev[0]!.action, "deny");
  assert.equal(ev[0]!.mode, "enforce");
  assert.equal(ev[0]!.rule, rule);
  assert.ok(ev[0]!.process, "a deny event names the process");
}

function assertAlerted(r: RunResult, okCode: number, kind: string, rule: string): void {
  assert.equal(r.code, okCode, explain(r));
  const ev = eventsOf(r, kind).filter((e) => e.rule === rule);
  assert.ok(ev.length >= 1, explain(r));
  assert.ok(ev.every((e) => e.action === "alert" && e.mode === "audit"), explain(r));
}

for (const kind of ALL_TARGETS) {
  describe(`enforcer exec controls (${kind})`, () => {
    let t: Target;
    let cleanup: () => Promise<void>;
    let manifest: string[];
    /** Manifest lines for the path-strict test's files in scratch (home, home.sh). */
    let homes: string[];
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
      manifest = await manifestLines(t);
      // drifted: the content of pid1 plus one byte, so its hash is in no manifest
      const pid1 = await readFile(join(BUILD_DIR, "tests", "pid1"));
      await writeFile(t.hostPath(`${t.scratch}/drifted`), Buffer.concat([pid1, Buffer.from([0])]), { mode: 0o755 });
      // blockme: the very content of pid1 (in the manifest) under another name
      await copyFile(join(BUILD_DIR, "tests", "pid1"), t.hostPath(`${t.scratch}/blockme`));
      await chmod(t.hostPath(`${t.scratch}/blockme`), 0o755);
      await writeFile(t.hostPath(`${t.scratch}/script.sh`), "#!/bin/sh\nexit 6\n", { mode: 0o755 });
      // same size as pid1, one byte different: only the hash tells them apart
      const same = Buffer.from(pid1);
      same[same.length - 1] = same[same.length - 1]! ^ 0xff;
      await writeFile(t.hostPath(`${t.scratch}/same-size`), same, { mode: 0o644 });
      // path-strict: home (a listed copy of pid1) and its hard link hard (not listed); to-pid1, a
      // symlink to pid1; home.sh (listed) and away.sh (the same script, not listed)
      await copyFile(join(BUILD_DIR, "tests", "pid1"), t.hostPath(`${t.scratch}/home`));
      await chmod(t.hostPath(`${t.scratch}/home`), 0o755);
      await link(t.hostPath(`${t.scratch}/home`), t.hostPath(`${t.scratch}/hard`));
      await symlink(`${t.progs}/pid1`, t.hostPath(`${t.scratch}/to-pid1`));
      for (const name of ["home.sh", "away.sh"]) await writeFile(t.hostPath(`${t.scratch}/${name}`), "#!/bin/sh\nexit 6\n", { mode: 0o755 });
      homes = [
        `exe ${await sha256File(join(BUILD_DIR, "tests", "pid1"))} ${pct(`${t.scratch}/home`)}`,
        `exe ${await sha256File(t.hostPath(`${t.scratch}/home.sh`))} ${pct(`${t.scratch}/home.sh`)}`,
      ];
    });
    after(async () => cleanup());

    const via = (...args: string[]) => [`${t.progs}/exec-via`, ...args];

    /** enforce: refused + deny event; audit: runs + alert; no enforcer: runs. */
    async function control(directives: (mode: string) => string[], argv: string[], okCode: number, kind_: string, rule: string) {
      const enforce = await t.writeBundle(bundleText(directives("enforce")));
      assertDenied(await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]), kind_, rule);
      const audit = await t.writeBundle(bundleText(directives("audit")));
      assertAlerted(await t.run([t.enforcer, "--bundle", audit, "--", ...argv]), okCode, kind_, rule);
      const plain = await t.run(argv);
      assert.equal(plain.code, okCode, `without the enforcer: ${explain(plain)}`);
    }

    test("drift (manifest): content not in the image is refused", async () => {
      await control((m) => [`control drift ${m}`, ...manifest], via("plain", `${t.scratch}/drifted`, "exit", "5"), 5, "exec.drift", "drift.manifest");
    });

    test("drift (path-strict): image content copied, hard-linked or scripted under a new path is refused; its own path and symlinks run", async () => {
      const strict = (m: string) => [`control drift ${m}`, "drift-path-strict on", ...manifest, ...homes];
      // blockme is a byte-for-byte copy of pid1, which the manifest lists at progs/pid1 only
      const copy = via("plain", `${t.scratch}/blockme`, "exit", "5");
      await control(strict, copy, 5, "exec.drift", "drift.path");
      const enforce = await t.writeBundle(bundleText(strict("enforce")));
      const denied = await t.run([t.enforcer, "--bundle", enforce, "--", ...copy]);
      // the reason names one of the manifest paths of that content (pid1 or home) and the copy's path
      const homesOfPid1 = [`${t.progs}/pid1`, `${t.scratch}/home`].map((p) => `content of ${p} executed from ${t.scratch}/blockme`);
      assert.ok(homesOfPid1.includes(eventsOf(denied, "exec.drift")[0]!.reason), explain(denied));
      // negative control: content-only drift lets the same copy run
      const loose = await t.writeBundle(bundleText(["control drift enforce", ...manifest, ...homes]));
      const ran = await t.run([t.enforcer, "--bundle", loose, "--", ...copy]);
      assert.equal(ran.code, 5, explain(ran));
      assert.deepEqual(eventsOf(ran, "exec.drift"), [], explain(ran));
      // the original path, a symlink to it, and a hard link the manifest lists all run
      for (const argv of [via("plain", `${t.progs}/pid1`, "exit", "5"), via("plain", `${t.scratch}/to-pid1`, "exit", "5"), via("plain", `${t.scratch}/home`, "exit", "5")]) {
        const r = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
        assert.equal(r.code, 5, explain(r));
        assert.deepEqual(eventsOf(r, "exec.drift"), [], explain(r));
      }
      // a hard link of a listed file under a path the manifest does not list is judged by the link used
      await control(strict, via("plain", `${t.scratch}/hard`, "exit", "5"), 5, "exec.drift", "drift.path");
      // a script is judged by its own path; its interpreter (an image program) by the interpreter's
      await control(strict, via("plain", `${t.scratch}/away.sh`), 6, "exec.drift", "drift.path");
      const home = await t.run([t.enforcer, "--bundle", enforce, "--", ...via("plain", `${t.scratch}/home.sh`)]);
      assert.equal(home.code, 6, explain(home));
      assert.deepEqual(eventsOf(home, "exec.drift"), [], explain(home));
    });

    test("drift (ctime): a file created after the start is refused", async () => {
      const argv = ["/bin/sh", "-c", `cp ${t.progs}/pid1 ${t.scratch}/new-$$ && ${t.progs}/exec-via plain ${t.scratch}/new-$$ exit 5`];
      await control((m) => [`control drift ${m}`, "drift-source ctime"], argv, 5, "exec.drift", "drift.ctime");
    });

    test("block list by name, by path glob and by sha256", async () => {
      await control((m) => [`control blocklist ${m}`, "block-name blockme"], via("plain", `${t.scratch}/blockme`, "exit", "5"), 5, "exec.blocked", "blocklist.name");
      await control((m) => [`control blocklist ${m}`, `block-path ${pct(t.scratch)}/block*`], via("plain", `${t.scratch}/blockme`, "exit", "5"), 5, "exec.blocked", "blocklist.path");
      const sha = await sha256File(t.hostPath(`${t.scratch}/drifted`));
      await control((m) => [`control blocklist ${m}`, `block-sha256 ${sha}`], via("plain", `${t.scratch}/drifted`, "exit", "5"), 5, "exec.blocked", "blocklist.sha256");
    });

    test("allow list: anything not listed is refused", async () => {
      await control((m) => [`control allowlist ${m}`, `allow-path ${pct(t.progs)}/*`], via("plain", `${t.scratch}/blockme`, "exit", "5"), 5, "exec.not-allowed", "allowlist");
    });

    test("fileless: a memfd and a deleted file are refused", async () => {
      await control((m) => [`control fileless ${m}`], via("memfd", `${t.progs}/pid1`, "exit", "5"), 5, "exec.fileless", "fileless.memfd");
      await control((m) => [`control fileless ${m}`], via("deleted", `${t.progs}/pid1`, t.scratch, "exit", "5"), 5, "exec.fileless", "fileless.deleted");
    });

    test("loader: executing the dynamic loader directly is refused", async (tt) => {
      const loader = "/lib64/ld-linux-x86-64.so.2";
      if (kind !== "host" || !existsSync(loader)) {
        tt.skip(`SKIP: no dynamic loader in this ${kind === "host" ? "host" : "static busybox container"}`);
        return;
      }
      await control((m) => [`control loader ${m}`], via("plain", loader, "/bin/true"), 0, "exec.loader", "loader.direct");
    });

    test("scripts: the script itself is judged, and named in the event", async () => {
      await control((m) => [`control drift ${m}`, ...manifest], via("plain", `${t.scratch}/script.sh`), 6, "exec.drift", "drift.manifest");
      const audit = await t.writeBundle(bundleText(["control drift audit", ...manifest]));
      const r = await t.run([t.enforcer, "--bundle", audit, "--", ...via("plain", `${t.scratch}/script.sh`)]);
      const scripted = eventsOf(r, "exec.drift").filter((e) => e.process?.script !== undefined);
      assert.equal(scripted.length, 1, explain(r));
      assert.equal(scripted[0]!.process!.script, `${t.scratch}/script.sh`);
      assert.equal(scripted[0]!.process!.script_sha256, await sha256File(t.hostPath(`${t.scratch}/script.sh`)));
    });

    test("a file rewritten in place after an allowed exec is judged again (no stale cached hash)", async () => {
      const mut = `${t.scratch}/mut-${kind}`;
      const script = `cp ${t.progs}/pid1 ${mut} && ${t.progs}/exec-via plain ${mut} exit 0 && cat ${t.scratch}/same-size > ${mut} && ${t.progs}/exec-via plain ${mut} exit 5`;
      const b = await t.writeBundle(bundleText(["control drift enforce", ...manifest]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", script]);
      assert.equal(r.code, EACCES_EXIT, explain(r));
      const drift = eventsOf(r, "exec.drift");
      assert.equal(drift.length, 1, explain(r));
      assert.equal(drift[0]!.process!.sha256, await sha256File(t.hostPath(`${t.scratch}/same-size`)));
    });

    test("a program re-executing itself through /proc/self/exe is judged as itself", async () => {
      // busybox runs applets this way; "self" must mean the caller, not the enforcer
      const b = await t.writeBundle(bundleText(["control drift enforce", ...manifest]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/exec-via`, "plain", "/proc/self/exe"]);
      assert.equal(r.code, 2, explain(r)); // exec-via again, now without arguments: usage, exit 2
      assert.deepEqual(r.events.filter((e) => e.kind.startsWith("exec.")), [], explain(r));
    });

    test("enforce-after switches an audit control to enforce at its time", async () => {
      const past = await t.writeBundle(bundleText(["control drift audit", "enforce-after drift 1000000000", ...manifest]));
      assertDenied(await t.run([t.enforcer, "--bundle", past, "--", ...via("plain", `${t.scratch}/drifted`, "exit", "5")]), "exec.drift", "drift.manifest");
      const future = await t.writeBundle(bundleText(["control drift audit", "enforce-after drift 99999999999", ...manifest]));
      assertAlerted(await t.run([t.enforcer, "--bundle", future, "--", ...via("plain", `${t.scratch}/drifted`, "exit", "5")]), 5, "exec.drift", "drift.manifest");
    });

    test("report-execs: every allowed exec is a process.exec event with its hash, argv and cwd", async () => {
      const b = await t.writeBundle(bundleText(["control drift enforce", "report-execs on", ...manifest]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...via("plain", `${t.progs}/pid1`, "exit", "4")]);
      assert.equal(r.code, 4, explain(r));
      const execs = eventsOf(r, "process.exec");
      assert.deepEqual(execs.map((e) => e.process!.exe), [`${t.progs}/exec-via`, `${t.progs}/pid1`].map((p) => (kind === "host" ? p : p)), explain(r));
      assert.equal(execs[1]!.process!.sha256, await sha256File(join(BUILD_DIR, "tests", "pid1")));
      assert.deepEqual(execs[1]!.process!.argv, [`${t.progs}/pid1`, "exit", "4"]);
      assert.equal(execs[1]!.process!.ppid, execs[0]!.process!.ppid);
      assert.equal(execs[1]!.process!.uid, t.uid);
      assert.equal(typeof execs[1]!.process!.cwd, "string");
    });

    if (kind === "podman-user" || kind === "podman-cap-drop") {
      test("exec.error: an execute-only file the enforcer cannot read is refused in enforce mode only", async () => {
        // mode 0111: the workload may execute it, but without CAP_DAC_OVERRIDE nobody can read it
        await copyFile(join(BUILD_DIR, "tests", "pid1"), t.hostPath(`${t.scratch}/exec-only`));
        await chmod(t.hostPath(`${t.scratch}/exec-only`), 0o111);
        const argv = via("plain", `${t.scratch}/exec-only`, "exit", "5");
        const enforce = await t.writeBundle(bundleText(["control drift enforce", ...manifest]));
        const r = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
        assert.equal(r.code, 137, explain(r));
        const err = eventsOf(r, "exec.error");
        assert.equal(err.length, 1, explain(r));
        assert.equal(err[0]!.action, "deny");
        assert.match(err[0]!.reason, /Permission denied/);
        const audit = await t.writeBundle(bundleText(["control drift audit", ...manifest]));
        const a = await t.run([t.enforcer, "--bundle", audit, "--", ...argv]);
        assert.equal(a.code, 5, explain(a));
        assert.equal(eventsOf(a, "exec.error")[0]?.action, "alert", explain(a));
        const plain = await t.run(argv);
        assert.equal(plain.code, 5, explain(plain));
      });
    }

    if (kind === "host" || kind === "podman-default") {
      test("a workload that switched uid is still verified (setfsuid around /proc/PID/exe)", async () => {
        const b = await t.writeBundle(bundleText(["control drift enforce", "report-execs on", ...manifest]));
        const ok = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/setuid-exec`, "1000", "1000", `${t.progs}/pid1`, "exit", "4"]);
        assert.equal(ok.code, 4, explain(ok));
        const mine = eventsOf(ok, "process.exec").filter((e) => e.process!.uid === 1000);
        assert.equal(mine.length, 1, explain(ok));
        assert.equal(mine[0]!.process!.sha256, await sha256File(join(BUILD_DIR, "tests", "pid1")));
        assert.deepEqual(eventsOf(ok, "exec.error"), []);
        const bad = await t.run([t.enforcer, "--bundle", b, "--", `${t.progs}/setuid-exec`, "1000", "1000", `${t.scratch}/drifted`]);
        // After setuid() the caller is non-dumpable: without CAP_SYS_PTRACE (the container) its
        // memory cannot be read at the entry stop, so no early EACCES; the exec stop kills it.
        const drift = eventsOf(bad, "exec.drift");
        assert.equal(drift.length, 1, explain(bad));
        assert.equal(drift[0]!.action, "deny");
        assert.equal(drift[0]!.process!.uid, 1000);
        if (kind === "host") assert.equal(bad.code, EACCES_EXIT, explain(bad));
        else {
          assert.equal(bad.code, 137, explain(bad));
          assert.deepEqual(drift[0]!.detail, { stage: "exec" });
        }
      });
    }
  });
}
