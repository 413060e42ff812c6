// The aarch64 enforcer on a real arm64 kernel: Debian's arm64 kernel booted under
// qemu-system-aarch64 (software emulation) with an initramfs of the static arm64 busybox, the
// aarch64 enforcer and its test programs. User-mode qemu implements neither ptrace nor seccomp
// for its guest, so only a full system proves the aarch64 paths: the per-arch filter, the
// entry-stop deny through NT_ARM_SYSTEM_CALL + NT_PRSTATUS, and the exec-stop kill.
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

const execFileP = promisify(execFile);
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const ARM = join(REPO, "enforcer", "build", "aarch64");
/** Downloaded packages and the built initramfs (build output, removed by `make clean`). */
const WORK = join(REPO, "enforcer", "build", "qemu-aarch64");

const INIT = `#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys
E=/bin/inlay-enforcer
echo "T kernel $(cat /proc/sys/kernel/osrelease)"
$E --bundle /b0 -- /tests/pid1 exit 7 2>/tmp/e; echo "T exit rc=$? events=$(grep -c '"schema"' /tmp/e)"
$E --bundle /b0 -- /tests/pid1 kill-self 15 2>/dev/null; echo "T signal rc=$?"
$E --bundle /bdrift -- /tests/exec-via plain /tmp/drifted exit 5 2>/tmp/e; echo "T drift rc=$? $(grep -o '"rule":"drift.manifest"' /tmp/e) $(grep -o '"stage":"entry"' /tmp/e)"
$E --bundle /bdrift -- /tests/exec-via plain /tests/pid1 exit 5 2>/dev/null; echo "T allowed rc=$?"
$E --bundle /bdrift -- /tests/exec-via memfd /tests/pid1 exit 5 2>/tmp/e; echo "T memfd rc=$? $(grep -o '"rule":"fileless.memfd"' /tmp/e)"
$E --bundle /bblock -- /tests/exec-race /tmp/allowed /tmp/forbidden 200 2>/dev/null | sed 's/^/T race /'
$E --bundle /b0 -- /tests/escape attack parent 2>/dev/null | tr '\\n' ' ' | sed 's/^/T attack /'; echo
$E --bundle /bblock -- /tests/escape untraced-clone /tmp/forbidden 2>/dev/null | tr '\\n' ' ' | sed 's/^/T untraced /'; echo
/tests/escape untraced-clone /tmp/forbidden | tr '\\n' ' ' | sed 's/^/T untraced-plain /'; echo
echo "T done"
poweroff -f
`;

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

async function buildInitramfs(pkgs: { kernel: string; busybox: string }): Promise<{ kernel: string; initrd: string }> {
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
  for (const a of ["sh", "mount", "poweroff", "cat", "grep", "sed", "tr", "echo"]) await symlink("busybox", join(root, "bin", a));
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
  await writeFile(join(root, "init"), INIT);
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
      // Two vCPUs: with one, exec-race's flipper thread runs only when its execve thread is
      // descheduled, and in some boots never between the entry check and the kernel's read.
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

describe("aarch64 enforcer on a real arm64 kernel (qemu-system-aarch64)", () => {
  let results = new Map<string, string>();
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
    const { kernel, initrd } = await buildInitramfs(pkgs);
    console_ = await boot(kernel, initrd);
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
    const m = /ran-forbidden=(\d+) ran-allowed=(\d+) killed=(\d+)/.exec(results.get("race") ?? "");
    assert.ok(m, results.get("race"));
    assert.equal(m[1], "0", "the forbidden file never ran");
    assert.ok(Number(m[3]) > 0, `no swap reached the exec stop: ${results.get("race")}`);
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
});
