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
 * Builds a policy suggestion from NDJSON events.
 * @param text the events file (workload output between events is skipped)
 * @throws EventsFileError naming the line of an invalid event, when no exec activity is found, or
 *   when the suggestion would exceed the size limit of a policy
 */
export function suggestPolicy(text: string, options: SuggestOptions): Suggestion {
  const exes = new Map<string, Seen>();
  const review: string[] = [];
  const outbound = new Map<string, Endpoint>();
  const listen = new Map<string, Endpoint>();
  const ignoredKinds = new Map<string, number>();
  let events = 0;
  let skipped = 0;

  // A byte-order mark (editors on Windows add one) would hide the first event as workload output.
  const lines = (text.startsWith("\uFEFF") ? text.slice(1) : text).split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, "");
    const lineNo = i + 1;
    if (!raw.startsWith('{"schema":')) {
      if (raw.trim() !== "") skipped++;
      continue;
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
      if (p === undefined) continue;
      for (const [path, hash] of [[p.exe, p.sha256], [p.script, p.script_sha256]] as const) {
        if (path === undefined) continue;
        if (!path.startsWith("/") || path.endsWith(" (deleted)")) {
          review.push(`${path}: ${ev.kind} at line ${lineNo} has no path on disk; not allowed`);
          continue;
        }
        // A path the policy schema would refuse must not make the whole suggestion invalid.
        if (path.includes("\0") || encodedLength(escapeGlob(path)) > MAX_ENCODED) {
          review.push(`${path.length > 200 ? `${path.slice(0, 200)}...` : path}: ${ev.kind} at line ${lineNo} has a path a policy cannot hold (NUL byte, or over ${MAX_ENCODED} bytes encoded); not allowed`);
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
      review.push(`${p.exe}: ${ev.kind} ${ev.action} (${ev.rule}) at line ${lineNo}: ${ev.reason}`);
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
  }
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
