/**
 * The human-readable summary `inlay scan` prints: counts by kind, privileged files (setuid, setgid,
 * file capabilities) and the largest executables.
 * @module
 */
import { compareImagePaths, type ExecEntry, type ExecManifest } from "./exec-manifest.js";

export interface ScanSummaryOptions {
  /** How many of the largest executables to list (default 10; 0 lists none). */
  largest?: number;
  /** First line, e.g. the image reference and platform. */
  title?: string;
}

/**
 * Formats `m` as plain text (no colour, one fact per line, ending with a newline). The output is a
 * pure function of the manifest, so equal manifests print identically.
 * @example
 * process.stdout.write(formatScanSummary(manifest, { title: "registry.example/app:1 (linux/amd64)" }));
 */
export function formatScanSummary(m: ExecManifest, opts: ScanSummaryOptions = {}): string {
  const lines: string[] = [];
  if (opts.title) lines.push(opts.title);
  const count = (k: ExecEntry["kind"]) => m.entries.filter((e) => e.kind === k).length;
  const total = m.entries.reduce((sum, e) => sum + e.size, 0);
  lines.push(`executables: ${m.entries.length} (elf ${count("elf")}, script ${count("script")}, other ${count("other")}), ${formatBytes(total)}`);
  lines.push(`symlinks: ${m.symlinks.length}`);

  const privileged = m.entries.filter((e) => e.setuid || e.setgid);
  lines.push(`setuid/setgid: ${privileged.length}`);
  for (const e of privileged) {
    const bits = [e.setuid ? "setuid" : "", e.setgid ? "setgid" : ""].filter(Boolean).join("+");
    lines.push(`  ${e.mode.toString(8).padStart(4, "0")} ${`${e.uid}:${e.gid}`.padEnd(11)} ${bits.padEnd(13)} ${e.path}`);
  }
  const capable = m.entries.filter((e) => e.capabilities !== undefined);
  if (capable.length > 0) {
    lines.push(`file capabilities: ${capable.length}`);
    for (const e of capable) lines.push(`  ${e.path}  security.capability=0x${e.capabilities}`);
  }

  const top = Math.max(0, opts.largest ?? 10);
  if (top > 0 && m.entries.length > 0) {
    const largest = [...m.entries].sort((a, b) => b.size - a.size || compareImagePaths(a.path, b.path)).slice(0, top);
    lines.push(`largest executables:`);
    const width = Math.max(...largest.map((e) => formatBytes(e.size).length));
    for (const e of largest) lines.push(`  ${formatBytes(e.size).padStart(width)}  ${e.kind.padEnd(6)} ${e.path}`);
  }
  return lines.join("\n") + "\n";
}

/** Bytes in binary units with one decimal (`1.9 MiB`), exact below 1 KiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
