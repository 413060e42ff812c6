/**
 * Media types of the two manifest families and how to tell them apart. Never mix families: a
 * Docker schema2 manifest carrying OCI layer types is rejected by some runtimes.
 * @module
 */

export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

/** How a layer blob is compressed. */
export type Compression = "gzip" | "zstd" | "none";

/** Manifest family: decides the media types of anything added to an image. */
export type Family = "oci" | "docker";

/** True for the two image-index media types (OCI index, Docker manifest list). */
export function isIndexMediaType(mt: string): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

/** True for the two single-image manifest media types. */
export function isImageManifestMediaType(mt: string): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

/** The family of a manifest or index media type, or undefined when it is neither. */
export function familyOf(mt: string): Family | undefined {
  if (mt === MediaType.ociManifest || mt === MediaType.ociIndex) return "oci";
  if (mt === MediaType.dockerManifest || mt === MediaType.dockerManifestList) return "docker";
  return undefined;
}

/** Compression of a layer media type, or undefined when it is not a known layer type. */
export function layerCompression(mt: string): Compression | undefined {
  switch (mt) {
    case MediaType.ociLayer:
    case MediaType.ociLayerNondistributable:
    case MediaType.dockerLayer:
      return "none";
    case MediaType.ociLayerGzip:
    case MediaType.ociLayerNondistributableGzip:
    case MediaType.dockerLayerGzip:
    case MediaType.dockerForeignLayerGzip:
      return "gzip";
    case MediaType.ociLayerZstd:
    case MediaType.ociLayerNondistributableZstd:
      return "zstd";
    default:
      return undefined;
  }
}

/** The gzip layer media type of a family (the type of the layer Inlay adds). */
export function gzipLayerMediaType(family: Family): string {
  return family === "oci" ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip;
}

/** The index media type matching a family. */
export function indexMediaType(family: Family): string {
  return family === "oci" ? MediaType.ociIndex : MediaType.dockerManifestList;
}

/** Media types a registry client asks for when it resolves a reference. */
export const MANIFEST_ACCEPT = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest];
