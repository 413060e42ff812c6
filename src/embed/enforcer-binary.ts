import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { formatPlatform, type Platform } from "../oci/v1/platform.js";
import { UnsupportedPlatformError } from "./errors.js";

/** `enforcer/build` of this checkout (dist/src/embed → repository root). */
export const DEFAULT_ENFORCER_DIR = fileURLToPath(new URL("../../../enforcer/build/", import.meta.url));

/** The enforcer build directory name for an image platform. */
export function enforcerArch(p: Platform): string {
  if (p.os !== "linux") throw new UnsupportedPlatformError(`Cannot embed into platform ${formatPlatform(p)}: Inlay supports linux images only${p.os === "windows" ? " (Windows images are refused)" : ""}`);
  if (p.architecture === "amd64") return "x86_64";
  if (p.architecture === "arm64" && (p.variant === undefined || p.variant === "" || p.variant === "v8")) return "aarch64";
  throw new UnsupportedPlatformError(`Cannot embed into platform ${formatPlatform(p)}: no enforcer is built for it (supported: linux/amd64, linux/arm64); choose platforms with --platform`);
}

/** Reads the enforcer for a platform from `dir/<arch>/inlay-enforcer`. */
export async function loadEnforcer(p: Platform, dir: string = DEFAULT_ENFORCER_DIR): Promise<Buffer> {
  const path = join(dir, enforcerArch(p), "inlay-enforcer");
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`Cannot read the enforcer for ${formatPlatform(p)} at ${path}: ${(err as Error).message}; run \`make -C enforcer\``, { cause: err });
  }
}
