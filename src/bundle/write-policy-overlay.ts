/**
 * Writes the policy part of a {@link BundleSpec} as a policy overlay (docs/bundle-format.md,
 * "Policy overlay"): what the console serves so an enforcer can replace the policy baked into
 * its image. Same syntax as a bundle, header `inlay-policy 1`, and only policy directives, written
 * by the same code as the bundle's, so a policy gives the same lines in both.
 * @module
 */
import type { BundleSpec } from "./bundle-spec.js";
import { bundleId, policyDirectives, renderDirectives, validateBundleSpec } from "./write-bundle.js";

/** The largest overlay the enforcer accepts. */
export const OVERLAY_MAX_SIZE = 1024 * 1024;

/** The first line of every policy overlay. */
export const OVERLAY_HEADER = "inlay-policy 1";

/**
 * Stands in for the image's manifest while the spec is checked with the bundle's rules: drift
 * from the manifest needs `exe` lines, which the enforcer checks on the merged bundle instead.
 */
const MANIFEST_STAND_IN = { sha256: "0".repeat(64), path: "/.inlay/merged-manifest" };

/**
 * Checks a spec for an overlay: every rule of the bundle format between policy directives, no
 * manifest and no console link (they belong to the image's bundle).
 * @throws {Error} "Cannot write policy overlay: <field> <problem>"
 */
export function validateOverlaySpec(spec: BundleSpec): BundleSpec {
  const raw = spec as Partial<BundleSpec> | null;
  if (raw === null || typeof raw !== "object") throw new Error("Cannot write policy overlay: spec must be an object");
  if (!Array.isArray(raw.manifest) || raw.manifest.length > 0) {
    throw new Error("Cannot write policy overlay: manifest must be empty in a policy overlay: the exe lines come from the image's bundle");
  }
  if (raw.console !== undefined) {
    throw new Error("Cannot write policy overlay: console must be absent in a policy overlay: the console link comes from the image's bundle");
  }
  const checked = validateBundleSpec({ ...raw, manifest: [MANIFEST_STAND_IN] }, { what: "policy overlay" });
  return { ...checked, manifest: [] };
}

/**
 * Renders the policy directives of a spec as overlay bytes. `failMode`, `activation` and
 * `dormancy` are image settings: the enforcer always takes them from the baked bundle, so they
 * are not written; `manifest` must be empty and `console` absent.
 * @param spec the policy; validated first (drift from the manifest needs no `exe` here: the
 *   enforcer checks that rule on the merged bundle)
 * @returns the exact overlay content
 * @throws {Error} "Cannot write policy overlay: <field> <problem>" for an invalid spec, a
 *   manifest or console link, or a line or overlay beyond the format's limits
 * @example
 * const overlay = writePolicyOverlay(compiledSpec);
 * const id = policyOverlayId(overlay); // "sha256:…"
 */
export function writePolicyOverlay(spec: BundleSpec): Buffer {
  const s = validateOverlaySpec(spec);
  const lines = [{ text: OVERLAY_HEADER, field: "version" }, ...policyDirectives(s), { text: "end", field: "end" }];
  return renderDirectives(lines, { what: "policy overlay", maxSize: OVERLAY_MAX_SIZE });
}

/** The overlay id: `sha256:` and the lower-case hex SHA-256 of the overlay bytes. */
export function policyOverlayId(bytes: Uint8Array): string {
  return bundleId(bytes);
}
