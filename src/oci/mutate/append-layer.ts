import type { ImageConfig, HistoryEntry } from "../v1/config.js";
import type { Descriptor } from "../v1/descriptor.js";
import type { ImageManifest } from "../v1/manifest.js";

/** The two documents a layer change touches. */
export interface ImageParts {
  config: ImageConfig;
  manifest: ImageManifest;
}

/** A layer to add on top of an image. */
export interface Addendum {
  /** The compressed blob's descriptor (media type in the manifest's family). */
  layer: Descriptor;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** The history entry recorded with the layer (only added when the config has history). */
  history: HistoryEntry;
}

/**
 * Appends a layer: the manifest gets the descriptor last, the config one diff_id and, when it
 * already keeps history, one non-empty history entry, so history and diff_ids stay in step.
 * Pure: the inputs are not modified; unknown fields are carried over.
 * @returns the new config and manifest (the manifest's config descriptor is left for the caller to set)
 */
export function appendLayer(image: ImageParts, add: Addendum): ImageParts {
  const { config, manifest } = image;
  const next: ImageConfig = { ...config, rootfs: { ...config.rootfs, diff_ids: [...config.rootfs.diff_ids, add.diffId] } };
  if (Array.isArray(config.history)) next.history = [...config.history, add.history];
  return { config: next, manifest: { ...manifest, layers: [...manifest.layers, add.layer] } };
}

/**
 * Removes the top layer and its history entry (the last one without `empty_layer`).
 * @throws RangeError when the image has no layer or its history does not match its layers
 */
export function removeTopLayer(image: ImageParts): ImageParts {
  const { config, manifest } = image;
  if (manifest.layers.length === 0 || config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new SyntaxError(`Cannot remove the top layer: the manifest has ${manifest.layers.length} layers and the config ${config.rootfs.diff_ids.length} diff_ids`);
  }
  const next: ImageConfig = { ...config, rootfs: { ...config.rootfs, diff_ids: config.rootfs.diff_ids.slice(0, -1) } };
  if (Array.isArray(config.history)) {
    const h = [...config.history];
    let i = h.length - 1;
    while (i >= 0 && h[i]!.empty_layer === true) i--;
    if (i >= 0) h.splice(i, 1);
    next.history = h;
  }
  return { config: next, manifest: { ...manifest, layers: manifest.layers.slice(0, -1) } };
}

/** Number of history entries that describe a layer (history without `empty_layer`). */
export function nonEmptyHistoryCount(config: ImageConfig): number {
  return (config.history ?? []).filter((h) => h.empty_layer !== true).length;
}
