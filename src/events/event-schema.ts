/**
 * The enforcer's event schema (docs/events.md) as a zod schema: the executable form of the
 * contract. End-to-end suites parse every line the real enforcer writes with {@link parseEventLine}.
 * @module
 */
import { z } from "zod";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "a lower-case hex SHA-256");

/** Known kinds; consumers must still accept kinds added later (see {@link eventSchema}). */
export const KNOWN_EVENT_KINDS = [
  "enforcer.start",
  "enforcer.exit",
  "enforcer.degraded",
  "enforcer.refused",
  "enforcer.dormant",
  "enforcer.dropped",
  "enforcer.console",
  "enforcer.policy",
  "exec.drift",
  "exec.blocked",
  "exec.not-allowed",
  "exec.fileless",
  "exec.loader",
  "exec.error",
  "process.exec",
  "process.reverse-shell",
  "network.connect",
  "network.listen",
  "file.write",
  "file.audit",
  "privilege.setuid-exec",
  "privilege.setid-call",
] as const;

export const processSchema = z
  .object({
    pid: z.number().int().nonnegative(),
    ppid: z.number().int().nonnegative(),
    uid: z.number().int().nonnegative(),
    exe: z.string(),
    sha256: hex64.optional(),
    argv: z.array(z.string()).max(32),
    argv_truncated: z.boolean(),
    cwd: z.string().optional(),
    script: z.string().optional(),
    script_sha256: hex64.optional(),
  })
  .strict();

export const eventSchema = z
  .object({
    schema: z.literal(1),
    id: z.string().regex(/^[0-9a-f]{32}-[0-9]+$/, "<instance>-<seq>"),
    time: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "RFC 3339 UTC with milliseconds"),
    kind: z.string().regex(/^[a-z]+(\.[a-z-]+)+$/),
    severity: z.enum(["critical", "high", "medium", "low", "info"]),
    action: z.enum(["deny", "alert", "allow", "info"]),
    mode: z.enum(["enforce", "audit", "none"]),
    rule: z.string(),
    reason: z.string(),
    process: processSchema.optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
    /** Where the workload runs (docs/events.md), once the reporter gathered it. */
    platform: z.record(z.string().regex(/^[a-z_]{1,31}$/), z.string().max(256)).optional(),
    enforcer: z
      .object({
        version: z.string().min(1),
        pid: z.number().int().positive(),
        instance: z.string().regex(/^[0-9a-f]{32}$/),
      })
      .strict(),
    bundle: z.string().regex(/^(sha256:[0-9a-f]{64}|none)$/),
  })
  .strict();

/** One enforcer event. */
export type InlayEvent = z.infer<typeof eventSchema>;

/**
 * Parses one NDJSON line into an event.
 * @param line one line, without its newline
 * @returns the validated event
 * @throws SyntaxError when the line is not JSON; a ZodError when it does not fit the schema
 */
export function parseEventLine(line: string): InlayEvent {
  return eventSchema.parse(JSON.parse(line));
}

/**
 * Splits enforcer output into events and other lines (a workload shares stderr with the enforcer).
 * Every line that starts with `{"schema":` must be a valid event; a malformed one throws.
 */
export function extractEvents(output: string): { events: InlayEvent[]; other: string[] } {
  const events: InlayEvent[] = [];
  const other: string[] = [];
  for (const line of output.split("\n")) {
    if (line.startsWith('{"schema":')) events.push(parseEventLine(line));
    else if (line.length > 0) other.push(line);
  }
  return { events, other };
}
