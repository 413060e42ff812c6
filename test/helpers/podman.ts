/**
 * Podman for tests, configured as ../shared/research/feasibility.md found necessary on this
 * machine: runc (crun cannot run on hybrid cgroups), cgroupfs, nofile pinned to the hard limit
 * (root lacks CAP_SYS_RESOURCE), nproc pinned to 32768, and private storage per instance so
 * parallel suites never share state. Nothing under /etc is touched.
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeTempDir } from "./temp-dir.js";

const execFileP = promisify(execFile);

/** The stock capability set of Debian's containers.conf, restated because CONTAINERS_CONF replaces it. */
const DEFAULT_CAPS = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Podman {
  /** Environment that points podman at this instance's configuration. */
  readonly env: NodeJS.ProcessEnv;
  readonly root: string;
  /** Runs `podman ARGS...`; never throws on a non-zero exit. */
  run(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Runs podman and throws with its stderr when it fails. */
  ok(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  dispose(): Promise<void>;
}

async function hardNofile(): Promise<number> {
  const { stdout } = await execFileP("sh", ["-c", "ulimit -Hn"]);
  const n = Number.parseInt(stdout.trim(), 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1048576) : 1024;
}

/**
 * Creates a podman instance with private storage.
 * @param opts.insecureRegistries `host:port` entries podman may reach over plain HTTP
 */
export async function startPodman(opts: { insecureRegistries?: string[] } = {}): Promise<Podman> {
  const tmp = await makeTempDir("inlay-podman-");
  const root = tmp.path;
  const nofile = await hardNofile();
  await mkdir(join(root, "storage"), { recursive: true });
  await mkdir(join(root, "run"), { recursive: true });
  await writeFile(
    join(root, "containers.conf"),
    [
      "[containers]",
      `default_capabilities = [${DEFAULT_CAPS.map((c) => `"${c}"`).join(",")}]`,
      'default_sysctls = ["net.ipv4.ping_group_range=0 0"]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]`,
      "[engine]",
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(root, "events.log")}"`,
      `tmp_dir = "${join(root, "tmp")}"`,
      "",
    ].join("\n"),
  );
  await writeFile(
    join(root, "storage.conf"),
    `[storage]\ndriver = "overlay"\ngraphroot = "${join(root, "storage")}"\nrunroot = "${join(root, "run")}"\n`,
  );
  await writeFile(
    join(root, "registries.conf"),
    (opts.insecureRegistries ?? []).map((r) => `[[registry]]\nlocation = "${r}"\ninsecure = true\n`).join("\n") +
      'unqualified-search-registries = []\nshort-name-mode = "disabled"\n',
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: join(root, "containers.conf"),
    CONTAINERS_STORAGE_CONF: join(root, "storage.conf"),
    CONTAINERS_REGISTRIES_CONF: join(root, "registries.conf"),
    XDG_RUNTIME_DIR: join(root, "xdg"),
    TMPDIR: join(root, "tmp"),
  };
  await mkdir(join(root, "xdg"), { recursive: true });
  await mkdir(join(root, "tmp"), { recursive: true });

  const run = (args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> =>
    new Promise((resolve, reject) => {
      const child = spawn("podman", ["--root", join(root, "storage"), "--runroot", join(root, "run"), ...args], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 120_000);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr });
      });
      child.stdin.end(o.input ?? "");
    });

  return {
    env,
    root,
    run,
    async ok(args, o) {
      const r = await run(args, o);
      if (r.code !== 0) throw new Error(`podman ${args.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    async dispose() {
      // Containers are started with --rm; a reset removes anything a failed test left behind.
      await run(["rm", "--all", "--force", "--time", "0"]).catch(() => undefined);
      await run(["system", "reset", "--force"]).catch(() => undefined);
      await tmp.dispose();
    },
  };
}
