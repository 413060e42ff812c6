/**
 * The console's HTTP errors. Every failure a client can cause becomes an {@link ApiError} with a
 * documented code and a message that names what was wrong and where; anything else is a bug and
 * becomes a bare 500 (logged, never echoed).
 * @module
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Error codes are API: clients (the C reporter included) switch on them. */
export type ApiErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "internal";

const STATUS: Record<ApiErrorCode, ContentfulStatusCode> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
};

/** A failure to report to the client as `{"error":{"code","message"}}`. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: ContentfulStatusCode;
  readonly headers: Record<string, string>;
  constructor(code: ApiErrorCode, message: string, options: { cause?: unknown; headers?: Record<string, string> } = {}) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.code = code;
    this.status = STATUS[code];
    this.headers = options.headers ?? {};
  }
}

/** Formats zod issues as "field a.b: message; field c: message" (paths are what clients can fix). */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? `field ${i.path.map(String).join(".")}` : "value"}: ${i.message}`)
    .join("; ");
}
