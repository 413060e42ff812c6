/**
 * Enforcer benchmarks (issue: enforcer core). Every figure is a ratio against a baseline
 * measured in the same run, with the variants interleaved round by round so machine drift
 * hits them alike; medians over rounds.
 *
 *   npm run build && make -C bench && node dist/bench/enforcer-bench.js [--rounds N]
 *
 * Writes its section of docs/benchmarks.md.
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { writeBundle } from "../src/bundle/write-bundle.js";
import { defaultBundleSpec } from "../src/bundle/default-bundle-spec.js";
import { makeTempDir } from "../test/helpers/temp-dir.js";
import { machineLine, writeReportSection } from "./lib/report.js";
import { median, ratio } from "./lib/stats.js";

const execFileP = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const enforcer = join(root, "enforcer/build/x86_64/inlay-enforcer");
const prog = (name: string): string => join(root, "bench/build", name);

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1] ?? "") || 7;

async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** Runs a command whose stdout is one number (nanoseconds) and returns it. */
async function timed(cmd: string[]): Promise<number> {
  const { stdout } = await execFileP(cmd[0]!, cmd.slice(1), { maxBuffer: 1 << 20 });
  const lines = stdout.trim().split("\n");
  const n = Number(lines[lines.length - 1]);
  if (!Number.isFinite(n)) throw new Error(`Cannot read a time from ${cmd.join(" ")}: ${stdout}`);
  return n;
}

async function interleave(variants: Record<string, string[]>, n: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let r = 0; r < n; r++) for (const [k, cmd] of Object.entries(variants)) samples[k]!.push(await timed(cmd));
  return Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
}

/** Peak RSS (VmHWM, kB) of the enforcer process while its workload runs `cmd`. */
async function enforcerPeakRss(bundle: string, cmd: string[]): Promise<number> {
  const child = spawn(enforcer, ["--bundle", bundle, "--events", "file:/dev/null", "--", ...cmd], { stdio: "ignore" });
  let peak = 0;
  const done = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const poll = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, "utf8")
      .then((s) => {
        const m = /VmHWM:\s+(\d+) kB/.exec(s);
        if (m) peak = Math.max(peak, Number(m[1]));
      })
      .catch(() => undefined);
  }, 20);
  const code = await done;
  clearInterval(poll);
  if (code !== 0) throw new Error(`Cannot measure RSS: the workload exited ${code}`);
  return peak;
}

async function main(): Promise<void> {
  const tmp = await makeTempDir("inlay-bench-");
  try {
    const manifest = await Promise.all(
      ["forkexec-loop", "nop", "syscall-loop", "stamp"].map(async (p) => ({ path: prog(p), sha256: await sha256File(prog(p)) })),
    );
    manifest.push({ path: "/bin/busybox", sha256: await sha256File("/bin/busybox") });
    const bundle = join(tmp.path, "bundle");
    await writeFile(bundle, writeBundle({ ...defaultBundleSpec(), manifest }));
    // A manifest the size of a large image (20,000 executables) for the RSS figure.
    const big = join(tmp.path, "bundle-big");
    const filler = Array.from({ length: 20_000 }, (_, i) => ({
      path: `/usr/lib/filler/${i}`,
      sha256: createHash("sha256").update(String(i)).digest("hex"),
    }));
    await writeFile(big, writeBundle({ ...defaultBundleSpec(), manifest: [...manifest, ...filler] }));
    const wrap = ["--bundle", bundle, "--events", "file:/dev/null", "--"];

    const execN = 2000;
    const exec = await interleave(
      {
        native: [prog("forkexec-loop"), String(execN), prog("nop")],
        enforcer: [enforcer, ...wrap, prog("forkexec-loop"), String(execN), prog("nop")],
        strace: ["strace", "-f", "-qq", "-e", "trace=execve", "--seccomp-bpf", "-o", "/dev/null", prog("forkexec-loop"), String(execN), prog("nop")],
      },
      rounds,
    );

    const sysN = 10_000_000;
    const sys = await interleave(
      {
        native: [prog("syscall-loop"), String(sysN)],
        allowAll: [prog("seccomp-allow-all"), "--", prog("syscall-loop"), String(sysN)],
        allowAllSpec: [prog("seccomp-allow-all"), "--spec-allow", "--", prog("syscall-loop"), String(sysN)],
        enforcer: [enforcer, ...wrap, prog("syscall-loop"), String(sysN)],
      },
      rounds,
    );

    const startRuns = 200;
    const startSamples = async (cmd: string[]): Promise<number> => {
      const { stdout } = await execFileP(prog("start-latency"), [String(startRuns), "--", ...cmd]);
      return median(stdout.trim().split("\n").map(Number));
    };
    const start: Record<string, number[]> = { native: [], enforcer: [], tini: [] };
    for (let r = 0; r < 3; r++) {
      start.native!.push(await startSamples([prog("stamp")]));
      start.enforcer!.push(await startSamples([enforcer, ...wrap, prog("stamp")]));
      start.tini!.push(await startSamples(["/usr/bin/tini-static", "-s", "--", prog("stamp")]));
    }
    const st = Object.fromEntries(Object.entries(start).map(([k, v]) => [k, median(v)])) as Record<string, number>;

    const rssWorkload = ["/bin/busybox", "sh", "-c", `${prog("forkexec-loop")} 200 ${prog("nop")} >/dev/null; /bin/busybox sleep 0.3`];
    const rssSmall = await enforcerPeakRss(bundle, rssWorkload);
    const rssBig = await enforcerPeakRss(big, rssWorkload);
    const size = (await stat(enforcer)).size;

    const ms = (ns: number): string => (ns / 1e6).toFixed(2);
    const body = `## Enforcer (x86_64)

Measured ${machineLine()}; ${rounds} interleaved rounds, medians.
Reproduce: \`npm run build && make -C bench && node dist/bench/enforcer-bench.js --rounds ${rounds}\`.
The default bundle (drift enforced from a manifest, fileless, loader and block list enforced) is in force.

| benchmark | baseline | result | ratio | goal |
|---|---|---|---|---|
| ${execN} fork+exec of a static no-op | native ${ms(exec.native!)} ms | enforcer ${ms(exec.enforcer!)} ms | **${ratio(exec.enforcer!, exec.native!)}** | ≤ 1.10× |
| same loop, anchor | native ${ms(exec.native!)} ms | \`strace -f --seccomp-bpf -e trace=execve\` ${ms(exec.strace!)} ms | ${ratio(exec.strace!, exec.native!)} | — |
| ${sysN / 1e6} M untrapped \`getppid\` | allow-all filter ${ms(sys.allowAll!)} ms | enforcer ${ms(sys.enforcer!)} ms | **${ratio(sys.enforcer!, sys.allowAll!)}** | within 2% (≤ 1.02×) |
| same loop, anchors | native ${ms(sys.native!)} ms | allow-all ${ms(sys.allowAll!)} ms / allow-all + SPEC_ALLOW ${ms(sys.allowAllSpec!)} ms | ${ratio(sys.allowAll!, sys.native!)} / ${ratio(sys.allowAllSpec!, sys.native!)} | — |
| start to first instruction (median of ${startRuns}) | native ${ms(st.native!)} ms | enforcer ${ms(st.enforcer!)} ms (tini-static ${ms(st.tini!)} ms) | +${ms(st.enforcer! - st.native!)} ms | ≤ +2 ms |
| enforcer peak RSS (VmHWM), 5-entry manifest | — | ${(rssSmall / 1024).toFixed(2)} MB | — | ≤ 2 MB + manifest |
| enforcer peak RSS, 20,005-entry manifest | — | ${(rssBig / 1024).toFixed(2)} MB | — | — |
| stripped static binary size | — | ${(size / 1024).toFixed(0)} KB | — | ≤ 400 KB |
`;
    await writeReportSection(join(root, "docs/benchmarks.md"), "enforcer", body);
    process.stdout.write(body);
  } finally {
    await tmp.dispose();
  }
}

await main();
