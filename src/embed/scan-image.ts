/**
 * Reads an image (every selected platform) and builds its executable manifest: `scan` reads each
 * layer once through the digest and diff_id checks into the walker (see `layer-streams.ts`).
 * @module
 */
import { UnsupportedMediaTypeError } from "../oci/errors.js";
import { Annotation } from "../oci/v1/annotations.js";
import { parseImageConfig } from "../oci/v1/config.js";
import type { Descriptor } from "../oci/v1/descriptor.js";
import { parseImageIndex, parseImageManifest } from "../oci/v1/manifest.js";
import { isImageManifestMediaType, isIndexMediaType } from "../oci/v1/media-types.js";
import { formatPlatform, platformMatches, type Platform } from "../oci/v1/platform.js";
import type { ImageSource } from "../oci/v1/store.js";
import { UnsupportedPlatformError } from "./errors.js";
import type { ImageLayers, LayerProgress } from "./layer-streams.js";

export interface ScannedPlatform<M> {
  platform: string;
  digest: string;
  manifest: M;
}

/** Scans every image of `source` matching `platforms` (all when absent) with `scan`. */
export async function scanImage<M>(
  source: ImageSource,
  scan: (image: ImageLayers) => Promise<M>,
  opts: { platforms?: Platform[]; onProgress?: (p: { platform: string } & LayerProgress) => void } = {},
): Promise<ScannedPlatform<M>[]> {
  const out: ScannedPlatform<M>[] = [];
  async function one(desc: Descriptor, bytes: Buffer, indexPlatform?: Platform): Promise<void> {
    const m = parseImageManifest(bytes, `manifest ${desc.digest} of ${source.name}`);
    const cfg = parseImageConfig(await source.blobBytes(m.config), `${m.config.digest} of ${source.name}`);
    const platform = indexPlatform ?? { os: cfg.os ?? "", architecture: cfg.architecture ?? "", ...(cfg.variant ? { variant: cfg.variant } : {}) };
    if (!indexPlatform && opts.platforms && !opts.platforms.some((p) => platformMatches(platform, p))) {
      throw new UnsupportedPlatformError(`Cannot scan ${source.name}: it is a single ${formatPlatform(platform)} image, which --platform does not select`);
    }
    const pname = formatPlatform(platform);
    const progress = opts.onProgress;
    const manifest = await scan({ source, layers: m.layers, diffIds: cfg.rootfs.diff_ids, ...(progress ? { onProgress: (p: LayerProgress) => progress({ platform: pname, ...p }) } : {}) });
    out.push({ platform: pname, digest: desc.digest, manifest });
  }
  async function index(desc: Descriptor, bytes: Buffer): Promise<void> {
    for (const c of parseImageIndex(bytes, `index ${desc.digest} of ${source.name}`).manifests) {
      if (c.annotations?.[Annotation.dockerReferenceType] === "attestation-manifest" || c.platform?.os === "unknown") continue;
      if (isIndexMediaType(c.mediaType)) await index(c, await source.manifest(c));
      else if (isImageManifestMediaType(c.mediaType) && (!opts.platforms || (c.platform && opts.platforms.some((p) => platformMatches(c.platform!, p))))) {
        await one(c, await source.manifest(c), c.platform);
      }
    }
  }
  const root = await source.resolve();
  if (isIndexMediaType(root.descriptor.mediaType)) await index(root.descriptor, root.bytes);
  else if (isImageManifestMediaType(root.descriptor.mediaType)) await one(root.descriptor, root.bytes);
  else throw new UnsupportedMediaTypeError(`Cannot scan ${source.name}: its root has media type ${root.descriptor.mediaType}, which is neither an image manifest nor an index`, root.descriptor.mediaType);
  if (out.length === 0) throw new UnsupportedPlatformError(`Cannot scan ${source.name}: no image matches the selected platforms`);
  return out;
}
