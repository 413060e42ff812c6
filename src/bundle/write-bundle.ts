/**
 * Writes a {@link BundleSpec} as bundle format 1 (docs/bundle-format.md): the exact bytes the
 * enforcer's C parser reads. The output is deterministic: directives in a fixed order, every list
 * sorted by UTF-8 bytes and de-duplicated, the manifest sorted by path. So equal policies give
 * equal bundle ids.
 * @module
 */
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import type { BundleSpec, ControlName, ManifestEntry, RuntimeControlName } from "./bundle-spec.js";
import { compareUtf8 } from "./utf8-order.js";

/** Controls in the order their directives are written. */
export const CONTROL_NAMES = ["drift", "fileless", "loader", "blocklist", "allowlist"] as const satisfies readonly ControlName[];
/** Runtime controls, written after the exec controls and only when the spec names them. */
export const RUNTIME_CONTROL_NAMES = ["network", "files", "reverse-shell", "privilege"] as const satisfies readonly RuntimeControlName[];
const ALL_CONTROL_NAMES = [...CONTROL_NAMES, ...RUNTIME_CONTROL_NAMES] as const;

/** Limits shared with the C parser (enforcer/src/bundle.h). */
export const BUNDLE_MAX_LINE = 8192;
export const BUNDLE_MAX_SIZE = 64 * 1024 * 1024;

// With the u flag a surrogate pair is one code point, so this matches lone surrogates only.
const wellFormed = (s: string) => !/[\uD800-\uDFFF]/u.test(s);
const noNul = (s: string) => !s.includes("\0");

/** A string the bundle can carry: non-empty, valid Unicode, no NUL byte. */
const encodable = z
  .string()
  .min(1, "must not be empty")
  .refine(wellFormed, "is not valid Unicode (lone surrogate)")
  .refine(noNul, "must not contain a NUL character");
const absolutePath = encodable.refine((s) => s.startsWith("/"), 'must be an absolute path (start with "/")');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits (a SHA-256)");
export const controlModeSchema = z.enum(["off", "audit", "enforce"]);

export const executableListSchema = z
  .object({
    names: z.array(encodable.refine((s) => !s.includes("/"), 'must be a basename without "/"')),
    pathGlobs: z.array(absolutePath),
    sha256: z.array(hex64),
  })
  .strict();

export const manifestEntrySchema = z.object({ sha256: hex64, path: absolutePath }).strict();

export const dormancySchema = z
  .object({
    env: z.array(encodable.refine((s) => !s.startsWith("="), "must be NAME or NAME=VALUE with a non-empty NAME")),
    paths: z.array(absolutePath),
  })
  .strict();

export const controlsSchema = z
  .object({
    drift: controlModeSchema,
    fileless: controlModeSchema,
    loader: controlModeSchema,
    blocklist: controlModeSchema,
    allowlist: controlModeSchema,
    network: controlModeSchema.optional(),
    files: controlModeSchema.optional(),
    "reverse-shell": controlModeSchema.optional(),
    privilege: controlModeSchema.optional(),
  })
  .strict();

/** The 16 bytes of an address (IPv4 as IPv4-mapped IPv6), or undefined when it is not one. */
function addressBytes(text: string): number[] | undefined {
  if (isIPv4(text)) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...text.split(".").map(Number)];
  if (!isIPv6(text) || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let tail = text;
  let v4: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    v4 = text.slice(lastColon + 1).split(".").map(Number);
    tail = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = tail.includes("::") ? tail.split("::") as [string, string] : [tail, undefined];
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const words = rest === undefined ? h : [...h, ...Array<number>(8 - h.length - r.length).fill(0), ...r];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (v4.length === 4) bytes.splice(12, 4, ...v4);
  return bytes;
}

/** Why `cidr` is not a prefix the enforcer accepts, or undefined when it is. */
export function cidrProblem(cidr: string): string | undefined {
  const slash = cidr.indexOf("/");
  if (slash < 0) return "needs an address prefix ADDRESS/LENGTH (e.g. 10.0.0.0/8, 127.0.0.1/32, ::1/128)";
  const addr = cidr.slice(0, slash);
  const lenText = cidr.slice(slash + 1);
  const bytes = addressBytes(addr);
  if (!bytes) return "has no valid IPv4 or IPv6 address before \"/\"";
  const v4 = isIPv4(addr);
  const max = v4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) return `needs a prefix length 0..${max} after "/"`;
  const len = Number(lenText) + (v4 ? 96 : 0);
  for (let bit = len; bit < 128; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return "has host bits set after the prefix length (write the network address, e.g. 10.0.0.0/8)";
  }
  return undefined;
}

/** Why `ports` is not `*`, `PORT` or `LOW-HIGH` (1..65535), or undefined. */
export function portsProblem(ports: string): string | undefined {
  const bad = 'must be "*", "PORT" or "LOW-HIGH" (1..65535, no leading zeros, LOW <= HIGH)';
  if (ports === "*") return undefined;
  const m = /^([1-9][0-9]{0,4})(?:-([1-9][0-9]{0,4}))?$/.exec(ports);
  if (!m) return bad;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo > 65535 || hi > 65535 || lo > hi ? bad : undefined;
}

const portsSchema = z.string().superRefine((p, ctx) => {
  const problem = portsProblem(p);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const protocolSchema = z.enum(["tcp", "udp"], { error: 'must be "tcp" or "udp" (omit it for both)' });

export const networkSpecSchema = z
  .object({
    connect: z.array(
      z
        .object({
          action: z.enum(["allow", "audit", "block"]),
          cidr: z.string().superRefine((c, ctx) => {
            const problem = cidrProblem(c);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          }),
          ports: portsSchema,
          protocol: protocolSchema.optional(),
        })
        .strict(),
    ),
    default: z.enum(["allow", "audit", "block"]),
    listenDefault: z.enum(["allow", "audit", "block"]),
    listen: z.array(z.union([portsSchema, z.object({ ports: portsSchema, protocol: protocolSchema }).strict()])),
  })
  .strict();

export const filesSpecSchema = z.object({ readOnly: z.array(absolutePath), audited: z.array(absolutePath) }).strict();

const epochSeconds = z
  .number()
  .int("must be whole seconds")
  .positive("must be a positive number of seconds since 1970")
  .max(Number.MAX_SAFE_INTEGER, "is too large");

export const enforceAfterSchema = z
  .object({
    drift: epochSeconds.optional(),
    fileless: epochSeconds.optional(),
    loader: epochSeconds.optional(),
    blocklist: epochSeconds.optional(),
    allowlist: epochSeconds.optional(),
    network: epochSeconds.optional(),
    files: epochSeconds.optional(),
    "reverse-shell": epochSeconds.optional(),
    privilege: epochSeconds.optional(),
  })
  .strict();

const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

/** The console link; the URL rules match enforcer/src/http.c and bundle.c. */
export const consoleLinkSchema = z
  .object({
    url: z
      .string()
      .regex(/^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?(\/[\x21-\x7e]*)?$/, "must be http(s)://host[:port][/path] without user info, query or fragment")
      .refine((u) => !/[?#@]/.test(u.slice(u.indexOf("//") + 2)), "must not have user info, a query or a fragment"),
    ca: encodable
      .refine((s) => s.startsWith("/") || s.startsWith("-----BEGIN CERTIFICATE-----"), 'must be PEM text ("-----BEGIN CERTIFICATE-----...") or an absolute path')
      .optional(),
    enrolToken: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, "must be 1-200 characters of [A-Za-z0-9_-]").optional(),
    plainHttp: z.boolean().optional(),
    waitForPolicy: z
      .object({ seconds: z.number().int("must be whole seconds").min(1).max(3600), failMode: z.enum(["open", "closed"]) })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const m = /^(https?):\/\/(\[[^\]]*\]|[^/:]+)(?::(\d+))?/.exec(c.url);
    if (!m) return;
    const [, scheme, host, port] = m;
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) ctx.addIssue({ code: "custom", path: ["url"], message: "has a port outside 1-65535" });
    if (scheme === "https") {
      if (c.ca === undefined) ctx.addIssue({ code: "custom", path: ["ca"], message: "is required for https: the console's certificate is verified against a pinned CA only" });
      if (/^[0-9.]+$/.test(host!) || host!.startsWith("[")) ctx.addIssue({ code: "custom", path: ["url"], message: "must name the host by its DNS name (the certificate is checked against DNS names)" });
    } else if (c.plainHttp !== true && !LOOPBACK.test(host!)) {
      ctx.addIssue({ code: "custom", path: ["plainHttp"], message: `must be true to send events unencrypted to ${host}; prefer https with a ca` });
    }
  });

/** The zod form of {@link BundleSpec}, with the cross-field rules of the bundle format. */
export const bundleSpecSchema = z
  .object({
    failMode: z.enum(["closed", "open"]),
    activation: z.enum(["always", "serverless"]),
    dormancy: dormancySchema,
    controls: controlsSchema,
    enforceAfter: enforceAfterSchema,
    driftSource: z.enum(["manifest", "ctime"]),
    driftPathStrict: z.boolean().optional(),
    reportExecs: z.boolean(),
    blockList: executableListSchema,
    blockListAudit: executableListSchema.optional(),
    allowList: executableListSchema,
    manifest: z.array(manifestEntrySchema),
    console: consoleLinkSchema.optional(),
    network: networkSpecSchema.optional(),
    files: filesSpecSchema.optional(),
    shellNames: z.array(encodable.refine((s) => !s.includes("/"), 'must be a basename without "/"')).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const name of ALL_CONTROL_NAMES) {
      const mode = spec.controls[name] ?? "off";
      if (spec.enforceAfter[name] !== undefined && mode !== "audit") {
        ctx.addIssue({
          code: "custom",
          path: ["enforceAfter", name],
          message: `needs controls.${name} = "audit" (it is "${mode}"); enforce-after switches an audit control to enforce`,
        });
      }
    }
    const revshell = spec.controls["reverse-shell"] ?? "off";
    if (revshell !== "off" && (spec.shellNames ?? []).length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["shellNames"],
        message: `is empty but controls.reverse-shell is "${revshell}"; list the executables that count as shells or interpreters`,
      });
    }
    if (spec.driftPathStrict === true && spec.driftSource !== "manifest") {
      ctx.addIssue({
        code: "custom",
        path: ["driftPathStrict"],
        message: `needs driftSource "manifest" (it compares the executed path with the manifest's paths); it is "${spec.driftSource}"`,
      });
    }
    if (spec.controls.drift !== "off" && spec.driftSource === "manifest" && spec.manifest.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["manifest"],
        message: `is empty but controls.drift is "${spec.controls.drift}" with driftSource "manifest" (every exec would be drift); add the image's manifest or use driftSource "ctime"`,
      });
    }
    // A manifest sorted with no path twice (as `inlay embed` passes it) has nothing to compare.
    let increasing = true;
    for (let i = 1; i < spec.manifest.length && increasing; i++) increasing = spec.manifest[i - 1]!.path < spec.manifest[i]!.path;
    const seen = new Map<string, number>();
    if (!increasing) {
      spec.manifest.forEach((e, i) => {
        const first = seen.get(e.path);
        if (first !== undefined && spec.manifest[first]!.sha256 !== e.sha256) {
          ctx.addIssue({
            code: "custom",
            path: ["manifest", i, "path"],
            message: `"${e.path}" is listed again with a different sha256 (first at manifest[${first}])`,
          });
        }
        if (first === undefined) seen.set(e.path, i);
      });
    }
  });

/** A character that {@link percentEncode} changes: anything but the printable ASCII other than `%`. */
const NEEDS_PERCENT = /[^\x21-\x24\x26-\x7e]/;

/**
 * Percent-encodes one argument: every byte of its UTF-8 form below 0x21, above 0x7e, and `%`
 * itself becomes `%XX` (upper-case hex).
 */
export function percentEncode(value: string): string {
  // Most arguments (paths of executables) have nothing to encode: returned as they are, not rebuilt
  // byte by byte (that made ~1 KiB of garbage per manifest line).
  if (!NEEDS_PERCENT.test(value)) return value;
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    out += byte < 0x21 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte);
  }
  return out;
}

/** Sorted by UTF-8 bytes (the order the C side and the scanner use), duplicates removed. */
function sortedUnique(values: readonly string[]): string[] {
  const unique = [...new Set(values)];
  return unique.sort(compareUtf8);
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out || "spec";
}

/**
 * Validates a spec and returns it typed. The error names the first offending field, e.g.
 * `Cannot write bundle: manifest[2].path must be an absolute path (start with "/")`.
 * @param options.what the file named in the error (default `bundle`)
 * @throws {Error} when the spec does not fit bundle format 1 (the ZodError is the `cause`)
 */
export function validateBundleSpec(spec: unknown, options: { what?: string } = {}): BundleSpec {
  const parsed = bundleSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more problems)` : "";
    throw new Error(`Cannot write ${options.what ?? "bundle"}: ${formatIssuePath(issue.path)} ${issue.message}${more}`, { cause: parsed.error });
  }
  return parsed.data;
}

/**
 * Renders a spec as bundle bytes.
 * @param spec the policy; validated first
 * @returns the exact file content
 * @throws {Error} "Cannot write bundle: <field> <problem>" for an invalid spec, or when a line or
 *   the whole bundle exceeds the format's limits
 * @example
 * const bytes = writeBundle({ ...defaultBundleSpec(), manifest: [{ sha256, path: "/bin/sh" }] });
 */
export function writeBundle(spec: BundleSpec): Buffer {
  const s = validateBundleSpec(spec);
  const lines: DirectiveLine[] = [];
  const add = (text: string, field: string) => lines.push({ text, field });

  add("inlay-bundle 1", "version");
  add(`fail-mode ${s.failMode}`, "failMode");
  add(`activation ${s.activation}`, "activation");
  for (const env of sortedUnique(s.dormancy.env)) add(`dormant-env ${percentEncode(env)}`, "dormancy.env");
  for (const path of sortedUnique(s.dormancy.paths)) add(`dormant-path ${percentEncode(path)}`, "dormancy.paths");
  lines.push(...policyDirectives(s));
  const head = lines.splice(0);
  const exes = manifestInOrder(s.manifest);
  if (s.console) {
    const c = s.console;
    add(`console ${percentEncode(c.url)}`, "console.url");
    if (c.ca !== undefined) add(`console-ca ${percentEncode(c.ca)}`, "console.ca");
    if (c.enrolToken !== undefined) add(`enrol-token ${c.enrolToken}`, "console.enrolToken");
    if (c.plainHttp === true) add("console-plain-http on", "console.plainHttp");
    if (c.waitForPolicy) add(`wait-for-policy ${c.waitForPolicy.seconds} fail-${c.waitForPolicy.failMode}`, "console.waitForPolicy");
  }
  add("end", "end");
  // One `exe` line per executable, made as they are written rather than held: an image has tens of
  // thousands. renderDirectives goes through the lines twice (sizes, then bytes).
  const all: Iterable<DirectiveLine> = {
    *[Symbol.iterator]() {
      yield* head;
      for (const e of exes) yield { text: `exe ${e.sha256} ${percentEncode(e.path)}`, field: "manifest" };
      yield* lines;
    },
  };
  return renderDirectives(all, { what: "bundle", maxSize: BUNDLE_MAX_SIZE });
}

/**
 * The manifest's entries sorted by path in UTF-8 byte order, one per path (a validated spec lists
 * a path again only with the same digest). A manifest already in that order (as `inlay embed`
 * passes it) is used as it is, without a copy.
 */
function manifestInOrder(manifest: readonly ManifestEntry[]): readonly ManifestEntry[] {
  let ordered = true;
  for (let i = 1; i < manifest.length && ordered; i++) ordered = compareUtf8(manifest[i - 1]!.path, manifest[i]!.path) < 0;
  if (ordered) return manifest;
  const byPath = new Map<string, string>();
  for (const e of manifest) byPath.set(e.path, e.sha256);
  return sortedUnique([...byPath.keys()]).map((path) => ({ path, sha256: byPath.get(path)! }));
}

/** One directive line and the spec field it comes from (named when the line is too long). */
export interface DirectiveLine {
  text: string;
  field: string;
}

/**
 * The policy directives of a validated spec, in the order of docs/bundle-format.md: `control`,
 * `enforce-after`, `drift-source`, `report-execs`, the block and allow lists, the network, file
 * and shell lists. Shared by the bundle and the policy overlay, so both write them alike.
 */
export function policyDirectives(s: BundleSpec): DirectiveLine[] {
  const lines: DirectiveLine[] = [];
  const add = (text: string, field: string) => lines.push({ text, field });
  for (const name of CONTROL_NAMES) add(`control ${name} ${s.controls[name]}`, `controls.${name}`);
  for (const name of RUNTIME_CONTROL_NAMES) {
    const mode = s.controls[name];
    if (mode !== undefined) add(`control ${name} ${mode}`, `controls.${name}`);
  }
  for (const name of ALL_CONTROL_NAMES) {
    const at = s.enforceAfter[name];
    if (at !== undefined) add(`enforce-after ${name} ${at}`, `enforceAfter.${name}`);
  }
  add(`drift-source ${s.driftSource}`, "driftSource");
  // Written only when on, so a spec without it keeps its bytes and bundle id.
  if (s.driftPathStrict === true) add("drift-path-strict on", "driftPathStrict");
  add(`report-execs ${s.reportExecs ? "on" : "off"}`, "reportExecs");
  // Block-list entries in the control's mode have no token; `audit` entries end in " audit". One
  // line per entry, sorted by the entry (the token takes no part in the order), and an entry in
  // both lists is written once without the token: the stronger mode wins, as in the enforcer.
  const audit = s.blockListAudit ?? { names: [], pathGlobs: [], sha256: [] };
  const kinds = [
    ["name", "names", percentEncode],
    ["path", "pathGlobs", percentEncode],
    ["sha256", "sha256", (hex: string) => hex],
  ] as const;
  for (const [kind, key, encode] of kinds) {
    const plain = new Set(s.blockList[key]);
    for (const entry of sortedUnique([...s.blockList[key], ...audit[key]])) {
      const own = plain.has(entry);
      add(`block-${kind} ${encode(entry)}${own ? "" : " audit"}`, `${own ? "blockList" : "blockListAudit"}.${key}`);
    }
  }
  for (const [kind, key, encode] of kinds) {
    for (const entry of sortedUnique(s.allowList[key])) add(`allow-${kind} ${encode(entry)}`, `allowList.${key}`);
  }
  if (s.network) {
    add(`net-default ${s.network.default}`, "network.default");
    add(`net-listen-default ${s.network.listenDefault}`, "network.listenDefault");
    // The protocol is a trailing argument written only when given, so older rules keep their bytes.
    const proto = (p: string | undefined) => (p === undefined ? "" : ` ${p}`);
    const rules = sortedUnique(s.network.connect.map((r) => `net-connect ${r.action} ${r.cidr} ${r.ports}${proto(r.protocol)}`));
    for (const line of rules) add(line, "network.connect");
    const listen = sortedUnique(s.network.listen.map((l) => (typeof l === "string" ? l : `${l.ports}${proto(l.protocol)}`)));
    for (const ports of listen) add(`net-listen ${ports}`, "network.listen");
  }
  for (const path of sortedUnique(s.files?.readOnly ?? [])) add(`file-readonly ${percentEncode(path)}`, "files.readOnly");
  for (const path of sortedUnique(s.files?.audited ?? [])) add(`file-audit ${percentEncode(path)}`, "files.audited");
  for (const name of sortedUnique(s.shellNames ?? [])) add(`shell-name ${percentEncode(name)}`, "shellNames");
  return lines;
}

/**
 * Joins directive lines into the file's bytes, checking the line and size limits. `lines` is
 * iterated twice and must give the same lines both times.
 * @throws {Error} "Cannot write <what>: <field> has an entry whose line is N bytes…" or "…it would be N bytes"
 */
export function renderDirectives(lines: Iterable<DirectiveLine>, options: { what: string; maxSize: number }): Buffer {
  let size = 0;
  for (const { text, field } of lines) {
    const length = Buffer.byteLength(text, "utf8");
    if (length > BUNDLE_MAX_LINE) {
      throw new Error(
        `Cannot write ${options.what}: ${field} has an entry whose line is ${length} bytes once encoded; the limit is ${BUNDLE_MAX_LINE} (${text.slice(0, 60)}...)`,
      );
    }
    size += length + 1;
  }
  if (size > options.maxSize) {
    throw new Error(`Cannot write ${options.what}: it would be ${size} bytes; the limit is ${options.maxSize}`);
  }
  // Each line is encoded straight into the result: joining them first held the text (one line per
  // executable) twice more.
  const bytes = Buffer.alloc(size);
  let at = 0;
  for (const { text } of lines) {
    at += bytes.write(text, at, "utf8");
    bytes[at++] = 0x0a;
  }
  if (at !== size) throw new Error(`Cannot write ${options.what}: its lines came out as ${at} bytes the second time, ${size} the first`);
  return bytes;
}

/** The bundle id that events carry: `sha256:` and the lower-case hex SHA-256 of the bytes. */
export function bundleId(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
