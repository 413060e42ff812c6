/**
 * Peak memory and time of buildExecManifest on synthetic layer tars: 100 MiB and 1 GiB (one large
 * ELF file plus 2,000 small executables) to show memory does not grow with file size, and 100,000
 * small files to show what the in-memory tree of names costs. Each walk runs in a fresh Node
 * process; the native `sha256sum` of the same file, measured in the same run, is the floor for
 * "read and hash every byte".
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/scan-memory.js` (writes docs/benchmarks.md).
 * @module
 */
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import tarStream from "tar-stream";
import { buildExecManifest } from "../src/scan/layer-walker.js";
import { machineLine, writeReportSection } from "./lib/report.js";
import { median, ratio } from "./lib/stats.js";

const MiB = 1024 * 1024;
const RUNS = 3;

interface Shape {
  totalMiB: number;
  smallFiles: number;
  smallSize: number;
}
const SHAPES: Shape[] = [
  { totalMiB: 100, smallFiles: 2000, smallSize: 4096 },
  { totalMiB: 1024, smallFiles: 2000, smallSize: 4096 },
  { totalMiB: 160, smallFiles: 100_000, smallSize: 1024 },
];

/** Writes a layer tar of about `totalMiB` MiB, streaming (the generator itself stays small). */
async function writeSyntheticLayer(file: string, { totalMiB, smallFiles, smallSize }: Shape): Promise<void> {
  const pack = tarStream.pack();
  const out = pipeline(pack as unknown as NodeJS.ReadableStream, createWriteStream(file));
  const elf = Buffer.alloc(MiB, 0xab);
  elf.write("\x7fELF", 0, "latin1");
  const small = Buffer.alloc(smallSize, 0x11);
  small.write("\x7fELF", 0, "latin1");
  const add = (name: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, size: body.length, mode: 0o755 }, body, (err) => (err ? reject(err) : resolve())));
  for (let i = 0; i < smallFiles; i++) await add(`usr/lib/d${i % 100}/lib${i}.so`, small);
  const bigMiB = totalMiB - Math.ceil((smallFiles * (smallSize + 512)) / MiB);
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ name: "opt/big/app", size: bigMiB * MiB, mode: 0o755 }, (err) => (err ? reject(err) : resolve()));
    let written = 0;
    const pump = () => {
      while (written < bigMiB) {
        written++;
        if (!sink.write(elf)) return void sink.once("drain", pump);
      }
      (sink as unknown as { end(): void }).end();
    };
    pump();
  });
  pack.finalize();
  await out;
}

/** Child mode: walk one file and print time, peak RSS and the result size. */
async function child(file: string): Promise<void> {
  const t0 = process.hrtime.bigint();
  const m = await buildExecManifest((async function* () {
    yield createReadStream(file);
  })());
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS, entries: m.entries.length }) + "\n");
}

function runNode(args: string[]): { ms: number; maxRssKiB: number; entries?: number } {
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`Cannot run benchmark child: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

function timeNative(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`Cannot run ${cmd}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main(): Promise<void> {
  if (process.argv[2] === "--child") return child(process.argv[3]!);
  const self = fileURLToPath(import.meta.url);
  const idle = runNode(["-e", 'process.stdout.write(JSON.stringify({ms:0,maxRssKiB:process.resourceUsage().maxRSS})+"\\n")']);
  const dir = await mkdtemp(join(tmpdir(), "inlay-bench-scan-"));
  const rows: string[] = [];
  try {
    for (const shape of SHAPES) {
      const file = join(dir, `layer-${shape.totalMiB}-${shape.smallFiles}.tar`);
      await writeSyntheticLayer(file, shape);
      const bytes = (await stat(file)).size;
      const walks = Array.from({ length: RUNS }, () => runNode([self, "--child", file]));
      const natives = Array.from({ length: RUNS }, () => timeNative("sha256sum", [file]));
      const walkMs = median(walks.map((w) => w.ms));
      const nativeMs = median(natives);
      const rssMiB = Math.max(...walks.map((w) => w.maxRssKiB)) / 1024;
      rows.push(
        `| ${(bytes / MiB).toFixed(0)} MiB | ${walks[0]!.entries} | ${rssMiB.toFixed(1)} MiB | ${walkMs.toFixed(0)} ms | ${nativeMs.toFixed(0)} ms | ${ratio(walkMs, nativeMs)} |`,
      );
      await rm(file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const body = [
    "## Executable manifest: memory and time against layer size",
    "",
    `Command: \`npx tsc -p tsconfig.json && node dist/bench/scan-memory.js\` — ${machineLine()}.`,
    "",
    "One uncompressed layer tar per row (one large ELF file plus small ELF files; the executables column",
    "counts them all), walked by `buildExecManifest` in a fresh Node process; peak RSS is the largest of the",
    "runs, times are medians of",
    `${RUNS} runs. Floor: \`sha256sum\` of the same tar file in the same run (reads and hashes every byte once,`,
    `natively). An idle Node process peaks at ${(idle.maxRssKiB / 1024).toFixed(1)} MiB on this machine.`,
    "Memory is the claim here: the first two rows differ 10× in size and not in peak RSS; the third shows",
    "what the tree of names costs per file. Times are indicative only: the two cores were shared with other",
    "work during the run.",
    "",
    "| layer | executables | peak RSS | walk (median) | sha256sum (median) | walk / sha256sum |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
  await writeReportSection(join(self, "../../../docs/benchmarks.md"), "scan-memory", body);
  process.stdout.write(body + "\n");
}

await main();
