/**
 * Secrets: generation and hashing. High-entropy tokens (256 random bits) are stored as SHA-256,
 * which is enough because they cannot be guessed; passwords, chosen by people, get scrypt with a
 * per-password salt. Nothing here keeps a secret in memory beyond the call.
 * @module
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** What a token is for; the prefix makes leaked tokens recognisable to secret scanners. */
export type TokenKind = "api" | "enrolment" | "enforcer" | "bootstrap";

const PREFIX: Record<TokenKind, string> = {
  api: "inlay_api_",
  enrolment: "inlay_enr_",
  enforcer: "inlay_enf_",
  bootstrap: "inlay_boot_",
};

/** A fresh random token of the given kind, e.g. `inlay_enr_<43 base64url chars>`. */
export function generateToken(kind: TokenKind): string {
  return PREFIX[kind] + randomBytes(32).toString("base64url");
}

/** True when the token carries the prefix of `kind` (a cheap check before any lookup). */
export function hasTokenKind(token: string, kind: TokenKind): boolean {
  return token.startsWith(PREFIX[kind]);
}

/** Lower-case hex SHA-256 of a token: the only form in which tokens are stored. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

// N=2^15, r=8 costs about 32 MiB and tens of milliseconds: slow for guessing, fine for logins.
const SCRYPT: ScryptOptions = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEYLEN = 32;

function scrypt(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, KEYLEN, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password as `scrypt$N$r$p$<salt b64>$<key b64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Checks a password against {@link hashPassword}'s output in constant time; false for malformed hashes. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [, n, r, p, saltB64, keyB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(keyB64, "base64");
  if (expected.length !== KEYLEN) return false;
  const key = await scrypt(password, Buffer.from(saltB64, "base64"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return timingSafeEqual(key, expected);
}
