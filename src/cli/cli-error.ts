/**
 * An error meant for the user: its message says what failed and what to do, and it carries the
 * process exit code. Domain modules throw their own errors; commands translate the ones they
 * know into a CliError with `{ cause }`.
 */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
