import { test } from "node:test";
import assert from "node:assert/strict";
import { END, fixChecksum, makeTar, paxEntry, rawEntry, rawHeader } from "../../test/helpers/layer-tar.js";
import { decodePaxStrict, TarEntryReader, TarFormatError, type TarHeader } from "./tar-entries.js";

/** Reads `tar` fed in pieces of `piece` bytes; returns each entry's header facts and body. */
function read(tar: Buffer, piece = tar.length, stopAt?: string): { name: string; type: string; offset: number; mode: number; size: number; body: string }[] {
  const out: { name: string; type: string; offset: number; mode: number; size: number; body: string }[] = [];
  const reader = new TarEntryReader((h: TarHeader) => {
    const e = { name: h.name, type: h.type, offset: h.offset, mode: h.mode, size: h.size, body: "" };
    out.push(e);
    if (h.name === stopAt) return "stop";
    return { update: (c) => (e.body += Buffer.from(c).toString("latin1")), end: () => undefined };
  });
  for (let at = 0; at < tar.length; at += piece) reader.push(tar.subarray(at, at + piece));
  reader.end();
  return out;
}

test("decodePaxStrict keeps xattr values as bytes and refuses malformed records", () => {
  const caps = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x80, 0xff]);
  const rec = (k: string, v: Buffer | string) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from("\n")]);
    const len = body.length + String(body.length + 2).length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  };
  const out = decodePaxStrict(Buffer.concat([rec("path", "é/x"), rec("SCHILY.xattr.security.capability", caps)]));
  assert.equal(out.path, "é/x");
  assert.deepEqual(out["SCHILY.xattr.security.capability"], caps);
  assert.throws(() => decodePaxStrict(Buffer.from("5 a=b\n")), /record at byte 0 overruns or lacks its newline/);
  assert.throws(() => decodePaxStrict(Buffer.from("x a=b\n")), /bad record length at byte 0/);
  assert.throws(() => decodePaxStrict(Buffer.from("6 =ab\n")), /record at byte 0 has no key/);
  assert.throws(() => decodePaxStrict(rec("path", Buffer.from([0xff]))), /value of path is not valid UTF-8/);
});

test("TarEntryReader yields header facts with offsets and bodies, whatever the chunking", async () => {
  const tar = await makeTar([
    { name: "a", mode: 0o4755, uid: 7, gid: 8, content: "x".repeat(600) },
    { name: "l", type: "symlink", linkname: "a" },
    { name: "b", content: "b" },
  ]);
  const expected = [
    { name: "a", type: "file", offset: 0, mode: 0o4755, size: 600, body: "x".repeat(600) },
    { name: "l", type: "symlink", offset: 512 * 3, mode: 0o644, size: 0, body: "" },
    { name: "b", type: "file", offset: 512 * 4, mode: 0o644, size: 1, body: "b" },
  ];
  for (const piece of [tar.length, 512, 511, 100, 7, 1]) assert.deepEqual(read(tar, piece), expected, `pieces of ${piece} bytes`);
});

test("TarEntryReader stops when asked and ignores the rest, even garbage", async () => {
  const tar = Buffer.concat([(await makeTar([{ name: "a", content: "a" }, { name: "b", content: "b" }])).subarray(0, 2048), Buffer.from("not a tar header")]);
  assert.deepEqual(read(tar, 100, "a").map((e) => e.name), ["a"]);
});

test("TarEntryReader refuses a PAX record that does not parse as a number, naming the entry", () => {
  const tar = Buffer.concat([paxEntry([["uid", "12abc"]]), rawEntry({ name: "f", typeflag: "0" }), END]);
  assert.throws(
    () => read(tar),
    (err: unknown) => err instanceof TarFormatError && err.message === 'Cannot read tar entry "f" at byte 1024: invalid PAX uid "12abc"' && err.offset === 1024,
  );
});

test("TarEntryReader refuses truncated archives and accepts trailing zeros after the end marker", async () => {
  const tar = await makeTar([{ name: "a", content: "x".repeat(600) }]);
  assert.throws(() => read(tar.subarray(0, 700)), /^TarFormatError: Cannot read tar entry "a" at byte 0: the archive ends inside its data \(a truncated layer\)$/);
  assert.throws(() => read(tar.subarray(0, 1200)), /Cannot read tar entry "a" at byte 0: the archive ends inside its data/); // inside the padding
  assert.throws(() => read(Buffer.concat([rawEntry({ name: "z", typeflag: "0" }), Buffer.alloc(100, 1)])), /it ends at byte 612 inside a header or its data/);
  assert.deepEqual(read(Buffer.concat([tar, Buffer.alloc(300)])).map((e) => e.name), ["a"]);
  assert.throws(() => read(Buffer.concat([rawEntry({ name: "z", typeflag: "0" }), Buffer.alloc(512), Buffer.alloc(300)])), /inside a header or its data/);
});

test("TarEntryReader accepts a checksum over signed bytes (as Go does) and refuses a wrong one", () => {
  const h = rawHeader({ name: "x", typeflag: "0", mode: 0o644 });
  Buffer.from("é", "utf8").copy(h, 0); // bytes >= 0x80: the signed and unsigned sums differ
  let signed = 0;
  for (let i = 0; i < 512; i++) signed += i >= 148 && i < 156 ? 0x20 : h[i]! >= 0x80 ? h[i]! - 256 : h[i]!;
  h.write(`${signed.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  assert.deepEqual(read(Buffer.concat([h, END])).map((e) => e.name), ["é"]);
  const bad = fixChecksum(rawHeader({ name: "x", typeflag: "0" }));
  bad[0] = 0x79;
  assert.throws(() => read(Buffer.concat([bad, END])), /^TarFormatError: Cannot read tar header at byte 0: its checksum does not match \(a corrupt layer, or not a tar archive\)$/);
});

test("TarEntryReader joins the ustar prefix for ustar headers only, and limits PAX headers to 1 MiB", () => {
  const ustar = rawHeader({ name: "tool", typeflag: "0" });
  ustar.write("usr/bin", 345, "latin1");
  const gnu = rawHeader({ name: "tool", typeflag: "0" });
  gnu.write("ustar  \0", 257, "latin1");
  gnu.write("usr/bin", 345, "latin1");
  assert.deepEqual(read(Buffer.concat([fixChecksum(ustar), fixChecksum(gnu), END])).map((e) => e.name), ["usr/bin/tool", "tool"]);
  const huge = rawHeader({ name: "p", typeflag: "x", size: 2 * 1024 * 1024 });
  assert.throws(() => read(Buffer.concat([huge, END])), /Cannot read tar entry "p" at byte 0: its PAX header holds 2097152 bytes, more than the 1048576-byte limit/);
});

test("TarEntryReader on mutated archives: only TarFormatError, and the same outcome however the input is chunked", async () => {
  const base = Buffer.concat([
    paxEntry([["path", "pax/long/name"], ["uid", "5"]]),
    rawEntry({ name: "ignored", typeflag: "0", mode: 0o755 }, "pax body"),
    rawEntry({ name: "././@LongLink", typeflag: "L" }, "gnu/long/name\0"),
    rawEntry({ name: "short", typeflag: "0" }, "gnu body"),
    await makeTar([{ name: "d/", type: "directory" }, { name: "d/l", type: "symlink", linkname: "../x" }, { name: "d/f", content: "f".repeat(700) }]),
  ]);
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const outcome = (tar: Buffer, piece: number): string => {
    try {
      return JSON.stringify(read(tar, piece));
    } catch (err) {
      assert.ok(err instanceof TarFormatError, `only TarFormatError escapes, got ${String(err)}`);
      return `error: ${err.message}`;
    }
  };
  let refused = 0;
  for (let i = 0; i < 1500; i++) {
    const tar = Buffer.from(base);
    for (let k = 1 + rand(3); k > 0; k--) tar[rand(tar.length)] = rand(256);
    const cut = rand(4) === 0 ? tar.subarray(0, rand(tar.length)) : tar;
    const whole = outcome(cut, cut.length || 1);
    if (whole.startsWith("error")) refused++;
    assert.equal(outcome(cut, 1 + rand(600)), whole, `mutation ${i}: chunking changed the outcome`);
  }
  assert.ok(refused > 100 && refused < 1500, `mutations were refused ${refused} times out of 1500`);
});
