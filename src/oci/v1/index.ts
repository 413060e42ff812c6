/**
 * Accessor-only OCI types: descriptors, manifests, index, config, media types, digests and
 * platforms. Nothing here performs I/O.
 * @module
 */
export * from "./media-types.js";
export * from "./digest.js";
export * from "./platform.js";
export * from "./descriptor.js";
export * from "./manifest.js";
export * from "./config.js";
export * from "./store.js";
export * from "./annotations.js";
