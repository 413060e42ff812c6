/** Annotation keys defined by the OCI image spec that Inlay reads or writes. */
export const Annotation = {
  refName: "org.opencontainers.image.ref.name",
  baseDigest: "org.opencontainers.image.base.digest",
  baseName: "org.opencontainers.image.base.name",
  /** Docker's marker on attestation manifests: the digest of the image they describe. */
  dockerReferenceDigest: "vnd.docker.reference.digest",
  dockerReferenceType: "vnd.docker.reference.type",
  /** containerd/Docker ≥ 25 name of an image in index.json. */
  containerdImageName: "io.containerd.image.name",
} as const;
