/** The image has neither Entrypoint nor Cmd, so there is no command for the enforcer to launch. */
export class NoCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoCommandError";
  }
}

/** A platform Inlay cannot embed into (Windows, or an architecture without an enforcer build). */
export class UnsupportedPlatformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedPlatformError";
  }
}

/**
 * This installation cannot supply the enforcer for a platform: its file is missing or unreadable,
 * or it is not a 64-bit ELF executable for that architecture. Nothing is embedded.
 */
export class EnforcerMissingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnforcerMissingError";
  }
}
