/**
 * Writes the policy part of a {@link BundleSpec} as a policy overlay (docs/bundle-format.md,
 * "Policy overlay"): what the console serves so an enforcer can replace the policy baked into
 * its image. Same syntax as a bundle, header `inlay-policy 1`, and only policy directives, written
 * by the same code as the bundle's, so a policy gives the same lines in both.
 * @module
 */
import type { z } from "zod";
import type { BundleSpec } from "./bundle-spec.js";
import { bundleId, overlaySpecSchema, policyDirectives, renderDirectives, validateSpecWith } from "./write-bundle.js";

/** The largest overlay the enforcer accepts. */
export const OVERLAY_MAX_SIZE = 1024 * 1024;

/** The first line of every policy overlay. */
export const OVERLAY_HEADER = "inlay-policy 1";

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
  const s = validateSpecWith(overlaySpecSchema as z.ZodType<BundleSpec>, spec, "policy overlay");
  const lines = [{ text: OVERLAY_HEADER, field: "version" }, ...policyDirectives(s), { text: "end", field: "end" }];
  return renderDirectives(lines, { what: "policy overlay", maxSize: OVERLAY_MAX_SIZE });
}

/** The overlay id: `sha256:` and the lower-case hex SHA-256 of the overlay bytes. */
export function policyOverlayId(bytes: Uint8Array): string {
  return bundleId(bytes);
}
