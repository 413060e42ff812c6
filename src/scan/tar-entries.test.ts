import { test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { END, makeTar, paxEntry, rawEntry } from "../../test/helpers/layer-tar.js";
import { decodePaxStrict, readTarEntries, skipBody, TarFormatError } from "./tar-entries.js";

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

test("readTarEntries yields header facts with offsets, and stopping early destroys the input", async () => {
  const tar = await makeTar([
    { name: "a", mode: 0o4755, uid: 7, gid: 8, content: "x".repeat(600) },
    { name: "l", type: "symlink", linkname: "a" },
    { name: "b", content: "b" },
  ]);
  const input = Readable.from([tar]);
  const seen: [string, string, number, number, number][] = [];
  for await (const e of readTarEntries(input)) {
    seen.push([e.name, e.type, e.offset, e.mode, e.size]);
    await skipBody(e);
    if (e.name === "l") break;
  }
  assert.deepEqual(seen, [
    ["a", "file", 0, 0o4755, 600],
    ["l", "symlink", 512 * 3, 0o644, 0],
  ]);
  assert.ok(input.destroyed, "the input is destroyed when the consumer stops");
});

test("readTarEntries refuses a PAX record that does not parse as a number", async () => {
  const tar = Buffer.concat([paxEntry([["uid", "12abc"]]), rawEntry({ name: "f", typeflag: "0" }), END]);
  await assert.rejects(
    (async () => {
      for await (const e of readTarEntries(Readable.from([tar]))) await skipBody(e);
    })(),
    (err: unknown) => err instanceof TarFormatError && err.message === 'Cannot read tar entry "f" at byte 1024: invalid PAX uid "12abc"' && err.offset === 1024,
  );
});
