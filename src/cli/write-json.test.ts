import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { jsonPieces, writeJson } from "./write-json.js";

/** A deterministic generator of plain JSON-ish values, including what JSON.stringify drops. */
function randomValue(seed: { n: number }, depth: number): unknown {
  const r = (): number => {
    seed.n = (seed.n * 1103515245 + 12345) % 2147483648;
    return seed.n / 2147483648;
  };
  const pick = Math.floor(r() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return [0, -1.5, 1e21, 123456789, Number.NaN, Infinity][Math.floor(r() * 6)];
    case 3:
      return ["", "plain", 'quote " and \\ backslash', "line\nbreak\ttab", "ünïcødé ✓", "\u0001\u001f", "\ud800"][Math.floor(r() * 7)];
    case 4:
      return undefined;
    case 5:
      return () => 1;
    case 6:
    case 7: {
      const a: unknown[] = [];
      const len = Math.floor(r() * 4);
      for (let i = 0; i < len; i++) a.push(randomValue(seed, depth + 1));
      return a;
    }
    default: {
      const o: Record<string, unknown> = {};
      const len = Math.floor(r() * 4);
      for (let i = 0; i < len; i++) o[["a", "path", "ké y", "\"q\"", "0"][Math.floor(r() * 5)]! + i] = randomValue(seed, depth + 1);
      return o;
    }
  }
}

test("the pieces join to exactly what JSON.stringify(value, null, 2) returns", () => {
  const seed = { n: 42 };
  for (let i = 0; i < 3000; i++) {
    const v = randomValue(seed, 0);
    if (v === undefined || typeof v === "function") continue; // JSON.stringify gives no text for these
    assert.equal([...jsonPieces(v)].join(""), JSON.stringify(v, null, 2), `value #${i}`);
  }
  const manifest = { entries: [{ path: "/bin/sh", sha256: "ab".repeat(32), size: 1, mode: 0o755, setuid: false, capabilities: undefined }], symlinks: [], empty: {} };
  assert.equal([...jsonPieces(manifest)].join(""), JSON.stringify(manifest, null, 2));
});

test("writeJson writes the same text plus a newline in bounded writes, waiting for a slow reader", async () => {
  const big = { entries: Array.from({ length: 5000 }, (_, i) => ({ path: `/usr/lib/file-${i}.so`, sha256: "cd".repeat(32), size: i })) };
  const writes: number[] = [];
  let text = "";
  let drains = 0;
  const out = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.length);
      text += chunk.toString("utf8");
      setImmediate(cb); // a reader slower than the writer
    },
  });
  out.on("drain", () => drains++);
  await writeJson(out, big);
  assert.equal(text, `${JSON.stringify(big, null, 2)}\n`);
  assert.ok(writes.length > 1, "written in several pieces");
  assert.ok(Math.max(...writes) < 2 * 64 * 1024, "no write holds much more than one batch");
  assert.ok(drains > 0, "waited for the reader");
});

test("writeJson rejects when the output fails instead of piling up text", async () => {
  const out = new Writable({
    highWaterMark: 16,
    write(_chunk, _enc, cb) {
      setImmediate(() => cb(new Error("EPIPE: the reader went away")));
    },
  });
  out.on("error", () => undefined);
  const big = { entries: Array.from({ length: 20000 }, (_, i) => ({ path: `/f${i}` })) };
  await assert.rejects(writeJson(out, big), /EPIPE/);
});
