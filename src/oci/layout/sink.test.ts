import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../../test/helpers/temp-dir.js";
import { openLayoutSink } from "./sink.js";

function manifest(i: number): { desc: { mediaType: string; digest: `sha256:${string}`; size: number }; bytes: Buffer } {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", i }));
  return { desc: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length }, bytes };
}

test("writers committing to one layout at once keep every tag", async () => {
  const tmp = await makeTempDir("inlay-layout-sink-");
  try {
    // Without the lock, 20 concurrent read-modify-writes of index.json kept about two entries.
    await Promise.all(Array.from({ length: 20 }, (_, i) => openLayoutSink(tmp.path, { tag: `t${i}` }).commit(manifest(i).desc, manifest(i).bytes)));
    const index = JSON.parse(await readFile(join(tmp.path, "index.json"), "utf8")) as { manifests: { annotations: Record<string, string> }[] };
    const tags = index.manifests.map((m) => m.annotations["org.opencontainers.image.ref.name"]).sort();
    assert.deepEqual(tags, Array.from({ length: 20 }, (_, i) => `t${i}`).sort());
    assert.ok(!(await readdir(tmp.path)).includes("index.json.lock"));
  } finally {
    await tmp.dispose();
  }
});

test("a commit waits while another writer holds the index lock, then adds its entry", async () => {
  const tmp = await makeTempDir("inlay-layout-sink-");
  try {
    const lock = join(tmp.path, "index.json.lock");
    await writeFile(lock, "1\n");
    const m = manifest(1);
    let done = false;
    const pending = openLayoutSink(tmp.path, { tag: "x" }).commit(m.desc, m.bytes).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(done, false, "the commit waits for the lock");
    await assert.rejects(readFile(join(tmp.path, "index.json")), { code: "ENOENT" });
    await rm(lock);
    await pending;
    assert.match(await readFile(join(tmp.path, "index.json"), "utf8"), /"org\.opencontainers\.image\.ref\.name":"x"/);
  } finally {
    await tmp.dispose();
  }
});
