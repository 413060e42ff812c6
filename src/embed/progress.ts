/**
 * Per-layer progress for `inlay embed` and `inlay scan` on a terminal. Each layer that finishes
 * gets one permanent line (`linux/amd64 1/3 0123456789ab 1.0/1.0 MiB copied`: platform, layer n/N,
 * digest prefix, bytes, what happened to it); the
 * layers still in flight share one status line below them, rewritten in place at most every
 * 100 ms. Every line is cut to the terminal's width so a rewrite never leaves a wrapped remainder
 * behind. When the stream is not a terminal (or TERM is `dumb`) there is no renderer at all, so
 * piped runs print nothing but their result.
 * @module
 */
import type { LayerProgress } from "./layer-streams.js";

/** One progress event: a layer of one platform, in compressed bytes. */
export type PlatformLayerProgress = { platform: string } & LayerProgress;

/** Draws progress on a terminal; obtain one with {@link ttyProgress}. */
export interface ProgressRenderer {
  /** Records bytes of one layer; a layer's `done` event (verified, uploaded) gets its final line. */
  update(p: PlatformLayerProgress): void;
  /** Prints a message line (a policy warning) above the status line without garbling it. */
  log(line: string): void;
  /**
   * Ends the display: layers still in flight get a final line saying they `stopped` (on failure)
   * or are left as they are, and the cursor is left at the start of an empty line.
   */
  finish(outcome: "done" | "failed"): void;
}

/** The minimum of a tty.WriteStream this needs (tests pass their own). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** How {@link ttyProgress} labels layers, and its clock (tests inject one). */
export interface ProgressOptions {
  /** `embed` reports copied vs already-present blobs; `scan` only reads. */
  mode: "embed" | "scan";
  /** Environment to read TERM from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Minimum time between status-line rewrites (default 100 ms). */
  intervalMs?: number;
}

const CLEAR_LINE = "\r\x1b[K";
const FALLBACK_COLUMNS = 80;

/** `1.5 MiB`-style size of `n` bytes in the unit that suits `scale`. */
function unitOf(scale: number): { div: number; name: string } {
  if (scale >= 2 ** 30) return { div: 2 ** 30, name: "GiB" };
  if (scale >= 1 << 20) return { div: 1 << 20, name: "MiB" };
  if (scale >= 1 << 10) return { div: 1 << 10, name: "KiB" };
  return { div: 1, name: "B" };
}

/** `done/total unit`, both in the total's unit. */
export function formatBytes(done: number, total: number): string {
  const u = unitOf(total);
  const f = (n: number): string => (u.div === 1 ? String(n) : (n / u.div).toFixed(1));
  return `${f(done)}/${f(total)} ${u.name}`;
}

function keyOf(p: PlatformLayerProgress): string {
  return `${p.platform} ${p.layer} ${p.digest}`;
}

function shortDigest(d: string): string {
  const i = d.indexOf(":");
  return d.slice(i + 1, i + 13);
}

/**
 * A progress renderer on `stream` when it is a terminal, else `undefined` (quiet).
 * @param stream usually process.stderr, so stdout carries only the result
 */
export function ttyProgress(stream: ProgressStream, opts: ProgressOptions): ProgressRenderer | undefined {
  const env = opts.env ?? process.env;
  if (stream.isTTY !== true || env["TERM"] === "dumb") return undefined;
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? 100;
  const active = new Map<string, PlatformLayerProgress>();
  /** Whether a status line is on screen (the cursor is at its end, not at a line start). */
  let statusShown = false;
  let lastDraw = Number.NEGATIVE_INFINITY;

  // Cut to one less than the width: writing the last column makes some terminals wrap early.
  const fit = (s: string): string => s.slice(0, Math.max(1, (stream.columns || FALLBACK_COLUMNS) - 1));

  const stateOf = (p: PlatformLayerProgress, final: boolean): string => {
    if (!final && p.bytes >= p.total) return "verifying";
    if (opts.mode === "scan") return final ? "scanned" : "reading";
    if (p.copying) return final ? "copied" : "copying";
    return final ? "already present" : "reading";
  };
  const layerText = (p: PlatformLayerProgress, state: string): string =>
    `${p.platform} ${p.layer}/${p.layers} ${shortDigest(p.digest)} ${formatBytes(p.bytes, p.total)} ${state}`;

  const statusText = (): string => {
    const list = [...active.values()];
    if (list.length === 1) return layerText(list[0]!, stateOf(list[0]!, false));
    return `${list.length} layers: ${list.map((p) => `${p.platform} ${p.layer}/${p.layers} ${shortDigest(p.digest)} ${formatBytes(p.bytes, p.total)}`).join(", ")}`;
  };
  /**
   * Replaces the status line with `lines` (each ended) and, if layers remain, a fresh status line.
   * Messages are printed whole (a cut warning would lose its remedy); only progress is cut.
   */
  const draw = (lines: string[], how: { whole?: boolean } = {}): void => {
    let out = statusShown ? CLEAR_LINE : "";
    for (const l of lines) out += `${how.whole ? l : fit(l)}\n`;
    statusShown = active.size > 0;
    if (statusShown) out += fit(statusText());
    lastDraw = now();
    stream.write(out);
  };

  return {
    update(p) {
      const key = keyOf(p);
      if (p.done) {
        active.delete(key);
        draw([layerText(p, stateOf(p, true))]);
        return;
      }
      const isNew = !active.has(key);
      active.set(key, p);
      // The last chunk is drawn at once too: "verifying" may last (an upload still in flight).
      if (isNew || p.bytes >= p.total || now() - lastDraw >= interval) draw([]);
    },
    log(line) {
      draw([line], { whole: true });
    },
    finish(outcome) {
      const lines = outcome === "failed" ? [...active.values()].map((a) => layerText(a, "stopped")) : [];
      active.clear();
      if (lines.length > 0 || statusShown) draw(lines);
    },
  };
}
