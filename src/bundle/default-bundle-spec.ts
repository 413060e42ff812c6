/**
 * The policy `inlay` ships when nothing else is said.
 * @module
 */
import type { BundleSpec } from "./bundle-spec.js";

/**
 * A fresh default spec: fail closed, always active, drift enforced against the image manifest,
 * fileless and loader execs enforced, an (empty) block list enforced, the allow list off.
 * The manifest is empty: the caller adds the image's executables (drift needs them).
 */
export function defaultBundleSpec(): BundleSpec {
  return {
    failMode: "closed",
    activation: "always",
    dormancy: { env: [], paths: [] },
    controls: { drift: "enforce", fileless: "enforce", loader: "enforce", blocklist: "enforce", allowlist: "off" },
    enforceAfter: {},
    driftSource: "manifest",
    reportExecs: false,
    blockList: { names: [], pathGlobs: [], sha256: [] },
    allowList: { names: [], pathGlobs: [], sha256: [] },
    manifest: [],
  };
}
