import { readFile, writeFile, rename } from "node:fs/promises";
import { cpus, release } from "node:os";

/**
 * Replaces the section between `<!-- NAME:start -->` and `<!-- NAME:end -->` of
 * docs/benchmarks.md (appending it when absent), so each benchmark owns one section and reruns
 * never duplicate it. Written to a temp file and renamed: a crash never leaves half a file.
 */
export async function writeReportSection(file: string, name: string, body: string): Promise<void> {
  let doc: string;
  try {
    doc = await readFile(file, "utf8");
  } catch {
    doc = "# Benchmarks\n\nEvery number here was measured by the command shown with it; rerun it to check.\n";
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const section = `${start}\n${body.trim()}\n${end}`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  doc = i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${section}\n`;
  await writeFile(`${file}.tmp`, doc);
  await rename(`${file}.tmp`, file);
}

/** One line describing the machine a result came from. */
export function machineLine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpu}, Linux ${release()}, Node ${process.version}`;
}
