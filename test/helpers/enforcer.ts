/**
 * Runs the real `inlay-enforcer` binary for the black-box suites under test/enforcer/, either on
 * this host or as PID 1 of a podman container (runc, `--rootfs` of a static busybox plus the
 * enforcer and the test programs of enforcer/tests/progs). The container runs in one of three
 * configurations: the default capabilities, `--cap-drop=ALL`, and a non-root `--user 1000:1000`.
 * Every line the enforcer writes that looks like an event is parsed with the event schema.
 * @module
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, readdir, realpath, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { extractEvents, type InlayEvent } from "../../src/events/event-schema.js";
import { startPodman, type Podman } from "./podman.js";
import { makeTempDir } from "./temp-dir.js";

export type TargetKind = "host" | "podman-default" | "podman-cap-drop" | "podman-user";

/** The configurations every end-to-end suite runs in. */
export const ALL_TARGETS: readonly TargetKind[] = ["host", "podman-default", "podman-cap-drop", "podman-user"];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Every event line of stderr, validated by the event schema. */
  events: InlayEvent[];
  /** stderr lines that are not events (workload and enforcer messages). */
  other: string[];
}

export interface RunOptions {
  /** Extra environment for the process (the container gets exactly these plus PATH). */
  env?: Record<string, string>;
  /** Extra `podman run` arguments (ignored on the host). */
  podmanArgs?: string[];
  timeoutMs?: number;
}

/** A started process whose stdout can be awaited line by line and which can be signalled. */
export interface Running {
  /** Resolves once stdout has contained `text`. */
  waitFor(text: string): Promise<void>;
  /** Sends a signal (a name, or a number such as 34 for a real-time signal) to the enforcer (the
   * container's PID 1, or the host process). */
  signal(sig: NodeJS.Signals | number): Promise<void>;
  result: Promise<RunResult>;
}

export interface Target {
  readonly kind: TargetKind;
  /** Paths as the workload sees them. */
  readonly enforcer: string;
  readonly progs: string;
  readonly scratch: string;
  /** The workload's uid (host: ours). */
  readonly uid: number;
  /** Where the workload's path `p` (under scratch or progs) lives on this host. */
  hostPath(p: string): string;
  /** Writes a bundle file into scratch and returns its path as the workload sees it. */
  writeBundle(text: string): Promise<string>;
  /** Runs argv (the enforcer or anything else) to completion. */
  run(argv: string[], opts?: RunOptions): Promise<RunResult>;
  start(argv: string[], opts?: RunOptions): Running;
  dispose(): Promise<void>;
}

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const ARCH = process.arch === "arm64" ? "aarch64" : "x86_64";
/** The built enforcer and test programs of this machine's architecture. */
export const BUILD_DIR = join(REPO, "enforcer", "build", ARCH);

/** Percent-encodes a bundle argument (docs/bundle-format.md, "Encoding"). */
export function pct(s: string): string {
  let out = "";
  for (const b of Buffer.from(s, "utf8")) {
    out += b < 0x21 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

/** A bundle as literal text: the header, the directives, the trailer. */
export function bundleText(directives: string[]): string {
  return ["inlay-bundle 1", ...directives, "end", ""].join("\n");
}

export async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

function collect(
  child: ReturnType<typeof spawn>,
  timeoutMs: number,
  onStdout?: (all: string) => void,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      onStdout?.(stdout);
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      try {
        const { events, other } = extractEvents(stderr);
        const sigNo = signal ? ({ SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0 : 0;
        resolve({ code: code ?? 128 + sigNo, stdout, stderr, events, other });
      } catch (err) {
        reject(new Error(`Cannot parse the enforcer's events: ${String(err)}\n--- stderr ---\n${stderr}`, { cause: err }));
      }
    });
  });
}

function makeRunning(child: ReturnType<typeof spawn>, timeoutMs: number, kill: (sig: NodeJS.Signals | number) => Promise<void>): Running {
  const waiters: { text: string; resolve: () => void }[] = [];
  let seen = "";
  const result = collect(child, timeoutMs, (all) => {
    seen = all;
    for (const w of waiters.splice(0)) {
      if (all.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  return {
    result,
    waitFor(text) {
      if (seen.includes(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ text, resolve });
        result.then((r) => reject(new Error(`Cannot find "${text}" in the output: the process ended (${r.code}): ${r.stderr}`)), reject);
      });
    },
    signal: kill,
  };
}

async function hostTarget(): Promise<Target> {
  const tmp = await makeTempDir("inlay-enf-");
  await chmod(tmp.path, 0o755);
  const scratch = tmp.path;
  let n = 0;
  return {
    kind: "host",
    enforcer: join(BUILD_DIR, "inlay-enforcer"),
    progs: join(BUILD_DIR, "tests"),
    scratch,
    uid: process.getuid?.() ?? 0,
    hostPath: (p) => p,
    async writeBundle(text) {
      const p = join(scratch, `bundle-${++n}`);
      await writeFile(p, text);
      return p;
    },
    run(argv, opts = {}) {
      const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
      return collect(child, opts.timeoutMs ?? 60_000);
    },
    start(argv, opts = {}) {
      const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
      return makeRunning(child, opts.timeoutMs ?? 60_000, async (sig) => {
        // child.kill refuses real-time signal numbers (ERR_UNKNOWN_SIGNAL); process.kill takes them
        if (typeof sig === "number") process.kill(child.pid!, sig);
        else child.kill(sig);
      });
    },
    dispose: () => tmp.dispose(),
  };
}

const BUSYBOX_APPLETS = ["sh", "true", "false", "cat", "cp", "chmod", "echo", "ln", "ls", "mkdir", "rm", "sleep", "kill", "touch", "env", "chroot"];

/** Builds the container root: static busybox, the enforcer, the test programs, a 1777 scratch. */
async function buildRootfs(root: string): Promise<void> {
  await chmod(root, 0o755);
  for (const d of ["bin", "inlay/tests", "scratch", "tmp", "proc", "dev", "sys", "etc"]) await mkdir(join(root, d), { recursive: true });
  await copyFile("/bin/busybox", join(root, "bin/busybox"));
  await chmod(join(root, "bin/busybox"), 0o755);
  for (const a of BUSYBOX_APPLETS) await symlink("busybox", join(root, "bin", a));
  await copyFile(join(BUILD_DIR, "inlay-enforcer"), join(root, "inlay/inlay-enforcer"));
  await chmod(join(root, "inlay/inlay-enforcer"), 0o755);
  for (const f of await readdir(join(BUILD_DIR, "tests"))) {
    await copyFile(join(BUILD_DIR, "tests", f), join(root, "inlay/tests", f));
    await chmod(join(root, "inlay/tests", f), 0o755);
  }
  await chmod(join(root, "scratch"), 0o1777);
  await chmod(join(root, "tmp"), 0o1777);
  await writeFile(join(root, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\nuser:x:1000:1000:user:/:/bin/sh\n");
  await writeFile(join(root, "etc/group"), "root:x:0:\nuser:x:1000:\n");
}

async function podmanTarget(kind: Exclude<TargetKind, "host">, podman: Podman): Promise<Target> {
  const rootfs = await makeTempDir("inlay-rootfs-");
  await buildRootfs(rootfs.path);
  const config =
    kind === "podman-cap-drop" ? ["--cap-drop=ALL"] : kind === "podman-user" ? ["--user", "1000:1000"] : [];
  let n = 0;
  const podmanArgv = (argv: string[], opts: RunOptions, name?: string): string[] => {
    const env = Object.entries({ PATH: "/bin", ...opts.env }).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
    return [
      "--root", join(podman.root, "storage"), "--runroot", join(podman.root, "run"),
      // No network unless the test asks for one (e.g. --network=host to reach a loopback console).
      "run", "--rm", ...((opts.podmanArgs ?? []).some((a) => a.startsWith("--network")) ? [] : ["--network=none"]),
      ...(name ? ["--name", name] : []), ...config, ...env, ...(opts.podmanArgs ?? []),
      "--rootfs", rootfs.path, ...argv,
    ];
  };
  return {
    kind,
    enforcer: "/inlay/inlay-enforcer",
    progs: "/inlay/tests",
    scratch: "/scratch",
    uid: kind === "podman-user" ? 1000 : 0,
    hostPath: (p) => join(rootfs.path, p),
    async writeBundle(text) {
      const p = `/scratch/bundle-${++n}`;
      await writeFile(join(rootfs.path, p), text, { mode: 0o644 });
      return p;
    },
    run(argv, opts = {}) {
      const child = spawn("podman", podmanArgv(argv, opts), { env: podman.env, stdio: ["ignore", "pipe", "pipe"] });
      return collect(child, opts.timeoutMs ?? 120_000);
    },
    start(argv, opts = {}) {
      const name = `inlay-sig-${process.pid}-${++n}`;
      const child = spawn("podman", podmanArgv(argv, opts, name), { env: podman.env, stdio: ["ignore", "pipe", "pipe"] });
      return makeRunning(child, opts.timeoutMs ?? 120_000, async (sig) => {
        await podman.ok(["kill", "--signal", String(sig), name]);
      });
    },
    dispose: () => rootfs.dispose(),
  };
}

/** Creates the targets of a suite; dispose them (and the shared podman) with the returned function. */
export async function makeTargets(kinds: readonly TargetKind[] = ALL_TARGETS): Promise<{ targets: Target[]; dispose(): Promise<void> }> {
  const needPodman = kinds.some((k) => k !== "host");
  const podman = needPodman ? await startPodman() : undefined;
  const targets: Target[] = [];
  for (const k of kinds) targets.push(k === "host" ? await hostTarget() : await podmanTarget(k, podman!));
  return {
    targets,
    async dispose() {
      for (const t of targets) await t.dispose();
      await podman?.dispose();
    },
  };
}

/**
 * The image manifest a test bundle lists: every test program, plus the shell and tools the
 * workload uses (busybox in the container; the host's resolved sh, cp and cat).
 */
export async function manifestLines(t: Target): Promise<string[]> {
  const lines: string[] = [];
  for (const f of await readdir(join(BUILD_DIR, "tests"))) {
    lines.push(`exe ${await sha256File(join(BUILD_DIR, "tests", f))} ${pct(`${t.progs}/${f}`)}`);
  }
  // the shell and the few tools the suites' shell lines use (busybox applets in the container)
  const tools = t.kind === "host" ? ["/bin/sh", "/bin/cp", "/bin/cat"] : ["/bin/busybox"];
  for (const tool of tools) {
    const real = t.kind === "host" ? await realpath(tool) : tool;
    lines.push(`exe ${await sha256File(real)} ${pct(real)}`);
  }
  return lines;
}

/** The events of one kind. */
export function eventsOf(r: RunResult, kind: string): InlayEvent[] {
  return r.events.filter((e) => e.kind === kind);
}

/** A readable dump for assertion messages. */
export function explain(r: RunResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}
