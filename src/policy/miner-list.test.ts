import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { loadMinerList, shippedMinerList } from "./miner-list.js";

test("the shipped miner list is valid, sorted and unique", () => {
  const list = shippedMinerList();
  assert.ok(list.names.includes("xmrig"));
  assert.deepEqual(list.names, [...new Set(list.names)].sort());
  assert.deepEqual(list.sha256, [...new Set(list.sha256)].sort());
});

test("a replacement list is validated and its errors name the file and field", async () => {
  const dir = await makeTempDir();
  try {
    const good = join(dir.path, "good.json");
    await writeFile(good, JSON.stringify({ revision: 2, updated: "2027-01-01", names: ["newminer"], sha256: [] }));
    assert.deepEqual((await loadMinerList(good)).names, ["newminer"]);
    const bad = join(dir.path, "bad.json");
    await writeFile(bad, JSON.stringify({ revision: 2, updated: "2027-01-01", names: ["a/b"], sha256: [] }));
    await assert.rejects(loadMinerList(bad), new RegExp(`^Error: Cannot read miner list ${bad}: field names\\.0: a file name without '/'$`));
    const extra = join(dir.path, "extra.json");
    await writeFile(extra, JSON.stringify({ revision: 2, updated: "2027-01-01", names: [], sha256: [], more: 1 }));
    await assert.rejects(loadMinerList(extra), /Cannot read miner list .*extra\.json: field \(root\): Unrecognized key: "more"/);
    await assert.rejects(loadMinerList(join(dir.path, "missing.json")), /Cannot read miner list .*missing\.json: ENOENT/);
    // An endless input stops at the limit instead of filling memory.
    await assert.rejects(loadMinerList("/dev/zero"), /^Error: Cannot read miner list \/dev\/zero: it is larger than 16777216 bytes$/);
  } finally {
    await dir.dispose();
  }
});
