/**
 * The embed pipeline: source → per-platform mutation → sink. For each selected platform manifest
 * it streams the layers once (copying them when needed, verifying digests and diff_ids, feeding
 * the executable-manifest walker), bakes the bundle (policy + that platform's manifest) into one
 * deterministic layer with the enforcer, rewrites Entrypoint, and writes blobs, then manifests,
 * then the index, then the tag.
 * @module
 */
import { Readable } from "node:stream";
import type { ManifestEntry } from "../bundle/bundle-spec.js";
import { UnsupportedMediaTypeError } from "../oci/errors.js";
import { appendLayer, removeTopLayer } from "../oci/mutate/append-layer.js";
import { rebuildIndex } from "../oci/mutate/rebuild-index.js";
import { patchContainerConfig } from "../oci/mutate/set-config.js";
import { Annotation } from "../oci/v1/annotations.js";
import { parseImageConfig, type ImageConfig } from "../oci/v1/config.js";
import { digestOf } from "../oci/v1/digest.js";
import type { Descriptor } from "../oci/v1/descriptor.js";
import { parseImageIndex, parseImageManifest } from "../oci/v1/manifest.js";
import { familyOf, gzipLayerMediaType, isImageManifestMediaType, isIndexMediaType, MediaType, type Family } from "../oci/v1/media-types.js";
import { formatPlatform, platformMatches, type Platform } from "../oci/v1/platform.js";
import type { ImageSink, ImageSource } from "../oci/v1/store.js";
import { INLAY_VERSION } from "../version.js";
import { loadEnforcer } from "./enforcer-binary.js";
import { NoCommandError, UnsupportedPlatformError } from "./errors.js";
import { buildInlayLayer } from "./inlay-layer.js";
import { BUNDLE_PATH, ENFORCER_PATH, INLAY_HISTORY_PREFIX, InlayLabel } from "./labels.js";
import type { ImageLayers, LayerProgress } from "./layer-streams.js";

/** What the walker reports per executable (a subset of the scanner's ExecEntry). */
export interface ScannedExecutable {
  path: string;
  sha256: string;
  setuid?: boolean;
  setgid?: boolean;
}

/**
 * Builds the executable manifest of one image from its layers, base first: read them with
 * `imageLayerStreams` (uncompressed tars, one after the other) or `layerScans` (scan workers). Either
 * verifies every blob and diff_id and copies each blob the sink lacks.
 */
export type ScanLayers = (image: ImageLayers) => Promise<{ entries: ScannedExecutable[] }>;

/**
 * Builds the bundle bytes of one platform from its executable manifest (the policy compiler and
 * the bundle writer, or a fixed spec). May throw to refuse, e.g. when the policy needs a manifest.
 */
export type BundleBuilder = (manifest: ManifestEntry[], platform: string) => Buffer | Promise<Buffer>;

export interface EmbedOptions {
  bundleFor: BundleBuilder;
  scan: ScanLayers;
  /** Platforms to embed; others are left out of the result. Default: all. */
  platforms?: Platform[];
  /** Directory holding `<arch>/inlay-enforcer`. */
  enforcerDir?: string;
  /** Recorded as the base image name (annotation and label). */
  baseName: string;
  onProgress?: (e: { platform: string } & LayerProgress) => void;
}

export interface PlatformResult {
  platform: string;
  sourceDigest: string;
  digest: string;
  executables: number;
  setuid: number;
  bundleDigest: string;
  layerDigest: string;
  /** True when the source already carried an Inlay layer, which was replaced. */
  replacedInlayLayer: boolean;
}

export interface EmbedResult {
  source: string;
  destination: string;
  digest: string;
  mediaType: string;
  platforms: PlatformResult[];
  /** Index children left out, with the reason. */
  dropped: { digest: string; platform?: string; reason: string }[];
}

/** Attestation manifests (BuildKit): `unknown/unknown` with a reference annotation. */
function isAttestation(d: Descriptor): boolean {
  return d.annotations?.[Annotation.dockerReferenceType] === "attestation-manifest" || (d.platform?.os === "unknown" && d.platform.architecture === "unknown");
}

function stripInlayPrefix(ep: string[]): string[] {
  return ep[0] === ENFORCER_PATH && ep[1] === "--" ? ep.slice(2) : ep;
}

/** True when the top layer is a previous Inlay layer (label and history agree). */
function hasInlayLayer(cfg: ImageConfig): boolean {
  const top = cfg.rootfs.diff_ids.at(-1);
  const label = cfg.config?.Labels?.[InlayLabel.layerDiffId];
  if (!top || label !== top) return false;
  const lastLayerHistory = (cfg.history ?? []).filter((h) => h.empty_layer !== true).at(-1);
  return cfg.history === undefined || (lastLayerHistory?.created_by ?? "").startsWith(INLAY_HISTORY_PREFIX);
}

/** The bundle's manifest (the image's executables and the enforcer, sorted by path) and the count of setuid or setgid executables. */
function bundleManifest(scanned: { entries: ScannedExecutable[] }, enforcer: Buffer): { entries: ManifestEntry[]; setuid: number } {
  const entries: ManifestEntry[] = scanned.entries.map((e) => ({ path: e.path.startsWith("/") ? e.path : `/${e.path}`, sha256: e.sha256 }));
  entries.push({ path: ENFORCER_PATH, sha256: digestOf(enforcer).slice(7) });
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, setuid: scanned.entries.filter((e) => e.setuid || e.setgid).length };
}

function json(doc: unknown): Buffer {
  return Buffer.from(JSON.stringify(doc));
}

/**
 * Embeds Inlay into every selected platform of `source` and writes the result to `sink`.
 * Nothing becomes visible under the destination name unless every step succeeded.
 */
export async function embedImage(source: ImageSource, sink: ImageSink, opts: EmbedOptions): Promise<Omit<EmbedResult, "source" | "destination">> {
  const platforms: PlatformResult[] = [];
  const dropped: EmbedResult["dropped"] = [];

  async function embedOne(desc: Descriptor, bytes: Buffer, indexPlatform: Platform | undefined): Promise<{ desc: Descriptor; bytes: Buffer }> {
    const where = `manifest ${desc.digest} of ${source.name}`;
    const manifest = parseImageManifest(bytes, where);
    const family: Family = familyOf(desc.mediaType) ?? "oci";
    const cfgBytes = await source.blobBytes(manifest.config);
    let config = parseImageConfig(cfgBytes, `${manifest.config.digest} of ${source.name}`);
    const platform: Platform = indexPlatform ?? { os: config.os ?? "", architecture: config.architecture ?? "", ...(config.variant ? { variant: config.variant } : {}) };
    const pname = formatPlatform(platform);
    if (platform.os === "windows" || config.os === "windows") {
      throw new UnsupportedPlatformError(`Cannot embed into ${where}: it is a Windows image (${pname}); Inlay supports linux images only`);
    }
    if (!indexPlatform && opts.platforms && !opts.platforms.some((p) => platformMatches(platform, p))) {
      throw new UnsupportedPlatformError(`Cannot embed into ${source.name}: it is a single ${pname} image, which --platform does not select`);
    }
    const enforcer = await loadEnforcer(platform, opts.enforcerDir);

    let base = { config, manifest };
    const replaced = hasInlayLayer(config);
    if (replaced) base = removeTopLayer({ config, manifest });
    config = base.config;
    const labels = config.config?.Labels ?? {};
    const baseDigest = replaced ? (labels[InlayLabel.baseDigest] ?? desc.digest) : desc.digest;
    const baseName = replaced ? (labels[InlayLabel.baseName] ?? opts.baseName) : opts.baseName;

    const origEntrypoint = stripInlayPrefix(config.config?.Entrypoint ?? []);
    const cmd = config.config?.Cmd ?? [];
    if (origEntrypoint.length === 0 && cmd.length === 0) {
      throw new NoCommandError(`Cannot embed into ${where} (${pname}): the image has neither Entrypoint nor Cmd, so there is no command for the enforcer to start; set one in the image (ENTRYPOINT or CMD) and embed again`);
    }

    // Only what the bundle and the result need is kept of the scan: the whole manifest of an image
    // with many executables is megabytes, better left to the collector before the bundle is built.
    const { entries, setuid } = bundleManifest(
      await opts.scan({
        source,
        layers: base.manifest.layers,
        diffIds: config.rootfs.diff_ids,
        sink,
        ...(opts.onProgress ? { onProgress: (p: LayerProgress) => opts.onProgress!({ platform: pname, ...p }) } : {}),
      }),
      enforcer,
    );
    const bundle = await opts.bundleFor(entries, pname);
    const bundleDigest = digestOf(bundle);
    const layer = await buildInlayLayer(enforcer, bundle);
    const layerDesc: Descriptor = { mediaType: gzipLayerMediaType(family), digest: layer.digest, size: layer.blob.length };

    const appended = appendLayer({ config, manifest: base.manifest }, {
      layer: layerDesc,
      diffId: layer.diffId,
      history: { created_by: `${INLAY_HISTORY_PREFIX} (inlay ${INLAY_VERSION}): ${ENFORCER_PATH}, ${BUNDLE_PATH}`, comment: "Inlay runtime security layer" },
    });
    const newConfig = patchContainerConfig(appended.config, {
      entrypoint: [ENFORCER_PATH, "--", ...origEntrypoint],
      labels: {
        [InlayLabel.version]: INLAY_VERSION,
        [InlayLabel.bundleDigest]: bundleDigest,
        [InlayLabel.layerDiffId]: layer.diffId,
        [InlayLabel.baseDigest]: baseDigest,
        [InlayLabel.baseName]: baseName,
      },
    });
    const newCfgBytes = json(newConfig);
    const cfgDesc: Descriptor = { ...manifest.config, digest: digestOf(newCfgBytes), size: newCfgBytes.length };
    const newManifest = {
      ...appended.manifest,
      config: cfgDesc,
      annotations: {
        ...(manifest.annotations ?? {}),
        [Annotation.baseDigest]: baseDigest,
        [Annotation.baseName]: baseName,
        [InlayLabel.version]: INLAY_VERSION,
        [InlayLabel.bundleDigest]: bundleDigest,
      },
    };
    // Docker schema2 manifests have no annotations field in their schema; keep the family pure.
    if (family === "docker") delete (newManifest as { annotations?: unknown }).annotations;
    const newBytes = json(newManifest);
    const newDesc: Descriptor = { mediaType: desc.mediaType, digest: digestOf(newBytes), size: newBytes.length };
    if (indexPlatform) newDesc.platform = indexPlatform;

    if (!(await sink.hasBlob(layerDesc))) await sink.putBlob(layerDesc, Readable.from([layer.blob]));
    if (!(await sink.hasBlob(cfgDesc))) await sink.putBlob(cfgDesc, Readable.from([newCfgBytes]));

    platforms.push({
      platform: pname,
      sourceDigest: desc.digest,
      digest: newDesc.digest,
      executables: entries.length,
      setuid,
      bundleDigest,
      layerDigest: layer.digest,
      replacedInlayLayer: replaced,
    });
    return { desc: newDesc, bytes: newBytes };
  }

  /** Copies a non-image child (e.g. an artifact) unchanged; returns false when it cannot be read as a manifest. */
  async function copyThrough(desc: Descriptor, bytes: Buffer): Promise<boolean> {
    let m;
    try {
      m = parseImageManifest(bytes, `manifest ${desc.digest}`);
    } catch {
      return false;
    }
    for (const b of [m.config, ...m.layers]) {
      if (await sink.hasBlob(b, source.origin ? { origin: source.origin } : {})) continue;
      await sink.putBlob(b, await source.blob(b));
    }
    await sink.putManifest(desc, bytes);
    return true;
  }

  async function embedIndex(desc: Descriptor, bytes: Buffer): Promise<{ desc: Descriptor; bytes: Buffer }> {
    const index = parseImageIndex(bytes, `index ${desc.digest} of ${source.name}`);
    const replace = new Map<string, Descriptor | null>();
    let images = 0;
    const windows = index.manifests.filter((c) => c.platform?.os === "windows" && (!opts.platforms || opts.platforms.some((p) => platformMatches(c.platform!, p))));
    if (windows.length) {
      throw new UnsupportedPlatformError(`Cannot embed into index ${desc.digest} of ${source.name}: it contains Windows images (${windows.map((w) => formatPlatform(w.platform!)).join(", ")}); Inlay supports linux only; choose linux platforms with --platform`);
    }
    for (const child of index.manifests) {
      const pname = child.platform ? formatPlatform(child.platform) : undefined;
      if (isAttestation(child)) {
        replace.set(child.digest, null);
        dropped.push({ digest: child.digest, reason: "attestation manifest of the unpatched image (its subject digest no longer exists)" });
        continue;
      }
      if (isIndexMediaType(child.mediaType)) {
        const nested = await embedIndex(child, await source.manifest(child));
        await sink.putManifest(nested.desc, nested.bytes);
        replace.set(child.digest, nested.desc);
        images++;
        continue;
      }
      if (isImageManifestMediaType(child.mediaType)) {
        if (opts.platforms && !(child.platform && opts.platforms.some((p) => platformMatches(child.platform!, p)))) {
          replace.set(child.digest, null);
          dropped.push({ digest: child.digest, ...(pname ? { platform: pname } : {}), reason: "not selected by --platform" });
          continue;
        }
        const r = await embedOne(child, await source.manifest(child), child.platform);
        await sink.putManifest(r.desc, r.bytes);
        replace.set(child.digest, r.desc);
        images++;
        continue;
      }
      const cb = await source.manifest(child).catch(() => undefined);
      if (cb && (await copyThrough(child, cb))) continue;
      replace.set(child.digest, null);
      dropped.push({ digest: child.digest, reason: `unknown media type ${child.mediaType}, not copied` });
    }
    if (images === 0) {
      const avail = index.manifests.filter((c) => c.platform && !isAttestation(c)).map((c) => formatPlatform(c.platform!));
      throw new UnsupportedPlatformError(`Cannot embed into index ${desc.digest} of ${source.name}: no image matches --platform ${opts.platforms?.map(formatPlatform).join(",") ?? "(all)"} (platforms present: ${avail.join(", ") || "none"})`);
    }
    const next = rebuildIndex(index, replace);
    const nb = json(next);
    return { desc: { mediaType: desc.mediaType, digest: digestOf(nb), size: nb.length }, bytes: nb };
  }

  const root = await source.resolve();
  const mt = root.descriptor.mediaType;
  let out: { desc: Descriptor; bytes: Buffer };
  if (isIndexMediaType(mt)) {
    out = await embedIndex(root.descriptor, root.bytes);
  } else if (isImageManifestMediaType(mt)) {
    out = await embedOne(root.descriptor, root.bytes, undefined);
  } else {
    throw new UnsupportedMediaTypeError(`Cannot embed into ${source.name}: its root has media type ${mt}, which is neither an image manifest nor an index (${MediaType.ociManifest}, ${MediaType.dockerManifest}, ${MediaType.ociIndex}, ${MediaType.dockerManifestList})`, mt);
  }
  await sink.commit(out.desc, out.bytes);
  return { digest: out.desc.digest, mediaType: out.desc.mediaType, platforms, dropped };
}
