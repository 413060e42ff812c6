/**
 * The one string order of bundles and manifests: by the bytes of the UTF-8 encoding, which is how
 * the enforcer (C, `memcmp`/`strcmp`) compares paths.
 * @module
 */

/**
 * Compares two strings by the bytes of their UTF-8 encoding (`Buffer.from(s, "utf8")`), without
 * encoding them: sorting 100,000 paths that way allocated two buffers per comparison, millions in
 * all, which drove the peak memory of `inlay embed` on images with many files.
 *
 * For well-formed text, UTF-8 byte order is code point order, which is UTF-16 code unit order
 * except that surrogates (code points above U+FFFF) sort after U+E000–U+FFFF. A lone surrogate
 * encodes as U+FFFD, so where a surrogate takes part in the first difference this falls back to
 * comparing the encodings: the result is always that of `Buffer.compare` on the encodings.
 *
 * @returns a negative number, 0 or a positive number, as `a` sorts before, with or after `b`
 * @example
 * ["\u{1F600}", "\uFFFD", "z"].sort(compareUtf8); // ["z", "\uFFFD", "\u{1F600}"]
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // A high surrogate just before the difference may pair with a unit on one side only.
  if (i > 0 && isHighSurrogate(a.charCodeAt(i - 1))) return compareEncoded(a, b);
  if (i === n) return a.length - b.length;
  const ca = a.charCodeAt(i);
  const cb = b.charCodeAt(i);
  if (ca >= 0xd800 || cb >= 0xd800) return compareEncoded(a, b);
  return ca - cb;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function compareEncoded(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
