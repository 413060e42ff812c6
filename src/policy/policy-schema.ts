/**
 * The runtime policy language (`apiVersion: inlay.dev/v1`, `kind: RuntimePolicy`) as a zod
 * schema: the executable form of docs/policy.md. Every object is strict (an unknown field is an
 * error) and every control is optional: {@link DEFAULT_SPEC} says what an omitted control means,
 * and the compiler needs to know which controls the author wrote (see `compile-policy.ts`).
 * @module
 */
import { isIP } from "node:net";
import { z } from "zod";

export const POLICY_API_VERSION = "inlay.dev/v1";
export const POLICY_KIND = "RuntimePolicy";

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/** `after` of an audit-first mode: an ISO 8601 date-time with a zone, e.g. 2026-12-31T00:00:00Z. */
const isoDateTime = z
  .string({ error: "expected an ISO 8601 date-time with a zone, e.g. \"2026-12-31T00:00:00Z\"" })
  .refine((s) => ISO_UTC.test(s) && !Number.isNaN(Date.parse(s)), {
    error: "expected an ISO 8601 date-time with a zone, e.g. \"2026-12-31T00:00:00Z\"",
  });

const enforceLater = z.union(
  [
    z.object({ after: isoDateTime }).strict(),
    z
      .object({
        afterDaysFromBuild: z
          .number({ error: "expected a whole number of days from 0 to 3650" })
          .int({ error: "expected a whole number of days from 0 to 3650" })
          .min(0, { error: "expected a whole number of days from 0 to 3650" })
          .max(3650, { error: "expected a whole number of days from 0 to 3650" }),
      })
      .strict(),
  ],
  { error: "expected {after: \"<ISO 8601 date-time>\"} or {afterDaysFromBuild: <days>}" },
);

/** A control's mode: off, audit, enforce, or audit first and enforce later. */
export const modeSchema = z.union(
  [
    z.enum(["off", "audit", "enforce"]),
    z.object({ enforce: enforceLater }).strict(),
  ],
  {
    error:
      "expected one of off, audit, enforce, {enforce: {after: \"<ISO 8601 date-time>\"}} or {enforce: {afterDaysFromBuild: <days>}}",
  },
);
export type PolicyMode = z.infer<typeof modeSchema>;

/** Modes of controls that only report (they never deny). */
const auditOnlyMode = z.enum(["off", "audit"], { error: "expected off or audit (this control only reports)" });

const basename = z
  .string({ error: "expected a file name without '/', e.g. \"nc\"" })
  .min(1, { error: "expected a non-empty file name, e.g. \"nc\"" })
  .max(255, { error: "expected a file name of at most 255 bytes" })
  .refine((s) => !s.includes("/") && !s.includes("\0") && s !== "." && s !== "..", {
    error: "expected a file name without '/' or NUL, e.g. \"nc\" (use paths for globs)",
  });

/**
 * Bytes an argument takes in the bundle once percent-encoded (docs/bundle-format.md): every byte
 * below 0x21, above 0x7e and `%` itself become three. A bundle line holds at most 8192 bytes.
 */
export function encodedLength(s: string): number {
  let n = 0;
  for (const b of Buffer.from(s, "utf8")) n += b < 0x21 || b > 0x7e || b === 0x25 ? 3 : 1;
  return n;
}
export const MAX_ENCODED = 4096;
const fitsBundle = (s: string): boolean => encodedLength(s) <= MAX_ENCODED;
const TOO_LONG = { error: `expected at most ${MAX_ENCODED} bytes once percent-encoded for the bundle` };

const absoluteGlob = z
  .string({ error: "expected an absolute path or glob starting with '/', e.g. \"/tmp/*\"" })
  .refine((s) => s.startsWith("/") && !s.includes("\0"), {
    error: "expected an absolute path or glob starting with '/', e.g. \"/tmp/*\"",
  })
  .refine(fitsBundle, TOO_LONG);

const absolutePath = z
  .string({ error: "expected an absolute path starting with '/', e.g. \"/run/inlay-host.sock\"" })
  .refine((s) => s.startsWith("/") && !s.includes("\0"), {
    error: "expected an absolute path starting with '/', e.g. \"/run/inlay-host.sock\"",
  })
  .refine(fitsBundle, TOO_LONG);

const sha256 = z
  .string({ error: "expected 64 lower-case hex digits (a SHA-256 of the file's content)" })
  .regex(/^[0-9a-f]{64}$/, { error: "expected 64 lower-case hex digits (a SHA-256 of the file's content)" });

const envSignal = z
  .string({ error: "expected NAME or NAME=VALUE, e.g. \"INLAY_HOST_ENFORCER\"" })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(=.*)?$/s, { error: "expected NAME or NAME=VALUE, e.g. \"INLAY_HOST_ENFORCER\"" })
  .refine((s) => !s.includes("\0"), { error: "expected no NUL byte" })
  .refine(fitsBundle, TOO_LONG);

const port = z
  .number({ error: "expected a port number from 1 to 65535" })
  .int({ error: "expected a port number from 1 to 65535" })
  .min(1, { error: "expected a port number from 1 to 65535" })
  .max(65535, { error: "expected a port number from 1 to 65535" });

/** A port or an inclusive range "LOW-HIGH". */
const portOrRange = z.union([
  port,
  z.string().refine(
    (s) => {
      const m = /^(\d{1,5})-(\d{1,5})$/.exec(s);
      if (!m) return false;
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      return lo >= 1 && hi <= 65535 && lo <= hi;
    },
    { error: "expected a port range \"LOW-HIGH\" with 1 <= LOW <= HIGH <= 65535" },
  ),
], { error: "expected a port number from 1 to 65535 or a range \"LOW-HIGH\"" });

/** `true` when s is an IPv4 or IPv6 CIDR with a prefix that fits the family and no host bits set. */
export function isCidr(s: string): boolean {
  const slash = s.lastIndexOf("/");
  if (slash < 0) return false;
  const addr = s.slice(0, slash);
  const prefixText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return false;
  const family = isIP(addr);
  const prefix = Number(prefixText);
  return (family === 4 && prefix <= 32) || (family === 6 && prefix <= 128);
}

const cidr = z
  .string({ error: "expected a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\"" })
  .refine(isCidr, { error: "expected a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\" (address/prefix)" });

const executableList = {
  names: z.array(basename).optional(),
  paths: z.array(absoluteGlob).optional(),
  sha256: z.array(sha256).optional(),
};

const protocol = z.enum(["tcp", "udp", "any"], { error: "expected tcp, udp or any" });

const networkRule = z
  .object({
    cidr,
    ports: z.array(portOrRange).optional(),
    protocol: protocol.optional(),
    comment: z.string().optional(),
  })
  .strict();

/** A listen port: a port, a range, or `{ports, protocol}` to allow it for TCP or UDP only. */
const listenPort = z.union(
  [
    portOrRange,
    z
      .object({
        ports: z.array(portOrRange).min(1, { error: "expected at least one port or range" }),
        protocol,
        comment: z.string().optional(),
      })
      .strict(),
  ],
  { error: "expected a port number from 1 to 65535, a range \"LOW-HIGH\", or {ports: [...], protocol: tcp|udp|any}" },
);

const specSchema = z
  .object({
    failMode: z.enum(["closed", "open"], { error: "expected closed (refuse to start without protection) or open" }).optional(),
    activation: z
      .object({
        mode: z.enum(["always", "serverless"], { error: "expected always or serverless" }).optional(),
        dormantWhen: z
          .object({ env: z.array(envSignal).optional(), paths: z.array(absolutePath).optional() })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    reportExecs: z.boolean({ error: "expected true or false" }).optional(),
    executables: z
      .object({
        drift: z
          .object({
            mode: modeSchema,
            source: z
              .enum(["manifest", "manifest-free"], {
                error: "expected manifest (content listed at build time) or manifest-free (changed after start)",
              })
              .optional(),
            pathStrict: z.boolean({ error: "expected true or false" }).optional(),
          })
          .strict()
          .optional(),
        fileless: z.object({ mode: modeSchema }).strict().optional(),
        loader: z.object({ mode: modeSchema }).strict().optional(),
        allow: z.object({ mode: modeSchema, ...executableList }).strict().optional(),
        block: z.object({ mode: modeSchema, ...executableList }).strict().optional(),
      })
      .strict()
      .optional(),
    reverseShell: z
      .object({ mode: modeSchema, interpreters: z.array(basename).optional() })
      .strict()
      .optional(),
    miners: z
      .object({
        mode: modeSchema,
        shippedList: z.boolean({ error: "expected true or false" }).optional(),
        names: z.array(basename).optional(),
        sha256: z.array(sha256).optional(),
        stratum: z.object({ mode: modeSchema, ports: z.array(portOrRange).optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    network: z
      .object({
        outbound: z
          .object({
            mode: modeSchema,
            default: z.enum(["audit", "block"], { error: "expected audit or block" }).optional(),
            allow: z.array(networkRule).optional(),
            block: z.array(networkRule).optional(),
          })
          .strict()
          .optional(),
        listen: z
          .object({
            mode: modeSchema,
            default: z.enum(["audit", "block"], { error: "expected audit or block" }).optional(),
            allowPorts: z.array(listenPort).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    files: z
      .object({
        readOnly: z.object({ mode: modeSchema, paths: z.array(absoluteGlob).optional() }).strict().optional(),
        audited: z.object({ mode: auditOnlyMode, paths: z.array(absoluteGlob).optional() }).strict().optional(),
      })
      .strict()
      .optional(),
    packageManagers: z.object({ mode: modeSchema, except: z.array(basename).optional() }).strict().optional(),
    privilege: z.object({ mode: auditOnlyMode }).strict().optional(),
  })
  .strict();

/** A whole policy document. */
export const policySchema = z
  .object({
    apiVersion: z.literal(POLICY_API_VERSION, { error: `expected "${POLICY_API_VERSION}"` }),
    kind: z.literal(POLICY_KIND, { error: `expected "${POLICY_KIND}"` }),
    metadata: z
      .object({
        name: z
          .string({ error: "expected a name of letters, digits, '.', '_' or '-' (at most 128)" })
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
            error: "expected a name of letters, digits, '.', '_' or '-' (at most 128)",
          }),
        description: z.string({ error: "expected a string" }).optional(),
      })
      .strict(),
    spec: specSchema,
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type PolicySpec = Policy["spec"];
export type NetworkRule = z.infer<typeof networkRule>;
export type ListenPort = z.infer<typeof listenPort>;
