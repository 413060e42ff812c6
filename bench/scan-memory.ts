/**
 * Peak memory and time of buildExecManifest on a synthetic layer tar of 100 MiB and 1 GiB (one
 * large ELF file plus 2,000 small executables), each run in a fresh Node process, with the native
 * `sha256sum` of the same file measured in the same run as the floor for "read and hash every byte".
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
const SMALL_FILES = 2000;
const SMALL_SIZE = 4096;
const RUNS = 3;

/** Writes a layer tar of about `totalMiB` MiB, streaming (the generator itself stays small). */
async function writeSyntheticLayer(file: string, totalMiB: number): Promise<void> {
  const pack = tarStream.pack();
  const out = pipeline(pack as unknown as NodeJS.ReadableStream, createWriteStream(file));
  const elf = Buffer.alloc(MiB, 0xab);
  elf.write("\x7fELF", 0, "latin1");
  const small = Buffer.alloc(SMALL_SIZE, 0x11);
  small.write("\x7fELF", 0, "latin1");
  const add = (name: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, size: body.length, mode: 0o755 }, body, (err) => (err ? reject(err) : resolve())));
  for (let i = 0; i < SMALL_FILES; i++) await add(`usr/lib/small/lib${i}.so`, small);
  const bigMiB = totalMiB - Math.ceil((SMALL_FILES * (SMALL_SIZE + 512)) / MiB);
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
    for (const sizeMiB of [100, 1024]) {
      const file = join(dir, `layer-${sizeMiB}.tar`);
      await writeSyntheticLayer(file, sizeMiB);
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
    `One uncompressed layer tar per row (one large ELF file plus ${SMALL_FILES} small executables), walked by`,
    "`buildExecManifest` in a fresh Node process; peak RSS is the largest of the runs, times are medians of",
    `${RUNS} runs. Floor: \`sha256sum\` of the same tar file in the same run (reads and hashes every byte once,`,
    `natively). An idle Node process peaks at ${(idle.maxRssKiB / 1024).toFixed(1)} MiB on this machine.`,
    "",
    "| layer | executables | peak RSS | walk (median) | sha256sum (median) | walk / sha256sum |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
  await writeReportSection(join(self, "../../../docs/benchmarks.md"), "scan-memory", body);
  process.stdout.write(body + "\n");
}

await main();
