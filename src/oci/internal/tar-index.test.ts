import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { indexTar } from "./tar-index.js";

async function tarOf(entries: { name: string; data: string }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const end = new Promise<void>((r) => p.on("end", () => r()));
  for (const e of entries) p.entry({ name: e.name }, e.data);
  p.finalize();
  await end;
  return Buffer.concat(chunks);
}

test("indexTar finds members by name (long PAX names too) and rejects a corrupt header", async () => {
  const dir = await mkdtemp(join(tmpdir(), "inlay-tar-"));
  try {
    const long = `blobs/sha256/${"d".repeat(64)}/${"x".repeat(120)}`;
    const t = await tarOf([{ name: "./manifest.json", data: "[]" }, { name: long, data: "abc" }]);
    const f = join(dir, "a.tar");
    await writeFile(f, t);
    const m = await indexTar(f);
    assert.equal(m.get("manifest.json")?.size, 2);
    const e = m.get(long)!;
    assert.equal((await readFile(f)).subarray(e.offset, e.offset + e.size).toString(), "abc");
    const bad = Buffer.from(t);
    bad[148] = 0x39;
    await writeFile(f, bad);
    await assert.rejects(indexTar(f), /not octal|checksum/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
