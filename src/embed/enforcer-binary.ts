import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { formatPlatform, type Platform } from "../oci/v1/platform.js";
import { EnforcerMissingError, UnsupportedPlatformError } from "./errors.js";

/** `enforcer/build` of this checkout (dist/src/embed → repository root). */
export const DEFAULT_ENFORCER_DIR = fileURLToPath(new URL("../../../enforcer/build/", import.meta.url));

/** The enforcer build directory name for an image platform. */
export function enforcerArch(p: Platform): string {
  if (p.os !== "linux") throw new UnsupportedPlatformError(`Cannot embed into platform ${formatPlatform(p)}: Inlay supports linux images only${p.os === "windows" ? " (Windows images are refused)" : ""}`);
  if (p.architecture === "amd64") return "x86_64";
  if (p.architecture === "arm64" && (p.variant === undefined || p.variant === "" || p.variant === "v8")) return "aarch64";
  throw new UnsupportedPlatformError(`Cannot embed into platform ${formatPlatform(p)}: no enforcer is built for it (supported: linux/amd64, linux/arm64); choose platforms with --platform`);
}

/** ELF `e_machine` of each enforcer build directory. */
const ELF_MACHINE: Record<string, number> = { x86_64: 62, aarch64: 183 };

/**
 * Reads the enforcer for a platform from `dir/<arch>/inlay-enforcer`. Throws
 * {@link EnforcerMissingError} when the file cannot be read or is not a little-endian 64-bit ELF
 * executable for that architecture: an image whose entrypoint cannot start must never be built.
 */
export async function loadEnforcer(p: Platform, dir: string = DEFAULT_ENFORCER_DIR): Promise<Buffer> {
  const arch = enforcerArch(p);
  const path = join(dir, arch, "inlay-enforcer");
  const fix = dir === DEFAULT_ENFORCER_DIR ? "run `make -C enforcer` in the Inlay checkout" : "check --enforcer-dir";
  let bin: Buffer;
  try {
    bin = await readFile(path);
  } catch (err) {
    throw new EnforcerMissingError(`Cannot read the enforcer for ${formatPlatform(p)} at ${path}: ${(err as Error).message}; ${fix}`, { cause: err });
  }
  // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1); e_type (offset 16) EXEC (2) or DYN (3); e_machine (offset 18).
  const elf = bin.length >= 64 && bin.readUInt32BE(0) === 0x7f454c46 && bin[4] === 2 && bin[5] === 1;
  const type = elf ? bin.readUInt16LE(16) : 0;
  const machine = elf ? bin.readUInt16LE(18) : -1;
  if (!elf || (type !== 2 && type !== 3) || machine !== ELF_MACHINE[arch]) {
    const what = !elf ? "not a 64-bit little-endian ELF file" : type !== 2 && type !== 3 ? `an ELF file of type ${type}, not an executable` : `an ELF executable for machine ${machine}, not ${arch}`;
    throw new EnforcerMissingError(`Cannot use ${path} as the enforcer for ${formatPlatform(p)}: it is ${what}; ${fix}`);
  }
  return bin;
}
