/**
 * Learn mode: turns the events of an audit-mode run (`reportExecs: true`) into a minimal
 * allow-list policy. Every rule carries a comment saying which events it came from; activity the
 * enforcer flagged (drift, block list, fileless, loader) is listed for review, never allowed.
 * @module
 */
import { isIP } from "node:net";
import { z } from "zod";
import { parseEventLine, type InlayEvent } from "../events/event-schema.js";
import { encodedLength, MAX_ENCODED } from "./policy-schema.js";
import { MAX_POLICY_BYTES } from "./policy-source.js";
import { boundedLines, EndlessLineError } from "../files/bounded-lines.js";

/** The events file has a line that claims to be an event but is not one. */
export class EventsFileError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "EventsFileError";
  }
}

interface Seen {
  count: number;
  firstLine: number;
  firstTime: string;
  kinds: Set<string>;
  hashes: Set<string>;
}

interface Endpoint {
  count: number;
  firstLine: number;
  kind: string;
}

export interface SuggestOptions {
  /** Name used in comments and `metadata.description`. */
  file: string;
  /** Mode of the suggested allow list (default `audit`). */
  mode?: "audit" | "enforce";
  /** `metadata.name` of the suggestion (default `suggested`). */
  name?: string;
}

/** What the events said, before it becomes YAML. */
export interface Suggestion {
  yaml: string;
  executables: number;
  events: number;
}

/**
 * The longest line read from an events file. The enforcer keeps every event within 16 KiB
 * (docs/events.md); a longer line that claims to be an event is an error, a longer line of
 * workload output is skipped like any other.
 */
export const MAX_EVENT_LINE_BYTES = 1024 * 1024;

/**
 * Collects NDJSON event lines, one at a time, into a policy suggestion: memory grows with what
 * the suggestion holds (executables, endpoints, lines to review), never with the file.
 */
export interface PolicySuggester {
  /** One line, without its line break; `lineNo` counts from 1. */
  line(raw: string, lineNo: number): void;
  /** A line over {@link MAX_EVENT_LINE_BYTES}; `start` is its first bytes. */
  overlong(start: string, lineNo: number): void;
  /** The suggestion from every line given. */
  finish(): Suggestion;
}

/**
 * Starts a suggestion (see {@link suggestPolicy} for what it holds).
 * @throws EventsFileError from `line` and `overlong` naming the line of an invalid event, and
 *   from `finish` when no exec activity was found or the suggestion would exceed the size limit of
 *   a policy
 */
export function policySuggester(options: SuggestOptions): PolicySuggester {
  const exes = new Map<string, Seen>();
  const review: string[] = [];
  let reviewBytes = 0;
  const outbound = new Map<string, Endpoint>();
  const listen = new Map<string, Endpoint>();
  const ignoredKinds = new Map<string, number>();
  let events = 0;
  let skipped = 0;

  // The review list goes into the policy whole: past the size limit of a policy the suggestion
  // fails anyway, so it stops growing there instead of holding every flagged event of a long run.
  function flag(text: string): void {
    reviewBytes += Buffer.byteLength(text, "utf8") + 5;
    if (reviewBytes > MAX_POLICY_BYTES) {
      throw new EventsFileError(
        `Cannot suggest a policy from ${options.file}: by line ${lineNo} the ${review.length + 1} events to review alone are over the ${MAX_POLICY_BYTES}-byte limit of a policy; pass the events of one workload at a time`,
        options.file,
        lineNo,
      );
    }
    review.push(text);
  }
  let lineNo = 0;

  return {
    line(raw: string, at: number): void {
      lineNo = at;
      // A byte-order mark (editors on Windows add one) would hide the first event as workload output.
      if (at === 1 && raw.startsWith("\uFEFF")) raw = raw.slice(1);
      if (!raw.startsWith('{"schema":')) {
        if (raw.trim() !== "") skipped++;
        return;
      }
      let ev: InlayEvent;
      try {
        ev = parseEventLine(raw);
      } catch (err) {
        const why =
          err instanceof z.ZodError
            ? err.issues.map((is) => `${is.path.join(".") || "(event)"}: ${is.message}`).join("; ")
            : err instanceof Error
              ? err.message
              : String(err);
        throw new EventsFileError(`Cannot read events ${options.file}:${lineNo}: not a valid event: ${why}`, options.file, lineNo, { cause: err });
      }
      events++;
      const p = ev.process;
      if (ev.kind === "process.exec" || (ev.kind === "exec.not-allowed" && ev.action === "alert")) {
        if (p === undefined) return;
        for (const [path, hash] of [[p.exe, p.sha256], [p.script, p.script_sha256]] as const) {
          if (path === undefined) continue;
          if (!path.startsWith("/") || path.endsWith(" (deleted)")) {
            flag(`${path}: ${ev.kind} at line ${lineNo} has no path on disk; not allowed`);
            continue;
          }
          // A path the policy schema would refuse must not make the whole suggestion invalid.
          if (path.includes("\0") || encodedLength(escapeGlob(path)) > MAX_ENCODED) {
            flag(`${path.length > 200 ? `${path.slice(0, 200)}...` : path}: ${ev.kind} at line ${lineNo} has a path a policy cannot hold (NUL byte, or over ${MAX_ENCODED} bytes encoded); not allowed`);
            continue;
          }
          let s = exes.get(path);
          if (s === undefined) {
            s = { count: 0, firstLine: lineNo, firstTime: ev.time, kinds: new Set(), hashes: new Set() };
            exes.set(path, s);
          }
          s.count++;
          s.kinds.add(`${ev.kind}${ev.action === "alert" ? " alert" : ""}`);
          if (hash !== undefined) s.hashes.add(hash);
        }
      } else if (ev.kind.startsWith("exec.") && p !== undefined) {
        flag(`${p.exe}: ${ev.kind} ${ev.action} (${ev.rule}) at line ${lineNo}: ${ev.reason}`);
      } else if (/^(net|network)\./.test(ev.kind) && ev.detail !== undefined) {
        // The enforcer's network.connect events say `destination`: "A.B.C.D:PORT" or "[IPV6]:PORT".
        const destination = ev.detail["destination"];
        const dest = typeof destination === "string" ? /^\[?([0-9A-Fa-f:.]+)\]?:(\d{1,5})$/.exec(destination) : null;
        const destOk = dest !== null && isIP(dest[1]!) !== 0 && Number(dest[2]) >= 1 && Number(dest[2]) <= 65535;
        const port = destOk ? Number(dest[2]) : pickNumber(ev.detail, ["port", "remote_port", "dport", "local_port"]);
        const addr = destOk ? dest[1] : pickString(ev.detail, ["address", "addr", "ip", "remote_address", "daddr"]);
        // Events of protocol-aware enforcers say `protocol` (tcp/udp): the suggested rule keeps it.
        const proto = ev.detail["protocol"] === "tcp" || ev.detail["protocol"] === "udp" ? ` ${ev.detail["protocol"]}` : "";
        if (/listen|bind/.test(ev.kind) && port !== undefined) countEndpoint(listen, `${port}${proto}`, ev.kind, lineNo);
        else if (addr !== undefined && port !== undefined) countEndpoint(outbound, `${addr} ${port}${proto}`, ev.kind, lineNo);
        else ignoredKinds.set(ev.kind, (ignoredKinds.get(ev.kind) ?? 0) + 1);
      } else if (!ev.kind.startsWith("enforcer.")) {
        ignoredKinds.set(ev.kind, (ignoredKinds.get(ev.kind) ?? 0) + 1);
      }

    },
    overlong(start: string, at: number): void {
      lineNo = at;
      if ((at === 1 ? start.replace(/^\uFEFF/, "") : start).startsWith('{"schema":')) {
        throw new EventsFileError(`Cannot read events ${options.file}:${at}: the line is longer than ${MAX_EVENT_LINE_BYTES} bytes, which no event is`, options.file, at);
      }
      skipped++;
    },
    finish(): Suggestion {
      if (exes.size === 0) {
        throw new EventsFileError(
          `Cannot suggest a policy from ${options.file}: it holds no process.exec or exec.not-allowed events (${events} events read); ` +
            "run the workload with spec.reportExecs: true and the executables controls in audit mode, then pass its events",
          options.file,
          0,
        );
      }

      const q = (s: string): string => JSON.stringify(s);
      const out: string[] = [
        `# Suggested by \`inlay policy suggest\` from ${options.file}: ${events} events read, ${exes.size} executables allowed.`,
        "# Review every rule before use: each says which events it came from.",
        ...(skipped > 0 ? [`# ${skipped} line${skipped === 1 ? " that is not an event (workload output) was" : "s that are not events (workload output) were"} skipped.`] : []),
        "apiVersion: inlay.dev/v1",
        "kind: RuntimePolicy",
        "metadata:",
        `  name: ${q(options.name ?? "suggested")}`,
        `  description: ${q(`Allow list learned from ${options.file}`)}`,
        "spec:",
        "  executables:",
        "    allow:",
        `      mode: ${options.mode ?? "audit"}${(options.mode ?? "audit") === "audit" ? "  # switch to enforce once a run raises no exec.not-allowed alerts" : ""}`,
        "      paths:",
      ];
      for (const [path, s] of [...exes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
        const hashes = [...s.hashes];
        const hashText =
          hashes.length === 1 ? `, sha256 ${hashes[0]}` : hashes.length > 1 ? `, ${hashes.length} different contents seen` : "";
        out.push(
          `        # seen ${s.count} time${s.count === 1 ? "" : "s"} (${[...s.kinds].sort().join(", ")}); first at line ${s.firstLine} (${s.firstTime})${hashText}`,
          `        - ${q(escapeGlob(path))}`,
        );
      }
      if (outbound.size > 0 || listen.size > 0) {
        out.push("  # Network rules: every destination and listening port seen; anything else is reported.", "  network:");
        if (outbound.size > 0) {
          out.push("    outbound:", "      mode: audit", "      default: audit", "      allow:");
          for (const [key, e] of [...outbound.entries()].sort()) {
            const [addr, port, proto] = key.split(" ") as [string, string, string | undefined];
            out.push(
              `        # seen ${e.count} time${e.count === 1 ? "" : "s"} (${e.kind}); first at line ${e.firstLine}`,
              `        - cidr: ${q(`${addr}/${addr.includes(":") ? 128 : 32}`)}`,
              `          ports: [${port}]`,
              ...(proto ? [`          protocol: ${proto}`] : []),
            );
          }
        }
        if (listen.size > 0) {
          out.push("    listen:", "      mode: audit", "      default: audit", "      allowPorts:");
          for (const [key, e] of [...listen.entries()].sort()) {
            const [port, proto] = key.split(" ") as [string, string | undefined];
            const entry = proto ? `{ports: [${port}], protocol: ${proto}}` : port;
            out.push(`        - ${entry}  # seen ${e.count} time${e.count === 1 ? "" : "s"} (${e.kind}); first at line ${e.firstLine}`);
          }
        }
      }
      if (review.length > 0) {
        // Paths, rules and reasons are the workload's strings: any line break (\r too) or control
        // character would end the comment or garble the terminal that shows it.
        out.push("# Not allowed (flagged by the enforcer; review each one yourself):", ...review.map((r) => `#   ${r.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, " ")}`));
      }
      if (ignoredKinds.size > 0) {
        out.push(`# Ignored event kinds: ${[...ignoredKinds.entries()].map(([k, n]) => `${k} (${n})`).join(", ")}`);
      }
      const yaml = `${out.join("\n")}\n`;
      const bytes = Buffer.byteLength(yaml, "utf8");
      if (bytes > MAX_POLICY_BYTES) {
        throw new EventsFileError(
          `Cannot suggest a policy from ${options.file}: the ${exes.size} executables and ${outbound.size + listen.size} endpoints seen make a policy of ${bytes} bytes, over the ${MAX_POLICY_BYTES}-byte limit of a policy; pass the events of one workload at a time`,
          options.file,
          0,
        );
      }
      return { yaml, executables: exes.size, events };
    },
  };
}

/**
 * Builds a policy suggestion from NDJSON events held in memory.
 * @param text the events file (workload output between events is skipped)
 * @throws EventsFileError (see {@link policySuggester})
 */
export function suggestPolicy(text: string, options: SuggestOptions): Suggestion {
  const s = policySuggester(options);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    if (Buffer.byteLength(raw, "utf8") > MAX_EVENT_LINE_BYTES) s.overlong(raw.slice(0, 64), i + 1);
    else s.line(raw, i + 1);
  }
  return s.finish();
}

/**
 * Builds a policy suggestion from an events stream (a file or stdin), a line at a time, so a
 * long run's events need not fit in memory.
 * @throws EventsFileError (see {@link policySuggester}); the stream's own error
 */
export async function suggestPolicyFromStream(input: AsyncIterable<Buffer | string>, options: SuggestOptions): Promise<Suggestion> {
  const s = policySuggester(options);
  let lineNo = 0;
  try {
    for await (const line of boundedLines(input, MAX_EVENT_LINE_BYTES)) {
      lineNo++;
      if (line.overlong) s.overlong(line.text, lineNo);
      else s.line(line.text.replace(/\r$/, ""), lineNo);
    }
  } catch (err) {
    if (!(err instanceof EndlessLineError)) throw err;
    throw new EventsFileError(`Cannot read events ${options.file}:${lineNo + 1}: ${err.message}; this is not an events file`, options.file, lineNo + 1, { cause: err });
  }
  return s.finish();
}

/** An exact path as an fnmatch(3) glob: `*`, `?`, `[` and `\` are escaped. */
export function escapeGlob(path: string): string {
  return path.replace(/[*?[\\]/g, (c) => `\\${c}`);
}

function countEndpoint(map: Map<string, Endpoint>, key: string, kind: string, line: number): void {
  const e = map.get(key);
  if (e) e.count++;
  else map.set(key, { count: 1, firstLine: line, kind });
}

function pickNumber(detail: Record<string, unknown>, keys: string[]): number | undefined {
  for (const k of keys) {
    const v = detail[k];
    if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 65535) return v;
  }
  return undefined;
}

function pickString(detail: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = detail[k];
    if (typeof v === "string" && isIP(v) !== 0) return v;
  }
  return undefined;
}
