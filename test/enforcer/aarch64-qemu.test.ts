// The aarch64 enforcer on a real arm64 kernel: Debian's arm64 kernel booted under
// qemu-system-aarch64 (software emulation) with an initramfs of the static arm64 busybox, the
// aarch64 enforcer and its test programs. User-mode qemu implements neither ptrace nor seccomp
// for its guest, so only a full system proves the aarch64 paths: the per-arch filter, the
// entry-stop deny through NT_ARM_SYSTEM_CALL + NT_PRSTATUS, and the exec-stop kill. The same
// boot runs every runtime control (network, files, reverse shell, miners and package managers,
// privilege, the exit-stop race checks) in enforce mode, audit mode and without the enforcer, on
// the guest's loopback; the host parses each run's events with the event schema.
// Skips out loud when qemu-system-aarch64 or the arm64 packages are unavailable.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { bundleText } from "../helpers/enforcer.js";
import { writeBundle as renderBundle } from "../../src/bundle/write-bundle.js";
import { extractEvents, type InlayEvent } from "../../src/events/event-schema.js";
import { compilePolicy } from "../../src/policy/compile-policy.js";
import { parsePolicy } from "../../src/policy/load-policy.js";

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const ARM = join(REPO, "enforcer", "build", "aarch64");
/** Downloaded packages and the built initramfs (build output, removed by `make clean`). */
const WORK = join(REPO, "enforcer", "build", "qemu-aarch64");

/** The core exec checks: their results are grepped in the guest ("T key value" lines). */
const CORE = `
$E --bundle /b0 -- /tests/pid1 exit 7 2>/tmp/e; echo "T exit rc=$? events=$(grep -c '"schema"' /tmp/e)"
$E --bundle /b0 -- /tests/pid1 kill-self 15 2>/dev/null; echo "T signal rc=$?"
$E --bundle /bdrift -- /tests/exec-via plain /tmp/drifted exit 5 2>/tmp/e; echo "T drift rc=$? $(grep -o '"rule":"drift.manifest"' /tmp/e) $(grep -o '"stage":"entry"' /tmp/e)"
$E --bundle /bdrift -- /tests/exec-via plain /tests/pid1 exit 5 2>/dev/null; echo "T allowed rc=$?"
$E --bundle /bdrift -- /tests/exec-via memfd /tests/pid1 exit 5 2>/tmp/e; echo "T memfd rc=$? $(grep -o '"rule":"fileless.memfd"' /tmp/e)"
# The swap must reach the exec stop at least once: retry (up to 4 runs) until one does; every
# run is reported, and the test requires that no run ever executed the forbidden file.
for i in 1 2 3 4; do
  r=$($E --bundle /bblock -- /tests/exec-race /tmp/allowed /tmp/forbidden 300 2>/dev/null)
  echo "T race$i $r"
  case "$r" in *" killed=0 "*) ;; *) break ;; esac
done
$E --bundle /b0 -- /tests/escape attack parent 2>/dev/null | tr '\\n' ' ' | sed 's/^/T attack /'; echo
$E --bundle /bblock -- /tests/escape untraced-clone /tmp/forbidden 2>/dev/null | tr '\\n' ' ' | sed 's/^/T untraced /'; echo
/tests/escape untraced-clone /tmp/forbidden | tr '\\n' ' ' | sed 's/^/T untraced-plain /'; echo
`;

/**
 * The runtime controls: each run prints "R NAME RC", its stdout as "O NAME line" and its stderr
 * (the event lines among it) as "S NAME line"; the host parses the events with the event schema.
 * `run NAME BUNDLE ARGV...` runs ARGV under the enforcer with /b/BUNDLE, or bare when BUNDLE is -.
 */
const RUNTIME_PRELUDE = `
run() {
  n=$1; b=$2; shift 2
  if [ "$b" = - ]; then "$@" >/tmp/o 2>/tmp/e; else $E --bundle "/b/$b" -- "$@" >/tmp/o 2>/tmp/e; fi
  echo "R $n $?"; sed "s/^/O $n /" /tmp/o; sed "s/^/S $n /" /tmp/e
}
# the files every file-control run starts from (an audit run or a negative control changes them)
reset() {
  rm -rf /tmp/ro /tmp/aud /tmp/ok; mkdir /tmp/ro /tmp/aud /tmp/ok /tmp/ro/d
  for f in ro/f aud/f ok/safe ok/other; do echo data >/tmp/$f; done
}
cp /tests/pid1 /tmp/suid; chmod 4755 /tmp/suid
for n in xmrig apt-get pip3; do cp /tests/pid1 /tmp/$n; done
`;

/** Single-quotes a word for the guest's sh. */
const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** The runtime-control part of the guest script and its bundles, built by the cases below. */
class Guest {
  readonly lines: string[] = [];
  readonly bundles = new Map<string, string>();
  bundle(name: string, directives: string[] | string): string {
    this.bundles.set(name, typeof directives === "string" ? directives : bundleText(directives));
    return name;
  }
  run(name: string, bundle: string | undefined, argv: string[]): void {
    this.lines.push(`run ${name} ${bundle ?? "-"} ${argv.map(q).join(" ")}`);
  }
  reset(): void {
    this.lines.push("reset");
  }
  /** NAME.enforce, NAME.audit (bundles from directives(mode)) and NAME.plain (no enforcer). */
  control(name: string, directives: (mode: string) => string[], argv: string[], files = false): void {
    for (const mode of ["enforce", "audit", "plain"]) {
      if (files) this.reset();
      const b = mode === "plain" ? undefined : this.bundle(`${name}.${mode}`, directives(mode));
      this.run(`${name}.${mode}`, b, argv);
    }
  }
}

interface GuestRun {
  code: number;
  stdout: string;
  stderr: string;
  events: InlayEvent[];
}

const NET = (m: string) => [`control network ${m}`, "net-connect block 127.0.0.2/32 *", "net-connect allow 127.0.0.0/8 *", "net-default allow"];
const DEFAULT_BLOCK = (m: string) => [`control network ${m}`, "net-connect allow 127.0.0.0/8 *", "net-default block"];
const LISTEN = (m: string) => [`control network ${m}`, "net-listen-default block", "net-listen 8080"];
const FILES = (m: string) => [`control files ${m}`, "file-readonly /tmp/ro", "file-audit /tmp/aud"];
const SHELLS = (m: string) => [`control reverse-shell ${m}`, "shell-name sh", "shell-name bash", "shell-name python*"];
const PRIV = (m: string) => [`control privilege ${m}`];
const STRATUM_PORT = 3333;
/** The policy language's miners and package managers, compiled by the real compiler. */
function minerPolicy(mode: string): string {
  const yaml = `apiVersion: inlay.dev/v1
kind: RuntimePolicy
metadata: {name: arm64-${mode}}
spec:
  executables: {drift: {mode: "off"}}
  miners: {mode: ${mode}, stratum: {mode: ${mode}, ports: [${STRATUM_PORT}]}}
  packageManagers: {mode: ${mode}}
  network: {outbound: {mode: "off"}, listen: {mode: "off"}}
`;
  const spec = compilePolicy(parsePolicy(yaml, { file: `arm64-${mode}.yaml` }).policy, { buildTime: new Date() });
  return renderBundle(spec).toString("utf8");
}

/** The file operations of file-probe that must fail under a read-only path, with their errno. */
const FILE_OPS: { op: string; argv: string[]; code: number }[] = [
  { op: "write", argv: ["write", "/tmp/ro/f"], code: 113 },
  { op: "create", argv: ["write", "/tmp/ro/new"], code: 113 },
  { op: "openat2", argv: ["openat2", "/tmp/ro/new2"], code: 113 },
  { op: "truncate", argv: ["truncate", "/tmp/ro/f"], code: 113 },
  { op: "unlink", argv: ["unlink", "/tmp/ro/f"], code: 113 },
  { op: "rmdir", argv: ["rmdir", "/tmp/ro/d"], code: 113 },
  { op: "rename", argv: ["rename", "/tmp/ok/other", "/tmp/ro/moved"], code: 113 },
  { op: "rename-out", argv: ["rename", "/tmp/ro/f", "/tmp/ok/moved"], code: 113 },
  { op: "renameat2", argv: ["rename2", "/tmp/ok/other", "/tmp/ro/moved"], code: 113 },
  { op: "link", argv: ["link", "/tmp/ok/safe", "/tmp/ro/hard"], code: 113 },
  { op: "symlink", argv: ["symlink", "/x", "/tmp/ro/sym"], code: 113 },
  { op: "mkdir", argv: ["mkdir", "/tmp/ro/dir"], code: 113 },
  { op: "chmod", argv: ["chmod", "/tmp/ro/f"], code: 101 },
  { op: "chown", argv: ["chown", "/tmp/ro/f"], code: 101 },
];

function runtimeCases(): Guest {
  const g = new Guest();
  const net = (...a: string[]) => ["/tests/net-probe", ...a];
  const file = (...a: string[]) => ["/tests/file-probe", ...a];
  g.control("connect4", NET, net("connect", "127.0.0.2", "0"));
  g.control("connect-mapped", NET, net("connect", "::ffff:127.0.0.2", "0"));
  g.control("connect-nb", NET, net("connect-nb", "127.0.0.2", "0"));
  g.control("default-v6", DEFAULT_BLOCK, net("connect", "::1", "0"));
  g.control("sendto", NET, net("sendto", "127.0.0.2", "0"));
  g.control("sendmsg", NET, net("sendmsg", "127.0.0.2", "0"));
  g.run("connect-allowed", g.bundle("net.enforce", NET("enforce")), net("connect", "127.0.0.1", "0"));
  g.run("connect-race.plain", undefined, net("connect-race", "127.0.0.1", "127.0.0.2", "0"));
  g.run("connect-race.enforce", "net.enforce", net("connect-race", "127.0.0.1", "127.0.0.2", "0"));
  g.control("bind", LISTEN, net("bind", "8081"));
  g.run("bind-allowed", g.bundle("listen.enforce", LISTEN("enforce")), net("bind", "8080"));
  for (const f of FILE_OPS) g.control(`file-${f.op}`, FILES, file(...f.argv), true);
  g.reset();
  g.run("file-audited", g.bundle("files.enforce", FILES("enforce")), file("write", "/tmp/aud/f"));
  g.run("file-read", "files.enforce", file("read", "/tmp/ro/f"));
  g.run("open-race.plain", undefined, file("open-race", "/tmp/ok/safe", "/tmp/ro/f"));
  g.reset();
  g.run("open-race.enforce", "files.enforce", file("open-race", "/tmp/ok/safe", "/tmp/ro/f"));
  g.run("io-uring", "files.enforce", file("io_uring"));
  g.control("revshell4", SHELLS, net("revshell", "127.0.0.1", "0", "/bin/sh", "-c", "exit 7"));
  g.control("revshell6", SHELLS, net("revshell", "::1", "0", "/bin/sh", "-c", "exit 7"));
  g.run("shell-plain", g.bundle("shells.enforce", SHELLS("enforce")), ["/bin/sh", "-c", "exit 7"]);
  // busybox nc -e: nc executes the shell with the connected socket as its stdio
  let port = 4440;
  for (const mode of ["enforce", "audit", "plain"]) {
    port++;
    const script = `/bin/busybox nc -l -p ${port} >/dev/null & sleep 0.5; /bin/busybox nc 127.0.0.1 ${port} -e /bin/sh -c "exit 9" </dev/null; echo nc=$?`;
    g.run(`nc-e.${mode}`, mode === "plain" ? undefined : g.bundle(`nc.${mode}`, SHELLS(mode)), ["/bin/sh", "-c", script]);
  }
  g.bundle("miners.enforce", minerPolicy("enforce"));
  g.bundle("miners.audit", minerPolicy("audit"));
  for (const name of ["xmrig", "apt-get", "pip3"]) {
    for (const mode of ["enforce", "audit"]) g.run(`exec-${name}.${mode}`, `miners.${mode}`, ["/tests/exec-via", "plain", `/tmp/${name}`, "exit", "5"]);
    g.run(`exec-${name}.plain`, undefined, ["/tests/exec-via", "plain", `/tmp/${name}`, "exit", "5"]);
  }
  for (const mode of ["enforce", "audit"]) g.run(`stratum.${mode}`, `miners.${mode}`, net("connect", "127.0.0.1", String(STRATUM_PORT)));
  g.run("stratum.plain", undefined, net("connect", "127.0.0.1", String(STRATUM_PORT)));
  g.run("stratum-other-port", "miners.enforce", net("connect", "127.0.0.1", "0"));
  g.control("setid", PRIV, ["/tests/setuid-exec", "1000", "1000", "/tests/pid1", "exit", "0"]);
  g.control("suid-exec", PRIV, ["/tests/exec-via", "plain", "/tmp/suid", "exit", "3"]);
  return g;
}

async function sha(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** The newest 6.1 arm64 kernel image package and the arm64 static busybox, via apt. */
async function fetchPackages(): Promise<{ kernel: string; busybox: string } | string> {
  await mkdir(WORK, { recursive: true });
  const have = async () => {
    const files = await readdir(WORK);
    const kernel = files.find((f) => /^linux-image-.*_arm64\.deb$/.test(f));
    const busybox = files.find((f) => /^busybox-static_.*_arm64\.deb$/.test(f));
    return kernel && busybox ? { kernel: join(WORK, kernel), busybox: join(WORK, busybox) } : undefined;
  };
  const cached = await have();
  if (cached) return cached;
  try {
    const { stdout } = await execFileP("apt-cache", ["search", "--names-only", "^linux-image-6\\.1\\.0-[0-9]+-arm64$"]);
    const names = stdout.split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);
    names.sort((a, b) => Number(/-(\d+)-arm64/.exec(a)![1]) - Number(/-(\d+)-arm64/.exec(b)![1]));
    const kernel = names.at(-1);
    if (!kernel) return "no linux-image-6.1.0-*-arm64 package is known to apt";
    await execFileP("apt-get", ["download", `${kernel}:arm64`, "busybox-static:arm64"], { cwd: WORK, timeout: 300_000 });
  } catch (err) {
    return `cannot download the arm64 kernel and busybox with apt: ${String(err)}`;
  }
  return (await have()) ?? "apt-get download left no packages";
}

async function buildInitramfs(pkgs: { kernel: string; busybox: string }, guest: Guest): Promise<{ kernel: string; initrd: string }> {
  const x = join(WORK, "x");
  const root = join(WORK, "root");
  await rm(x, { recursive: true, force: true });
  await rm(root, { recursive: true, force: true });
  await execFileP("dpkg-deb", ["-x", pkgs.kernel, x]);
  await execFileP("dpkg-deb", ["-x", pkgs.busybox, x]);
  const vmlinuz = (await readdir(join(x, "boot"))).find((f) => f.startsWith("vmlinuz-"));
  assert.ok(vmlinuz, "the kernel package has a vmlinuz");
  for (const d of ["bin", "tests", "proc", "sys", "dev", "tmp"]) await mkdir(join(root, d), { recursive: true });
  await copyFile(join(x, "bin", "busybox"), join(root, "bin", "busybox"));
  for (const a of ["sh", "mount", "poweroff", "cat", "grep", "sed", "tr", "echo", "ifconfig", "rm", "mkdir", "cp", "chmod", "sleep"]) {
    await symlink("busybox", join(root, "bin", a));
  }
  await copyFile(join(ARM, "inlay-enforcer"), join(root, "bin", "inlay-enforcer"));
  const manifest: string[] = [];
  for (const f of await readdir(join(ARM, "tests"))) {
    await copyFile(join(ARM, "tests", f), join(root, "tests", f));
    manifest.push(`exe ${await sha(join(ARM, "tests", f))} /tests/${f}`);
  }
  const pid1 = await readFile(join(ARM, "tests", "pid1"));
  await writeFile(join(root, "tmp", "allowed"), pid1);
  await writeFile(join(root, "tmp", "forbidden"), pid1);
  await writeFile(join(root, "tmp", "drifted"), Buffer.concat([pid1, Buffer.from([0])]));
  await writeFile(join(root, "b0"), bundleText(["control drift off"]));
  await writeFile(join(root, "bdrift"), bundleText(["control drift enforce", "control fileless enforce", ...manifest]));
  await writeFile(join(root, "bblock"), bundleText(["control blocklist enforce", "block-path /tmp/forbidden"]));
  await mkdir(join(root, "b"));
  for (const [name, text] of guest.bundles) await writeFile(join(root, "b", name), text);
  const init = [
    "#!/bin/sh",
    "mount -t proc proc /proc; mount -t sysfs sys /sys",
    "ifconfig lo 127.0.0.1 up # the kernel adds ::1",
    "E=/bin/inlay-enforcer",
    'echo "T kernel $(cat /proc/sys/kernel/osrelease)"',
    CORE,
    // guest seconds spent on the runtime controls, printed for whoever tunes the boot's length
    'echo "T runtime-start $(cut -d" " -f1 /proc/uptime)"',
    RUNTIME_PRELUDE,
    ...guest.lines,
    'echo "T runtime-end $(cut -d" " -f1 /proc/uptime)"',
    'echo "T done"',
    "poweroff -f",
    "",
  ];
  await writeFile(join(root, "init"), init.join("\n"));
  for (const f of ["init", "bin/inlay-enforcer", "tmp/allowed", "tmp/forbidden", "tmp/drifted", ...(await readdir(join(root, "tests"))).map((f) => `tests/${f}`)]) {
    await chmod(join(root, f), 0o755);
  }
  const initrd = join(WORK, "initrd.gz");
  await execFileP("sh", ["-c", `cd '${root}' && find . | cpio -o -H newc 2>/dev/null | gzip > '${initrd}'`]);
  return { kernel: join(x, "boot", vmlinuz), initrd };
}

function boot(kernel: string, initrd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const q = spawn("qemu-system-aarch64", [
      "-M", "virt", "-cpu", "cortex-a57", "-smp", "2", "-m", "512", "-nographic", "-no-reboot",
      "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyAMA0 panic=-1 quiet",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    q.stdout.setEncoding("latin1").on("data", (d: string) => (out += d));
    const timer = setTimeout(() => q.kill("SIGKILL"), 240_000);
    q.on("error", reject);
    q.on("close", () => {
      clearTimeout(timer);
      resolve(out.replace(/\r/g, ""));
    });
  });
}

/** The "R", "O" and "S" lines of the runtime-control runs, by run name. */
function parseRuns(output: string): Map<string, GuestRun> {
  const out = new Map<string, { code: number; stdout: string[]; stderr: string[] }>();
  for (const line of output.split("\n")) {
    const m = /^([ROS]) (\S+) ?(.*)$/.exec(line);
    if (!m) continue;
    const [, tag, name, rest] = m as unknown as [string, string, string, string];
    if (tag === "R") out.set(name, { code: Number(rest), stdout: [], stderr: [] });
    else out.get(name)?.[tag === "O" ? "stdout" : "stderr"].push(rest);
  }
  return new Map([...out].map(([name, r]) => {
    const stderr = r.stderr.join("\n");
    return [name, { code: r.code, stdout: r.stdout.join("\n"), stderr, events: extractEvents(stderr).events }];
  }));
}

describe("aarch64 enforcer on a real arm64 kernel (qemu-system-aarch64)", () => {
  let results = new Map<string, string>();
  let runs = new Map<string, GuestRun>();
  const guest = runtimeCases();
  let skip: string | undefined;
  let console_ = "";

  before(async () => {
    if (!existsSync(join(ARM, "inlay-enforcer"))) return void (skip = "the aarch64 enforcer is not built (make -C enforcer)");
    try {
      await execFileP("qemu-system-aarch64", ["--version"]);
    } catch {
      return void (skip = "qemu-system-aarch64 is not installed (scripts/setup.sh installs qemu-system-arm)");
    }
    const pkgs = await fetchPackages();
    if (typeof pkgs === "string") return void (skip = pkgs);
    const { kernel, initrd } = await buildInitramfs(pkgs, guest);
    console_ = await boot(kernel, initrd);
    runs = parseRuns(console_);
    results = new Map(
      console_.split("\n").filter((l) => l.startsWith("T ")).map((l) => {
        const [, key, ...rest] = l.trim().split(" ");
        return [key!, rest.join(" ")] as [string, string];
      }),
    );
  });

  test("boots, runs every check and reports back", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assert.ok(results.has("done"), `the guest did not finish:\n${console_.slice(-3000)}`);
    assert.match(results.get("kernel")!, /arm64/);
    const spent = Number(results.get("runtime-end")) - Number(results.get("runtime-start"));
    t.diagnostic(`runtime controls: ${runs.size} runs in ${spent.toFixed(1)} s of guest time`);
  });

  test("PID-1 duties: exit status and 128+signal", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assert.equal(results.get("exit"), "rc=7 events=2");
    assert.equal(results.get("signal"), "rc=143");
  });

  test("the entry-stop deny (NT_ARM_SYSTEM_CALL) fails a drifted exec with EACCES; an allowed one runs", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assert.equal(results.get("drift"), 'rc=113 "rule":"drift.manifest" "stage":"entry"');
    assert.equal(results.get("allowed"), "rc=5");
    assert.equal(results.get("memfd"), 'rc=113 "rule":"fileless.memfd"');
  });

  test("the exec-stop verdict catches a path swapped after the entry check", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const runs = [...results.entries()].filter(([k]) => /^race\d$/.test(k)).map(([, v]) => v);
    assert.ok(runs.length > 0, "the race program reported nothing");
    let killed = 0;
    for (const run of runs) {
      const m = /ran-forbidden=(\d+) ran-allowed=(\d+) killed=(\d+)/.exec(run);
      assert.ok(m, run);
      assert.equal(m[1], "0", `the forbidden file never ran: ${run}`);
      killed += Number(m[3]);
    }
    assert.ok(killed > 0, `no swap reached the exec stop in ${runs.length} runs: ${runs.join(" | ")}`);
  });

  test("the aarch64 filter refuses the escapes (negative control without the enforcer)", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const attack = results.get("attack") ?? "";
    for (const want of ["ptrace=EPERM", "kill=EPERM", "process_vm_writev=EPERM", "seccomp_listener=EPERM", "io_uring_setup=ENOSYS", "clone3=ENOSYS"]) {
      assert.ok(attack.includes(want), `${want} in ${attack}`);
    }
    assert.equal(results.get("untraced")?.trim(), "clone=EPERM");
    assert.equal(results.get("untraced-plain")?.trim(), "clone=OK child-exit=42");
  });
  /** The run NAME of the guest (fails the test when the guest never got to it). */
  const run = (name: string): GuestRun => {
    const r = runs.get(name);
    assert.ok(r, `the guest did not run ${name}:\n${console_.slice(-3000)}`);
    return r;
  };
  const explainRun = (name: string, r: GuestRun) => `${name}: exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
  /** Events of this kind all have this rule, action and mode (enforce for a deny, else audit). */
  const assertEvent = (name: string, kind: string, rule: string, action: "deny" | "alert", mode = action === "deny" ? "enforce" : "audit"): InlayEvent => {
    const r = run(name);
    const ev = r.events.filter((e) => e.kind === kind);
    assert.ok(ev.length >= 1 && ev.every((e) => e.rule === rule && e.action === action), `${kind} ${rule} ${action}: ${explainRun(name, r)}`);
    assert.ok(ev.every((e) => e.mode === mode), explainRun(name, r));
    assert.ok(ev[0]!.process?.pid, `the event names the process: ${explainRun(name, r)}`);
    return ev[0]!;
  };
  const assertCode = (name: string, code: number) => assert.equal(run(name).code, code, explainRun(name, run(name)));
  const assertNone = (name: string, kinds: string[]) => {
    const r = run(name);
    assert.deepEqual(r.events.filter((e) => kinds.includes(e.kind)), [], explainRun(name, r));
  };
  /** NAME.enforce fails with `enforce` and a deny, NAME.audit succeeds with an alert, NAME.plain succeeds. */
  const assertControl = (name: string, codes: { enforce: number; ok: number }, kind: string, rule: string): InlayEvent => {
    assertCode(`${name}.enforce`, codes.enforce);
    const ev = assertEvent(`${name}.enforce`, kind, rule, "deny");
    assertCode(`${name}.audit`, codes.ok);
    assertEvent(`${name}.audit`, kind, rule, "alert");
    assertCode(`${name}.plain`, codes.ok);
    assert.equal(run(`${name}.plain`).events.length, 0);
    return ev;
  };
  const detail = (e: InlayEvent) => (e.detail ?? {}) as Record<string, unknown>;

  test("runtime controls run on aarch64: events carry arch aarch64", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const start = run("connect4.enforce").events.find((e) => e.kind === "enforcer.start");
    assert.equal(detail(start!).arch, "aarch64");
  });

  test("network: connect to a blocked IPv4 address and an IPv4-mapped IPv6 one fails with EACCES; an allowed one connects", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const ev = assertControl("connect4", { enforce: 113, ok: 0 }, "network.connect", "network.block");
    assert.match(String(detail(ev).destination), /^127\.0\.0\.2:\d+$/);
    assert.equal(detail(ev).net_rule, "127.0.0.2/32 *");
    assert.equal(detail(ev).syscall, "connect");
    const mapped = assertControl("connect-mapped", { enforce: 113, ok: 0 }, "network.connect", "network.block");
    assert.match(String(detail(mapped).destination), /^127\.0\.0\.2:\d+$/);
    assertCode("connect-allowed", 0);
    assertNone("connect-allowed", ["network.connect"]);
  });

  test("network: a non-blocking connect is judged too; net-default block refuses what no rule allows (IPv6 ::1)", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assertControl("connect-nb", { enforce: 113, ok: 0 }, "network.connect", "network.block");
    const ev = assertControl("default-v6", { enforce: 113, ok: 0 }, "network.connect", "network.default");
    assert.match(String(detail(ev).destination), /^\[::1\]:\d+$/);
  });

  test("network: UDP sendto and sendmsg with a destination count as connections", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    for (const call of ["sendto", "sendmsg"]) {
      const ev = assertControl(call, { enforce: 113, ok: 0 }, "network.connect", "network.block");
      assert.equal(detail(ev).syscall, call);
      assert.match(String(detail(ev).destination), /^127\.0\.0\.2:\d+$/);
    }
  });

  test("network: a sockaddr rewritten after the entry check is caught at the exit stop", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assertCode("connect-race.plain", 0);
    assert.match(run("connect-race.plain").stdout, /raced/, "the race is winnable without the enforcer");
    assertCode("connect-race.enforce", 137);
    assert.doesNotMatch(run("connect-race.enforce").stdout, /raced/, "killed before it could use the connection");
    const mismatch = run("connect-race.enforce").events.filter((e) => e.kind === "network.connect" && e.rule === "network.exit-mismatch");
    assert.ok(mismatch.length === 1 && mismatch[0]!.action === "deny", explainRun("connect-race.enforce", run("connect-race.enforce")));
    assert.match(String(detail(mismatch[0]!).destination), /^127\.0\.0\.2:\d+$/);
  });

  test("network: bind to a port that is not a net-listen port fails with EACCES; a listed one binds", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const ev = assertControl("bind", { enforce: 113, ok: 0 }, "network.listen", "network.listen");
    assert.equal(detail(ev).port, 8081);
    assertCode("bind-allowed", 0);
    assertNone("bind-allowed", ["network.listen"]);
  });

  test("files: write-open, create, openat2, truncate, unlinkat, renameat, renameat2, linkat, symlinkat, mkdirat under a read-only path fail with EACCES, fchmodat and fchownat with EPERM", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    for (const f of FILE_OPS) {
      const ev = assertControl(`file-${f.op}`, { enforce: f.code, ok: 0 }, "file.write", "files.readonly");
      assert.equal(detail(ev).prefix, "/tmp/ro", explainRun(f.op, run(`file-${f.op}.enforce`)));
      assert.match(String(detail(ev).path), /^\/tmp\/ro\//);
    }
  });

  test("files: a write under an audited path is reported and allowed; reading a read-only file is free", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assertCode("file-audited", 0);
    // file-audit paths are never blocked: an alert in the files control's enforce mode
    const ev = assertEvent("file-audited", "file.audit", "files.audit", "alert", "enforce");
    assert.equal(detail(ev).path, "/tmp/aud/f");
    assertCode("file-read", 0);
    assertNone("file-read", ["file.write", "file.audit"]);
  });

  test("files: a path rewritten after the entry check is caught at the exit stop; io_uring stays ENOSYS", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    assertCode("open-race.plain", 0);
    assert.match(run("open-race.plain").stdout, /raced/, "the race is winnable without the enforcer");
    assertCode("open-race.enforce", 137);
    assert.doesNotMatch(run("open-race.enforce").stdout, /raced/);
    const mismatch = run("open-race.enforce").events.filter((e) => e.rule === "files.exit-mismatch");
    assert.ok(mismatch.length === 1 && mismatch[0]!.kind === "file.write" && mismatch[0]!.action === "deny", explainRun("open-race.enforce", run("open-race.enforce")));
    assertCode("io-uring", 138);
  });

  test("reverse shell: a shell whose stdio is a TCP socket (IPv4, IPv6, busybox nc -e) is killed at exec", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const ev = assertControl("revshell4", { enforce: 137, ok: 7 }, "process.reverse-shell", "reverse-shell.stdio");
    assert.match(String(detail(ev).peer), /^127\.0\.0\.1:\d+$/);
    const ev6 = assertControl("revshell6", { enforce: 137, ok: 7 }, "process.reverse-shell", "reverse-shell.stdio");
    assert.match(String(detail(ev6).peer), /^\[::1\]:\d+$/);
    assertCode("shell-plain", 7);
    assertNone("shell-plain", ["process.reverse-shell"]);
    assert.match(run("nc-e.enforce").stdout, /^nc=137$/m, explainRun("nc-e.enforce", run("nc-e.enforce")));
    assertEvent("nc-e.enforce", "process.reverse-shell", "reverse-shell.stdio", "deny");
    assert.match(run("nc-e.audit").stdout, /^nc=9$/m, explainRun("nc-e.audit", run("nc-e.audit")));
    assertEvent("nc-e.audit", "process.reverse-shell", "reverse-shell.stdio", "alert");
    assert.match(run("nc-e.plain").stdout, /^nc=9$/m, explainRun("nc-e.plain", run("nc-e.plain")));
  });

  test("miners and package managers (compiled policy): blocked by name and by stratum port", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    for (const name of ["xmrig", "apt-get", "pip3"]) {
      assertControl(`exec-${name}`, { enforce: 113, ok: 5 }, "exec.blocked", "blocklist.name");
      assert.equal(run(`exec-${name}.enforce`).events.find((e) => e.kind === "exec.blocked")!.process!.exe, `/tmp/${name}`);
    }
    assertCode("stratum.enforce", 113);
    const ev = assertEvent("stratum.enforce", "network.connect", "network.block", "deny");
    assert.equal(detail(ev).destination, `127.0.0.1:${STRATUM_PORT}`);
    assertCode("stratum.audit", 0);
    const alerts = run("stratum.audit").events.filter((e) => e.kind === "network.connect");
    assert.ok(alerts.length === 1 && alerts[0]!.action === "alert", explainRun("stratum.audit", run("stratum.audit")));
    assertCode("stratum.plain", 0);
    assertCode("stratum-other-port", 0);
    assertNone("stratum-other-port", ["network.connect"]);
  });

  test("privilege: setuid/setgid calls fail with EPERM, a setuid file's exec is killed; audit reports both", (t) => {
    if (skip) return t.skip(`SKIP: ${skip}`);
    const ev = assertControl("setid", { enforce: 101, ok: 0 }, "privilege.setid-call", "privilege.setid-call");
    assert.equal(detail(ev).syscall, "setgroups");
    assert.deepEqual(run("setid.audit").events.filter((e) => e.kind === "privilege.setid-call").map((e) => detail(e).syscall), ["setgroups", "setgid", "setuid"]);
    assertControl("suid-exec", { enforce: 137, ok: 3 }, "privilege.setuid-exec", "privilege.setuid-exec");
  });
});
