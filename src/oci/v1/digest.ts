import { createHash } from "node:crypto";

/** A content digest, `sha256:<64 lower-case hex>`; only sha256 is produced or accepted. */
export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True when `s` is a well-formed sha256 digest. */
export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/**
 * Validates a digest read from outside.
 * @throws TypeError naming `where` when it is malformed or not sha256
 */
export function parseDigest(s: string, where: string): Digest {
  if (!isDigest(s)) throw new TypeError(`Cannot use digest ${JSON.stringify(s)} from ${where}: expected sha256:<64 lower-case hex>`);
  return s;
}

/** The sha256 digest of some bytes. */
export function digestOf(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The hex part of a digest (the blob file name in a layout). */
export function digestHex(d: Digest): string {
  return d.slice("sha256:".length);
}
