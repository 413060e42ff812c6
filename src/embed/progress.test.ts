import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, ttyProgress, type PlatformLayerProgress } from "./progress.js";

/** A fake terminal stream that records writes, with a settable clock. */
function fakeTty(columns = 80): { stream: { isTTY: boolean; columns: number; write(s: string): boolean }; out: () => string; clock: { t: number } } {
  let out = "";
  return { stream: { isTTY: true, columns, write: (s: string) => ((out += s), true) }, out: () => out, clock: { t: 0 } };
}

const D1 = `sha256:${"1".repeat(12)}${"a".repeat(52)}`;
const D2 = `sha256:${"2".repeat(12)}${"b".repeat(52)}`;
const ev = (layer: number, digest: string, bytes: number, total: number, copying = true): PlatformLayerProgress => ({ platform: "linux/amd64", layer, layers: 2, digest, bytes, total, copying });
const done = (p: PlatformLayerProgress): PlatformLayerProgress => ({ ...p, done: true });

test("ttyProgress is quiet when the stream is not a terminal or TERM is dumb", () => {
  assert.equal(ttyProgress({ isTTY: false, write: () => true }, { mode: "embed" }), undefined);
  assert.equal(ttyProgress({ write: () => true }, { mode: "embed" }), undefined);
  assert.equal(ttyProgress({ isTTY: true, columns: 80, write: () => true }, { mode: "embed", env: { TERM: "dumb" } }), undefined);
  assert.notEqual(ttyProgress({ isTTY: true, columns: 80, write: () => true }, { mode: "embed", env: { TERM: "xterm" } }), undefined);
});

test("ttyProgress rewrites one status line at most every interval and leaves one final line per layer", () => {
  const t = fakeTty();
  const r = ttyProgress(t.stream, { mode: "embed", env: {}, now: () => t.clock.t })!;
  r.update(ev(1, D1, 100, 3 << 20)); // a new layer is drawn at once
  t.clock.t = 50;
  r.update(ev(1, D1, 1 << 20, 3 << 20)); // throttled
  t.clock.t = 120;
  r.update(ev(1, D1, 2 << 20, 3 << 20)); // drawn
  r.update(ev(1, D1, 3 << 20, 3 << 20)); // all bytes: drawn at once, not final until checked
  r.update(done(ev(1, D1, 3 << 20, 3 << 20))); // verified and uploaded: the final line
  r.update(done(ev(2, D2, 1000, 1000, false))); // a layer that only reports done: its final line alone
  r.finish("done");
  assert.equal(
    t.out(),
    "linux/amd64 1/2 111111111111 0.0/3.0 MiB copying" +
      "\r\x1b[Klinux/amd64 1/2 111111111111 2.0/3.0 MiB copying" +
      "\r\x1b[Klinux/amd64 1/2 111111111111 3.0/3.0 MiB verifying" +
      "\r\x1b[Klinux/amd64 1/2 111111111111 3.0/3.0 MiB copied\n" +
      "linux/amd64 2/2 222222222222 1000/1000 B already present\n",
  );
});

test("ttyProgress cuts progress to the terminal width but prints messages whole", () => {
  const t = fakeTty(31);
  const r = ttyProgress(t.stream, { mode: "scan", env: {}, now: () => 0 })!;
  r.update(ev(1, D1, 10, 2048));
  const warning = "warning: a message longer than thirty-one columns keeps its remedy";
  r.log(warning);
  r.update(done(ev(1, D1, 2048, 2048)));
  const frames = t.out().split(/\r\x1b\[K|\n/);
  for (const f of frames) if (f !== warning) assert.ok(f.length <= 30, `frame ${JSON.stringify(f)} is wider than 30 columns`);
  assert.ok(frames.includes(warning));
  // The status line comes back below the message, then the layer's final line replaces it.
  assert.equal(t.out(), `linux/amd64 1/2 111111111111 0\r\x1b[K${warning}\nlinux/amd64 1/2 111111111111 0\r\x1b[Klinux/amd64 1/2 111111111111 2\n`);
});

test("ttyProgress finish('failed') ends the status line with the layers that stopped, so the error starts on its own line", () => {
  const t = fakeTty(200);
  const r = ttyProgress(t.stream, { mode: "embed", env: {}, now: () => 0 })!;
  r.update(ev(1, D1, 10, 100));
  r.update(ev(2, D2, 20, 100, false));
  r.finish("failed");
  const out = t.out();
  assert.ok(out.endsWith("\n"), JSON.stringify(out));
  assert.match(out, /\r\x1b\[Klinux\/amd64 1\/2 111111111111 10\/100 B stopped\nlinux\/amd64 2\/2 222222222222 20\/100 B stopped\n$/);
  // Several layers in flight share the status line.
  assert.match(out, /2 layers: linux\/amd64 1\/2 111111111111 10\/100 B, linux\/amd64 2\/2 222222222222 20\/100 B/);
  // Nothing on screen and finish("done"): nothing written.
  const q = fakeTty();
  ttyProgress(q.stream, { mode: "embed", env: {} })!.finish("done");
  assert.equal(q.out(), "");
});

test("formatBytes uses the total's unit for both numbers", () => {
  assert.equal(formatBytes(0, 512), "0/512 B");
  assert.equal(formatBytes(512, 2048), "0.5/2.0 KiB");
  assert.equal(formatBytes(2 ** 29, 3 * 2 ** 30), "0.5/3.0 GiB");
});
