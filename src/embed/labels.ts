/**
 * Labels (in the image config) and annotations (on the manifest) Inlay writes. The layer label and
 * the history entry together identify a previous embed, so a re-embed replaces it.
 * @module
 */
export const InlayLabel = {
  version: "dev.inlay.version",
  bundleDigest: "dev.inlay.bundle.digest",
  /** diff_id of the Inlay layer; must equal the image's top diff_id for a re-embed to strip it. */
  layerDiffId: "dev.inlay.layer.diff-id",
  baseDigest: "dev.inlay.base.digest",
  baseName: "dev.inlay.base.name",
} as const;

/** `created_by` prefix of the history entry of the Inlay layer. */
export const INLAY_HISTORY_PREFIX = "inlay embed";

/** Path of the enforcer inside the image; the first element of the new Entrypoint. */
export const ENFORCER_PATH = "/.inlay/inlay-enforcer";
/** Path of the compiled bundle inside the image. */
export const BUNDLE_PATH = "/.inlay/bundle";
