/**
 * Cost of the runtime controls on a read-heavy file workload: `file-read-loop` (open read-only,
 * fstat, read 4 KiB, close, over 200 small files; optionally one open for writing per 1,000
 * opens) natively, under a bare allow-all seccomp filter (with SPEC_ALLOW, like the enforcer: the
 * floor any seccomp-based enforcer pays), and under the enforcer with the default policy and with
 * every runtime control on. The time is measured inside the workload (the loop only, not the
 * enforcer's start). Methods are interleaved run by run; medians of RUNS runs. The same bundles
 * also run the exec loop of the enforcer benchmark (fork+exec of a static no-op), the third
 * workload the runtime-policy issue names.
 *
 * Run: `make -C enforcer && make -C bench && npx tsc -p tsconfig.json && node dist/bench/runtime-controls.js`
 * (writes docs/benchmarks.md).
 * @module
 */
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeBundle } from "../src/bundle/write-bundle.js";
import { compilePolicy } from "../src/policy/compile-policy.js";
import { defaultPolicy } from "../src/policy/default-policy.js";
import { machineLine, writeReportSection } from "./lib/report.js";
import { median, ratio } from "./lib/stats.js";

const RUNS = 15;
const FILES = 200;
const ROUNDS = 250;
const build = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const loop = build("bench/build/file-read-loop");
const forkexec = build("bench/build/forkexec-loop");
const nop = build("bench/build/nop");
const EXECS = 2000;
const allowAll = build("bench/build/seccomp-allow-all");
const enforcer = build("enforcer/build/x86_64/inlay-enforcer");
const report = build("docs/benchmarks.md");

function runOnce(argv: string[]): number {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`Cannot run ${argv.join(" ")}: exit ${r.status}: ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop()!;
  const ns = Number(line.split(" ")[0]);
  if (!Number.isFinite(ns) || ns <= 0) throw new Error(`Cannot read the loop time from "${line}"`);
  return ns / 1e6;
}

async function main(): Promise<void> {
  for (const f of [loop, forkexec, nop, allowAll, enforcer]) if (!existsSync(f)) throw new Error(`Cannot benchmark: ${f} is missing; run make -C enforcer && make -C bench`);
  const dir = await mkdtemp(join(tmpdir(), "inlay-bench-rt-"));
  try {
    const data = join(dir, "data");
    await mkdir(data);
    for (let i = 0; i < FILES; i++) await writeFile(join(data, `f${i}`), Buffer.alloc(2000, i));
    const manifest = [loop, forkexec, nop].map((path) => ({ sha256: createHash("sha256").update(readFileSync(path)).digest("hex"), path }));
    // The default policy (drift, fileless, loader, miners, stratum ports and reverse shells
    // enforced; outbound, listen, audited files, privilege audited).
    const dflt = join(dir, "default.bundle");
    await writeFile(dflt, writeBundle(compilePolicy(defaultPolicy().policy, { buildTime: new Date(), manifest })));
    // Every runtime control on: the default plus read-only paths in enforce mode.
    const all = join(dir, "all.bundle");
    const spec = compilePolicy(defaultPolicy().policy, { buildTime: new Date(), manifest });
    spec.controls.files = "enforce";
    spec.files = { readOnly: ["/etc", "/usr"], audited: [...(spec.files?.audited ?? []), join(dir, "audited")] };
    await writeFile(all, writeBundle(spec));

    const under = (bundle: string) => [enforcer, "--bundle", bundle, "--events", "file:/dev/null", "--"];
    const methods = [
      { name: "native", argv: (w: string) => [loop, data, String(FILES), String(ROUNDS), w] },
      { name: "allow-all seccomp filter (SPEC_ALLOW)", argv: (w: string) => [allowAll, "--spec-allow", "--", loop, data, String(FILES), String(ROUNDS), w] },
      { name: "enforcer, default policy", argv: (w: string) => [...under(dflt), loop, data, String(FILES), String(ROUNDS), w] },
      { name: "enforcer, every control on", argv: (w: string) => [...under(all), loop, data, String(FILES), String(ROUNDS), w] },
    ];
    const rows: string[] = [];
    for (const [label, writeEvery] of [["reads only", "0"], ["1 write-open per 1,000 opens", "1000"]] as const) {
      const samples = methods.map(() => [] as number[]);
      runOnce(methods[0]!.argv(writeEvery)); // warm the page cache
      for (let i = 0; i < RUNS; i++) methods.forEach((m, k) => samples[k]!.push(runOnce(m.argv(writeEvery))));
      const med = samples.map(median);
      const min = samples.map((xs) => Math.min(...xs));
      const opens = FILES * ROUNDS;
      methods.forEach((m, k) => {
        rows.push(
          `| ${label} | ${m.name} | ${med[k]!.toFixed(1)} ms | ${min[k]!.toFixed(1)} ms | ${((min[k]! * 1e6) / opens).toFixed(0)} ns | ${ratio(med[k]!, med[0]!)} / ${ratio(min[k]!, min[0]!)} | ${ratio(med[k]!, med[1]!)} / ${ratio(min[k]!, min[1]!)} |`,
        );
      });
    }
    const body = `## Runtime controls: read-heavy file workload

Command: \`make -C enforcer && make -C bench && npx tsc -p tsconfig.json && node dist/bench/runtime-controls.js\` — ${machineLine()}.

\`file-read-loop\`: ${ROUNDS} rounds over ${FILES} files of 2,000 bytes (open read-only, fstat,
read, close: ${FILES * ROUNDS} opens per run), optionally replacing every 1,000th open by an
append-open of a log file plus a one-byte write. The time is the loop alone, measured inside the
workload. Median and minimum of ${RUNS} runs, methods interleaved; ratios are given for both
(median / minimum): on this shared 2-core machine the minimum is the steadier estimate of the
intrinsic cost, the median shows the noise. "every control on" is the default policy
plus \`files\` in enforce mode with read-only \`/etc\` and \`/usr\`. With the files control on,
write-opens stop twice (entry and exit checks); read-only opens are decided in BPF and never stop.

| workload | method | median | minimum | per open (min) | / native (med / min) | / allow-all filter (med / min) |
|---|---|---|---|---|---|---|
${rows.join("\n")}`;
    await writeReportSection(report, "runtime-controls-files", body);
    process.stdout.write(`${body}\n`);

    const execLoop = [forkexec, String(EXECS), nop];
    const execMethods = [
      { name: "native", argv: execLoop },
      { name: "enforcer, default policy", argv: [...under(dflt), ...execLoop] },
      { name: "enforcer, every control on", argv: [...under(all), ...execLoop] },
    ];
    const execSamples = execMethods.map(() => [] as number[]);
    runOnce(execMethods[0]!.argv);
    for (let i = 0; i < RUNS; i++) execMethods.forEach((m, k) => execSamples[k]!.push(runOnce(m.argv)));
    const execMed = execSamples.map(median);
    const execMin = execSamples.map((xs) => Math.min(...xs));
    const execRows = execMethods.map(
      (m, k) => `| ${m.name} | ${execMed[k]!.toFixed(1)} ms | ${execMin[k]!.toFixed(1)} ms | ${((execMin[k]! * 1e3) / EXECS).toFixed(0)} µs | ${ratio(execMed[k]!, execMed[0]!)} / ${ratio(execMin[k]!, execMin[0]!)} |`,
    );
    const execBody = `## Runtime controls: exec loop

Command: as above (\`node dist/bench/runtime-controls.js\` writes both sections) — ${machineLine()}.

${EXECS} fork+exec of a static no-op (\`forkexec-loop\`, the enforcer benchmark's loop), time measured
inside the loop, median and minimum of ${RUNS} runs, methods interleaved, with the same two bundles as
the file workload: what the runtime controls add to the loop's cost under the enforcer (the core
issue's goal for this loop, ≤ 1.10× native, and why it is hard are in the enforcer section).

| method | median | minimum | per fork+exec (min) | / native (med / min) |
|---|---|---|---|---|
${execRows.join("\n")}`;
    await writeReportSection(report, "runtime-controls-exec", execBody);
    process.stdout.write(`${execBody}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
