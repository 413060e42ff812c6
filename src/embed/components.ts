/**
 * Loads the two components embed needs from sibling modules: the layer walker (`src/scan/`) and
 * the bundle writer (`src/bundle/`). Loaded by path at run time so this module builds whether or
 * not those modules are present in the checkout; a missing one is a clear error, never a silent
 * fallback.
 * @module
 */
import type { Readable } from "node:stream";
import type { BundleSpec } from "../bundle/bundle-spec.js";
import type { ExecManifest } from "../scan/exec-manifest.js";

async function load<T>(rel: string, name: string, what: string): Promise<T> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(new URL(rel, import.meta.url).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`Cannot load ${what} (${rel}): ${(err as Error).message}`, { cause: err });
  }
  const f = mod[name];
  if (typeof f !== "function") throw new Error(`Cannot load ${what}: ${rel} has no function ${name}`);
  return f as T;
}

/** The layer walker `buildExecManifest` from src/scan/. */
export async function loadScanner(): Promise<(layers: AsyncIterable<Readable>) => Promise<ExecManifest>> {
  return load("../scan/build-exec-manifest.js", "buildExecManifest", "the layer walker");
}

/** The human summary `formatScanSummary` from src/scan/. */
export async function loadSummary(): Promise<(m: ExecManifest) => string> {
  return load("../scan/build-exec-manifest.js", "formatScanSummary", "the scan summary");
}

/** The bundle writer and the default policy from src/bundle/write-bundle.js. */
export async function loadBundleWriter(): Promise<{ writeBundle: (spec: BundleSpec) => Buffer; defaultBundleSpec: () => BundleSpec }> {
  return {
    writeBundle: await load("../bundle/write-bundle.js", "writeBundle", "the bundle writer"),
    defaultBundleSpec: await load("../bundle/write-bundle.js", "defaultBundleSpec", "the default policy"),
  };
}
