import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyExecutable, finishManifest, makeExecEntry, parseExecManifest } from "./exec-manifest.js";

const elf = Buffer.from("7f454c46", "hex");

test("classifyExecutable applies each rule on its own", () => {
  assert.equal(classifyExecutable(0o644, Buffer.from("data")), null);
  assert.equal(classifyExecutable(0o100, Buffer.from("data")), "other");
  assert.equal(classifyExecutable(0o010, Buffer.from("data")), "other");
  assert.equal(classifyExecutable(0o001, Buffer.from("data")), "other");
  assert.equal(classifyExecutable(0o4600, Buffer.from("data")), "other");
  assert.equal(classifyExecutable(0o2600, Buffer.from("data")), "other");
  assert.equal(classifyExecutable(0o1644, Buffer.from("data")), null, "sticky alone is not an exec bit");
  assert.equal(classifyExecutable(0o644, elf), "elf");
  assert.equal(classifyExecutable(0o755, elf), "elf");
  assert.equal(classifyExecutable(0o644, Buffer.from("#!")), "script");
  assert.equal(classifyExecutable(0o644, Buffer.from("#")), null);
  assert.equal(classifyExecutable(0o644, elf.subarray(0, 3)), null);
  assert.equal(classifyExecutable(0o100644, Buffer.alloc(0)), null, "file-type bits are ignored");
});

test("finishManifest sorts by UTF-8 bytes and rejects duplicates", () => {
  const e = (path: string) => makeExecEntry({ path, sha256: "a".repeat(64), size: 1, mode: 0o755, uid: 0, gid: 0 }, "other");
  // U+00E9 (0xC3 0xA9) sorts after "z" in byte order.
  const m = finishManifest([e("/z"), e("/\u00e9"), e("/a")], [{ path: "/b", target: "x" }]);
  assert.deepEqual(m.entries.map((x) => x.path), ["/a", "/z", "/\u00e9"]);
  assert.throws(() => finishManifest([e("/a"), e("/a")], []), /^Error: Cannot build executable manifest: duplicate entry path \/a$/);
});

test("parseExecManifest round-trips and rejects inconsistent input", () => {
  const entry = makeExecEntry({ path: "/bin/su", sha256: "b".repeat(64), size: 3, mode: 0o4755, uid: 0, gid: 0, capabilities: "0100000200200000" }, "elf");
  const m = finishManifest([entry], [{ path: "/sh", target: "bin/busybox" }]);
  assert.deepEqual(parseExecManifest(JSON.stringify(m)), m);
  assert.throws(() => parseExecManifest(JSON.stringify({ ...m, entries: [{ ...entry, setuid: false }] })), /setuid\/setgid flags that disagree/);
  assert.throws(() => parseExecManifest({ ...m, entries: [{ ...entry, path: "/bin/../su" }] }), /absolute, normalised/);
  assert.throws(() => parseExecManifest({ ...m, entries: [{ ...entry, path: "/z" }, entry] }), /not sorted/);
  assert.throws(() => parseExecManifest({ ...m, extra: 1 }));
  assert.throws(() => parseExecManifest("{"), SyntaxError);
});
