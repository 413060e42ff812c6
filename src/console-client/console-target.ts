/**
 * Where the console is and how to prove who we are: the URL, the API token and an optional CA,
 * from flags and environment. The token never comes from a flag (it would show in `ps`).
 * @module
 */
import { X509Certificate } from "node:crypto";
import { readBounded } from "../files/read-bounded.js";

/** An API token is one short line; a header this long is refused by servers anyway. */
const MAX_TOKEN_FILE_BYTES = 4096;
/** Room for a large CA bundle (the system's is about 200 KiB). */
const MAX_CA_FILE_BYTES = 1024 * 1024;

/** A console to call: base URL (no trailing slash), bearer API token, and a PEM CA to pin for https. */
export interface ConsoleTarget {
  url: string;
  token: string;
  ca?: Buffer;
}

/** Raised when the target cannot be resolved; `what` says whether the user must fix a setting or a file. */
export class ConsoleTargetError extends Error {
  readonly what: "usage" | "file";
  constructor(message: string, what: "usage" | "file", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConsoleTargetError";
    this.what = what;
  }
}

/** Flags as commander gives them. */
export interface TargetFlags {
  console?: string;
  tokenFile?: string;
  ca?: string;
}

/** True for names and addresses that cannot leave this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Resolves the console target from `flags` and `env` (INLAY_CONSOLE_URL, INLAY_API_TOKEN).
 * Plain http is refused unless the host is loopback: the token would travel in clear.
 */
export async function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv = process.env): Promise<ConsoleTarget> {
  const raw = flags.console ?? env.INLAY_CONSOLE_URL ?? "";
  if (raw === "") throw new ConsoleTargetError("Cannot find the console: pass --console URL or set INLAY_CONSOLE_URL (e.g. https://console.example:8443)", "usage");
  let u: URL;
  try {
    u = new URL(raw);
  } catch (err) {
    throw new ConsoleTargetError(`Cannot use console URL ${JSON.stringify(raw)}: not a URL (expected https://host[:port])`, "usage", { cause: err });
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw new ConsoleTargetError(`Cannot use console URL ${raw}: the scheme must be https (or http to loopback)`, "usage");
  if (u.protocol === "http:" && !isLoopbackHost(u.hostname)) {
    throw new ConsoleTargetError(`Refusing plain http to ${u.host}: the API token would travel in clear; use https:// (and --ca FILE for a private CA)`, "usage");
  }
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") throw new ConsoleTargetError(`Cannot use console URL ${raw}: give only scheme, host, port and an optional path prefix`, "usage");
  const url = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;

  let token: string;
  if (flags.tokenFile !== undefined) {
    try {
      token = (await readBounded(flags.tokenFile, MAX_TOKEN_FILE_BYTES)).toString("utf8").trim();
    } catch (err) {
      throw new ConsoleTargetError(`Cannot read the API token file ${flags.tokenFile}: ${(err as Error).message}`, "file", { cause: err });
    }
    if (token === "") throw new ConsoleTargetError(`Cannot use the API token file ${flags.tokenFile}: it is empty`, "usage");
  } else {
    token = (env.INLAY_API_TOKEN ?? "").trim();
    if (token === "") throw new ConsoleTargetError("Cannot call the console without an API token: set INLAY_API_TOKEN or pass --token-file FILE (create one in the console or with POST /api/v1/tokens)", "usage");
  }
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConsoleTargetError("Cannot use the API token: it must be one word of printable ASCII", "usage");

  let ca: Buffer | undefined;
  if (flags.ca !== undefined) {
    if (u.protocol !== "https:") throw new ConsoleTargetError(`Cannot use --ca with ${url}: a CA only applies to https`, "usage");
    try {
      ca = await readBounded(flags.ca, MAX_CA_FILE_BYTES);
    } catch (err) {
      throw new ConsoleTargetError(`Cannot read the console CA ${flags.ca}: ${(err as Error).message}`, "file", { cause: err });
    }
    const bad = caProblem(ca);
    if (bad !== undefined) throw new ConsoleTargetError(`Cannot use the console CA ${flags.ca}: ${bad}`, "usage");
  }
  return { url, token, ca };
}


/**
 * What is wrong with a CA file, if anything: every PEM certificate block in it must parse. TLS
 * itself skips a broken block without a word, so a truncated or mangled CA would otherwise show up
 * only later as "self-signed certificate", far from its cause.
 */
function caProblem(pem: Buffer): string | undefined {
  const text = pem.toString("latin1");
  const begins = text.split("-----BEGIN CERTIFICATE-----").length - 1;
  if (begins === 0) return "no PEM certificate in it";
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length !== begins) return `${begins - blocks.length} of its ${begins} certificates has no matching END line (a cut-off or mangled file?)`;
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      return `certificate ${i + 1} of ${blocks.length} is not a valid PEM certificate (${(err as Error).message})`;
    }
  }
  return undefined;
}
