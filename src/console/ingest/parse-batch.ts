/**
 * Validation of one NDJSON event batch: every line must be an event of the schema
 * (docs/events.md) from the credential's instance. Pure and thread-agnostic: it returns data,
 * never throws, so a worker thread can run it and send the result back.
 * @module
 */
import { eventSchema, type InlayEvent } from "../../events/event-schema.js";
import { describeIssues } from "../http/api-error.js";

/** The fields the store indexes, plus the original line (stored as it came). */
export type EventRow = { event: Pick<InlayEvent, "id" | "time" | "kind" | "severity" | "action" | "rule">; line: string };

export type BatchResult = { ok: true; rows: EventRow[] } | { ok: false; code: "bad_request" | "payload_too_large"; message: string };

/** Parses a decoded batch; one bad line refuses the whole batch with a message naming the line and field. */
export function parseBatch(text: string, options: { instance: string; maxEvents: number }): BatchResult {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.length > options.maxEvents) {
    return { ok: false, code: "payload_too_large", message: `Cannot accept the batch: ${lines.length} events is more than the ${options.maxEvents} allowed; send smaller batches` };
  }
  const rows: EventRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      return { ok: false, code: "bad_request", message: `Cannot read event batch line ${i + 1}: not JSON (${(err as Error).message})` };
    }
    const r = eventSchema.safeParse(json);
    if (!r.success) return { ok: false, code: "bad_request", message: `Cannot read event batch line ${i + 1}: ${describeIssues(r.error.issues)} (see docs/events.md)` };
    const e = r.data;
    // PostgreSQL text cannot hold NUL; the enforcer escapes hostile bytes, so a NUL here is garbage.
    if (e.rule.includes("\u0000")) return { ok: false, code: "bad_request", message: `Cannot read event batch line ${i + 1}: field rule: NUL characters are not allowed` };
    if (e.enforcer.instance !== options.instance) {
      return { ok: false, code: "bad_request", message: `Cannot accept event batch line ${i + 1}: event ${e.id} comes from instance ${e.enforcer.instance}, but this credential belongs to instance ${options.instance}` };
    }
    rows.push({ event: { id: e.id, time: e.time, kind: e.kind, severity: e.severity, action: e.action, rule: e.rule }, line });
  }
  return { ok: true, rows };
}
