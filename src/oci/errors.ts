/**
 * Conditions callers of the OCI library catch and translate (the CLI maps each to an exit code).
 * Integrity failures are `DigestMismatchError`/`SizeMismatchError` from `internal/verify.ts`.
 * @module
 */

/** The image, tag, manifest or blob does not exist where it was looked for. */
export class ImageNotFoundError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ImageNotFoundError";
  }
}

/** The registry refused the credentials (or needs some and none were found). */
export class RegistryAuthError extends Error {
  /** `host[:port]` */
  readonly registry: string;
  /** Where the credential came from, or "none (anonymous)". */
  readonly credentialSource: string;
  constructor(message: string, registry: string, credentialSource: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RegistryAuthError";
    this.registry = registry;
    this.credentialSource = credentialSource;
  }
}

/** A media type the operation cannot handle (e.g. an unknown layer compression). */
export class UnsupportedMediaTypeError extends Error {
  readonly mediaType: string;
  constructor(message: string, mediaType: string) {
    super(message);
    this.name = "UnsupportedMediaTypeError";
    this.mediaType = mediaType;
  }
}

/** The registry answered with an error that is neither "not found" nor an auth failure. */
export class RegistryResponseError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RegistryResponseError";
    this.status = status;
  }
}

/**
 * A layer's compressed bytes cannot be decoded: not gzip/zstd where the media type says so,
 * corrupt or truncated data, or bytes after the last gzip member. The blob digest may well match:
 * the image itself is broken, and no runtime could unpack it either.
 */
export class CorruptLayerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CorruptLayerError";
  }
}

/**
 * The destination cannot be written: a directory that cannot be created, a file where a directory
 * must be, no permission, a read-only file system, no space left. Nothing was made visible under
 * the destination name.
 */
export class DestinationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DestinationError";
  }
}
