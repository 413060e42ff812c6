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
