/**
 * Exit codes of `inlay embed` and `inlay scan` (documented in docs/embed.md). They are API: scripts
 * branch on them, so codes are never reused for another condition.
 * @module
 */
import { CliError } from "../cli/cli-error.js";
import { CorruptLayerError, DestinationError, ImageNotFoundError, RegistryAuthError, RegistryResponseError, UnsupportedMediaTypeError } from "../oci/errors.js";
import { TooLargeError } from "../files/read-bounded.js";
import { DigestMismatchError, SizeMismatchError } from "../oci/internal/verify.js";
import { LayerRejectedError } from "../scan/layer-walker.js";
import { PolicyRefusedError } from "./components.js";
import { EnforcerMissingError, NoCommandError, UnsupportedPlatformError } from "./errors.js";

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  integrity: 5,
  unsupportedMediaType: 6,
  noCommand: 7,
  unsupportedPlatform: 8,
  registry: 9,
  malformed: 10,
  policy: 11,
  layerRejected: 12,
  enforcerMissing: 13,
  destination: 14,
} as const;

/** Finds the first error in a `cause` chain that is one of the known conditions. */
function known(err: unknown): Error | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (
      e instanceof ImageNotFoundError ||
      e instanceof RegistryAuthError ||
      e instanceof DigestMismatchError ||
      e instanceof SizeMismatchError ||
      e instanceof UnsupportedMediaTypeError ||
      e instanceof NoCommandError ||
      e instanceof UnsupportedPlatformError ||
      e instanceof RegistryResponseError ||
      e instanceof PolicyRefusedError ||
      e instanceof LayerRejectedError ||
      e instanceof CorruptLayerError ||
      e instanceof EnforcerMissingError ||
      e instanceof DestinationError ||
      e instanceof SyntaxError ||
      e instanceof TooLargeError
    ) {
      return e;
    }
  }
  return undefined;
}

/** Translates a pipeline error into a CliError with its documented exit code; unknown errors are rethrown as bugs. */
export function toCliError(err: unknown, action: string): CliError {
  const e = known(err);
  if (!e) throw err;
  const code =
    e instanceof ImageNotFoundError ? ExitCode.notFound
    : e instanceof RegistryAuthError ? ExitCode.auth
    : e instanceof DigestMismatchError || e instanceof SizeMismatchError ? ExitCode.integrity
    : e instanceof UnsupportedMediaTypeError ? ExitCode.unsupportedMediaType
    : e instanceof NoCommandError ? ExitCode.noCommand
    : e instanceof UnsupportedPlatformError ? ExitCode.unsupportedPlatform
    : e instanceof RegistryResponseError ? ExitCode.registry
    : e instanceof PolicyRefusedError ? ExitCode.policy
    : e instanceof LayerRejectedError || e instanceof CorruptLayerError ? ExitCode.layerRejected
    : e instanceof EnforcerMissingError ? ExitCode.enforcerMissing
    : e instanceof DestinationError ? ExitCode.destination
    : ExitCode.malformed;
  const suffix = code === ExitCode.integrity ? " (aborted; nothing was written under the destination name)" : "";
  return new CliError(`${action}: ${e.message}${suffix}`, code, { cause: err });
}
