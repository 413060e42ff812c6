import assert from "node:assert/strict";
import { test } from "node:test";
import { compareUtf8 } from "./utf8-order.js";

const sign = (x: number): number => (x < 0 ? -1 : x > 0 ? 1 : 0);
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

test("compareUtf8 orders surrogate pairs after the rest of the BMP, as their UTF-8 bytes do", () => {
  // UTF-16 code unit order would put "\u{1F600}" (0xD83D...) before "\uFFFD" and "\uE000".
  assert.deepEqual(["\u{1F600}", "\uFFFD", "\uE000", "z", "é"].sort(compareUtf8), ["z", "é", "\uE000", "\uFFFD", "\u{1F600}"]);
  assert.ok("\u{1F600}" < "\uE000", "the case this guards against: JS string order differs");
  assert.ok(compareUtf8("\u{1F600}", "\uE000") > 0);
});

test("compareUtf8 treats a lone surrogate as its encoding (U+FFFD) does", () => {
  // "\uD800" alone encodes as EF BF BD, equal to "\uFFFD"; the pair "\uD800\uDC00" as F0 90 80 80.
  assert.equal(compareUtf8("a\uD800", "a\uFFFD"), 0);
  assert.ok(compareUtf8("a\uD800x", "a\uD800\uDC00") < 0);
  assert.ok(compareUtf8("a\uD800", "a\uD800\uDC00") < 0);
  assert.ok(compareUtf8("\uDC00", "\uFFFE") < 0);
});

test("compareUtf8 has the sign of Buffer.compare on the encodings for random strings", () => {
  // Few distinct units so that long shared prefixes, prefixes and surrogate cases all occur.
  const units = [0x2f, 0x61, 0x62, 0x7f, 0xe9, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff];
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const make = (): string => String.fromCharCode(...Array.from({ length: rand(6) }, () => units[rand(units.length)]!));
  let differing = 0;
  for (let k = 0; k < 50_000; k++) {
    const a = make();
    const b = rand(3) === 0 ? a + make() : make();
    const want = sign(byBytes(a, b));
    assert.equal(sign(compareUtf8(a, b)), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    assert.equal(sign(compareUtf8(b, a)), sign(byBytes(b, a)));
    if (want !== sign(a < b ? -1 : a > b ? 1 : 0)) differing++;
  }
  assert.ok(differing > 0, "the sample must include pairs where UTF-16 and UTF-8 order differ");
});
