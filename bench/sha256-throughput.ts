/**
 * Throughput of the enforcer's SHA-256 (enforcer/src/sha256.c, SHA-NI and portable block
 * functions) against `sha256sum` (coreutils) and `openssl dgst -sha256` on the same files in the
 * same run. The enforcer hashes an executable the first time it is exec'd, while that exec waits,
 * so the interesting input is a large interpreter; a 64 MiB random file shows the steady state.
 *
 * Every method runs as its own process on a warm page cache; the table gives the median wall time
 * of the whole process (start, open, read, hash) over RUNS runs, and for the enforcer's code also
 * the median time of open + sha256_fd inside the process (what an exec actually waits for).
 * All digests must agree, or the benchmark fails.
 *
 * Run: `make -C enforcer && make -C bench build/sha256-file && npx tsc -p tsconfig.json && node dist/bench/sha256-throughput.js`
 * (writes docs/benchmarks.md).
 * @module
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { machineLine, writeReportSection } from "./lib/report.js";
import { median, ratio } from "./lib/stats.js";

const RUNS = 9;
const MiB = 1024 * 1024;
const tool = fileURLToPath(new URL("../../bench/build/sha256-file", import.meta.url));
const report = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));

interface Method {
  name: string;
  argv: (file: string) => string[];
  /** Extracts the hex digest and, for the enforcer's tool, the in-process hash time in ns. */
  parse: (stdout: string) => { hex: string; innerNs?: number };
}

const ours = (stdout: string) => {
  const [, hex, ns] = stdout.trim().split(" ");
  return { hex: hex!, innerNs: Number(ns) };
};

const methods: Method[] = [
  { name: "enforcer sha256 (SHA-NI)", argv: (f) => [tool, f], parse: ours },
  { name: "enforcer sha256 (portable)", argv: (f) => [tool, "--portable", f], parse: ours },
  { name: "sha256sum (coreutils)", argv: (f) => ["sha256sum", f], parse: (s) => ({ hex: s.split(" ")[0]! }) },
  { name: "openssl dgst -sha256", argv: (f) => ["openssl", "dgst", "-sha256", "-r", f], parse: (s) => ({ hex: s.split(" ")[0]! }) },
];

function runOnce(m: Method, file: string): { wallMs: number; innerMs?: number; hex: string } {
  const [cmd, ...args] = m.argv(file);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd!, args, { encoding: "utf8" });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`Cannot run ${m.name} on ${file}: exit ${r.status}: ${r.stderr}`);
  const { hex, innerNs } = m.parse(r.stdout);
  return { wallMs, hex, ...(innerNs !== undefined ? { innerMs: innerNs / 1e6 } : {}) };
}

async function main(): Promise<void> {
  if (!existsSync(tool)) throw new Error(`Cannot benchmark: ${tool} is missing; run make -C bench build/sha256-file`);
  const probe = spawnSync(tool, ["/dev/null"], { encoding: "utf8" }).stdout.split(" ")[0];
  if (probe !== "sha-ni") methods.splice(0, 1); // no SHA extensions on this CPU: the row would repeat "portable"
  const dir = await mkdtemp(join(tmpdir(), "inlay-bench-sha-"));
  try {
    const random = join(dir, "random-64MiB");
    await writeFile(random, randomBytes(64 * MiB));
    const inputs = [
      ...(existsSync("/usr/bin/python3.11") ? [{ label: "python3.11 binary", file: "/usr/bin/python3.11" }] : []),
      { label: "64 MiB random", file: random },
    ];
    const rows: string[] = [];
    for (const input of inputs) {
      const size = (await stat(input.file)).size;
      await readFile(input.file); // warm the page cache
      const results = methods.map((m) => ({ m, wall: [] as number[], inner: [] as number[], hex: new Set<string>() }));
      // Interleave methods run by run, so load from other processes hits them alike.
      for (let i = 0; i < RUNS; i++) {
        for (const r of results) {
          const one = runOnce(r.m, input.file);
          r.wall.push(one.wallMs);
          if (one.innerMs !== undefined) r.inner.push(one.innerMs);
          r.hex.add(one.hex);
        }
      }
      const digests = new Set(results.flatMap((r) => [...r.hex]));
      if (digests.size !== 1) throw new Error(`Cannot trust the benchmark: digests differ for ${input.file}: ${[...digests].join(", ")}`);
      const base = median(results.find((r) => r.m.name.startsWith("sha256sum"))!.wall);
      for (const r of results) {
        const wall = median(r.wall);
        const inner = r.inner.length ? median(r.inner) : undefined;
        const mbs = (size / MiB / ((inner ?? wall) / 1000)).toFixed(0);
        rows.push(
          `| ${input.label} (${(size / MiB).toFixed(1)} MiB) | ${r.m.name} | ${wall.toFixed(1)} ms | ${inner !== undefined ? `${inner.toFixed(1)} ms` : "—"} | ${mbs} MiB/s | ${ratio(wall, base)} |`,
        );
      }
    }
    const body = `## Enforcer SHA-256: first-exec hashing cost

Command: \`make -C enforcer && make -C bench build/sha256-file && npx tsc -p tsconfig.json && node dist/bench/sha256-throughput.js\` — ${machineLine()}.

Each method is a separate process hashing the file once on a warm page cache; medians of ${RUNS} runs,
methods interleaved. "hash" is open + \`sha256_fd\` measured inside the enforcer's code (what an exec
waits for on a cache miss); MiB/s uses it where present, else the process wall time. The ratio is
wall time against \`sha256sum\`. All digests agree (checked by the benchmark).

| input | method | process wall | hash | throughput | wall / sha256sum |
|---|---|---|---|---|---|
${rows.join("\n")}`;
    await writeReportSection(report, "sha256-throughput", body);
    process.stdout.write(`${body}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
