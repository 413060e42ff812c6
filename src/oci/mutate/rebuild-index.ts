import type { Descriptor } from "../v1/descriptor.js";
import type { ImageIndex } from "../v1/manifest.js";

/**
 * Rebuilds an index after some children changed. `replace` maps an old child digest to its new
 * descriptor (digest, size, media type), or to `null` to drop the child. Each kept child keeps its
 * position, `platform` (including `variant`), `annotations` and every other field. Pure.
 */
export function rebuildIndex(index: ImageIndex, replace: ReadonlyMap<string, Descriptor | null>, opts: { annotations?: Record<string, string> } = {}): ImageIndex {
  const manifests: Descriptor[] = [];
  for (const child of index.manifests) {
    const r = replace.get(child.digest);
    if (r === null) continue;
    manifests.push(r ? { ...child, mediaType: r.mediaType, digest: r.digest, size: r.size } : child);
  }
  const next: ImageIndex = { ...index, manifests };
  if (opts.annotations) next.annotations = { ...(index.annotations ?? {}), ...opts.annotations };
  return next;
}
