/**
 * `inlay embed` / `inlay scan` progress, run as the real CLI under a pseudo-terminal (util-linux
 * `script`, in Debian's essential bsdutils package) against the test registry, whose blob
 * downloads a proxy slows down so that progress has something to show. The same commands with
 * stdout/stderr piped must print nothing but their result.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { startRegistry } from "../helpers/registry.js";
import { startRegistryProxy } from "../helpers/registry-proxy.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { runCommand, INLAY_CLI } from "../helpers/run-inlay.js";

const execFileP = promisify(execFile);

const COLS = 60;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (cmd: string, args: string[]): Promise<Run> => runCommand(cmd, args, { ...process.env, TERM: "xterm" });

const sq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs `inlay ARGS` with stdout and stderr on one pseudo-terminal of COLS columns; returns what it showed. */
function inlayOnTty(args: string[]): Promise<Run> {
  const inner = `stty cols ${COLS} rows 24 && exec ${[process.execPath, INLAY_CLI, ...args].map(sq).join(" ")}`;
  return run("script", ["-q", "-e", "-c", inner, "/dev/null"]);
}

/**
 * Replays terminal output: text, CR, LF, and erase-to-end-of-line (the only control sequence the
 * progress may use; any other escape is a problem). `rewritten` are the texts a later CR went
 * back over: each must fit in COLS - 1 columns, or the terminal wraps it and the rewrite leaves
 * the wrapped part behind. Lines ended by LF may be longer (they wrap and stay).
 */
function replay(out: string): { rows: string[]; frames: string[]; endsAtLineStart: boolean; problems: string[] } {
  const rows: string[] = [""];
  const frames: string[] = [];
  const problems: string[] = [];
  let col = 0;
  let frame = "";
  for (let i = 0; i < out.length; i++) {
    const c = out[i]!;
    const row = rows.length - 1;
    // The terminal turns each LF into CR LF (onlcr): that CR ends a line, it does not rewrite it.
    if (c === "\r" && out[i + 1] === "\n") continue;
    if (c === "\r") {
      if (frame.length > COLS - 1) problems.push(`a line rewritten in place is ${frame.length} columns wide, over ${COLS - 1}: ${JSON.stringify(frame)}`);
      if (frame) frames.push(frame);
      frame = "";
      col = 0;
    } else if (c === "\n") {
      if (frame) frames.push(frame);
      frame = "";
      rows.push("");
      col = 0;
    } else if (c === "\x1b") {
      if (out.startsWith("\x1b[K", i)) {
        rows[row] = rows[row]!.slice(0, col);
        i += 2;
      } else {
        problems.push(`unexpected escape ${JSON.stringify(out.slice(i, i + 6))}`);
      }
    } else {
      rows[row] = rows[row]!.slice(0, col).padEnd(col, " ") + c + rows[row]!.slice(col + 1);
      col++;
      frame += c;
    }
  }
  if (frame) frames.push(frame);
  const endsAtLineStart = col === 0 && rows[rows.length - 1] === "";
  if (endsAtLineStart) rows.pop();
  for (const r of rows) if (/^linux\//.test(r) && r.length > COLS - 1) problems.push(`progress line wider than ${COLS - 1}: ${JSON.stringify(r)}`);
  return { rows, frames, endsAtLineStart, problems };
}

test("inlay embed/scan show per-layer progress on a terminal and nothing but the result when piped", async () => {
  const tmp = await makeTempDir("inlay-progress-");
  const reg = await startRegistry();
  // 2 MiB of random data arrives in a few dozen chunks; 15 ms after each makes the layer take
  // long enough for several 100 ms status rewrites.
  const slow = await startRegistryProxy(reg.url, { blobChunkDelayMs: 15 });
  try {
    const img = join(tmp.path, "img");
    await writeTestLayout(img, "v1", [{ architecture: "amd64", layers: [await busyboxFiles(), [{ path: "data/blob", data: randomBytes(2 << 20) }]], cmd: ["/bin/sh"] }]);
    await execFileP("skopeo", ["copy", "--dest-tls-verify=false", `oci:${img}:v1`, `docker://${reg.host}/app:v1`]);
    const raw = JSON.parse((await execFileP("skopeo", ["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/app:v1`])).stdout) as { layers: { digest: string }[] };
    const hex = raw.layers.map((l) => l.digest.slice(7, 19));
    // A fixed bundle spec: no policy notes on stderr, so "only the result" can be asserted exactly.
    const spec = join(tmp.path, "spec.json");
    await writeFile(spec, JSON.stringify({ failMode: "open", activation: "always", dormancy: { env: [], paths: [] }, controls: { drift: "audit", fileless: "audit", loader: "off", blocklist: "off", allowlist: "off" }, enforceAfter: {}, driftSource: "manifest", reportExecs: true, blockList: { names: [], pathGlobs: [], sha256: [] }, allowList: { names: [], pathGlobs: [], sha256: [] } }));
    const src = `docker://${slow.host}/app:v1`;
    // Runs that need no live updates read the registry directly (quicker).
    const fast = `docker://${reg.host}/app:v1`;
    const resultRe = (dest: string): RegExp => new RegExp(`^embedded ${dest.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} sha256:[0-9a-f]{64}$`);

    // 1. Registry → new layout: every layer is copied; live updates, then one final line each.
    const t1 = await inlayOnTty(["embed", "--bundle-spec", spec, src, `oci:${join(tmp.path, "o1")}:x`]);
    assert.equal(t1.code, 0, t1.stdout);
    const s1 = replay(t1.stdout);
    assert.deepEqual(s1.problems, [], t1.stdout);
    assert.ok(s1.endsAtLineStart, `output must end with a newline: ${JSON.stringify(t1.stdout.slice(-80))}`);
    assert.equal(s1.rows.length, 4, s1.rows.join("\n"));
    for (const [i, h] of hex.entries()) assert.match(s1.rows[i]!, new RegExp(`^linux/amd64 ${i + 1}/2 ${h} (\\S+)/\\1 (B|KiB|MiB) copied$`));
    assert.match(s1.rows[2]!, resultRe(`oci:${join(tmp.path, "o1")}:x`));
    assert.match(s1.rows[3]!, /^ {2}linux\/amd64: sha256:[0-9a-f]{64} \(\d+ executables, \d+ setuid\/setgid\)$/);
    // The 2 MiB layer was shown while in flight, more than once, with fewer bytes than its size.
    const live = s1.frames.filter((f) => f.startsWith(`linux/amd64 2/2 ${hex[1]} `) && / copying$/.test(f));
    assert.ok(live.length >= 2, `expected several live updates of layer 2, got ${JSON.stringify(live)}`);
    assert.ok(live.some((f) => !/ (\S+)\/\1 MiB copying$/.test(f)), `no partial progress shown: ${JSON.stringify(live)}`);
    // Throttled: far fewer frames than chunks received (one per ~100 ms, not one per chunk).
    assert.ok(live.length < 40, `${live.length} status rewrites for one 2 MiB layer: not throttled`);

    // 2. Into the repository that has the blobs: layers are read for the scan, not copied.
    const t2 = await inlayOnTty(["embed", "--bundle-spec", spec, fast, `docker://${reg.host}/app:inlay`]);
    assert.equal(t2.code, 0, t2.stdout);
    const s2 = replay(t2.stdout);
    assert.deepEqual(s2.problems, []);
    for (const [i, h] of hex.entries()) assert.match(s2.rows[i]!, new RegExp(`^linux/amd64 ${i + 1}/2 ${h} \\S+ (B|KiB|MiB) already present$`));

    // 3. scan: "scanned" lines, then the summary.
    const t3 = await inlayOnTty(["scan", fast]);
    assert.equal(t3.code, 0, t3.stdout);
    const s3 = replay(t3.stdout);
    assert.deepEqual(s3.problems, []);
    for (const [i, h] of hex.entries()) assert.match(s3.rows[i]!, new RegExp(`^linux/amd64 ${i + 1}/2 ${h} \\S+ (B|KiB|MiB) scanned$`));
    assert.ok(s3.rows[2]!.startsWith(`${fast} linux/amd64 sha256:`), s3.rows.join("\n"));

    // 4. --json on a terminal: the terminal shows the JSON document and nothing else.
    const t4 = await inlayOnTty(["embed", "--json", "--bundle-spec", spec, fast, `oci:${join(tmp.path, "o4")}:x`]);
    assert.equal(t4.code, 0, t4.stdout);
    assert.doesNotMatch(t4.stdout, /\x1b/);
    assert.equal((JSON.parse(t4.stdout.replaceAll("\r\n", "\n")) as { platforms: unknown[] }).platforms.length, 1);

    // 5. A failure in the middle of a layer: the layer is marked stopped and the error starts on its own line.
    const bad = await startRegistryProxy(reg.url, { blobChunkDelayMs: 15, corruptBlob: raw.layers[1]!.digest });
    try {
      const t5 = await inlayOnTty(["embed", "--bundle-spec", spec, `docker://${bad.host}/app:v1`, `oci:${join(tmp.path, "o5")}:x`]);
      assert.equal(t5.code, 5, t5.stdout);
      const s5 = replay(t5.stdout);
      assert.deepEqual(s5.problems, []);
      assert.ok(s5.endsAtLineStart);
      assert.match(s5.rows[0]!, new RegExp(`^linux/amd64 1/2 ${hex[0]} .* copied$`));
      assert.match(s5.rows[1]!, new RegExp(`^linux/amd64 2/2 ${hex[1]} .* stopped$`));
      assert.match(s5.rows[2]!, /^inlay: Cannot embed .*nothing was written/);
    } finally {
      await bad.dispose();
    }

    // 6. Piped: stdout has the result, stderr nothing; --json prints only JSON.
    const p6 = await run(process.execPath, [INLAY_CLI, "embed", "--bundle-spec", spec, fast, `oci:${join(tmp.path, "o6")}:x`]);
    assert.equal(p6.code, 0, p6.stderr);
    assert.equal(p6.stderr, "");
    const lines = p6.stdout.split("\n");
    assert.equal(lines.length, 3, p6.stdout);
    assert.match(lines[0]!, resultRe(`oci:${join(tmp.path, "o6")}:x`));
    assert.match(lines[1]!, /^ {2}linux\/amd64: sha256:[0-9a-f]{64} \(\d+ executables/);
    assert.equal(lines[2], "");
    const p7 = await run(process.execPath, [INLAY_CLI, "embed", "--json", "--bundle-spec", spec, fast, `oci:${join(tmp.path, "o7")}:x`]);
    assert.equal(p7.code, 0, p7.stderr);
    assert.equal(p7.stderr, "");
    assert.match((JSON.parse(p7.stdout) as { digest: string }).digest, /^sha256:[0-9a-f]{64}$/);
    const p8 = await run(process.execPath, [INLAY_CLI, "scan", fast]);
    assert.equal(p8.code, 0, p8.stderr);
    assert.equal(p8.stderr, "");
  } finally {
    await slow.dispose();
    await reg.dispose();
    await tmp.dispose();
  }
});
