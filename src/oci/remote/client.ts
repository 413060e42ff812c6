/**
 * HTTP transport for the distribution API v2: scheme choice (plain HTTP only for loopback or when
 * asked), Basic and Bearer challenges with per-scope tokens, refresh on `insufficient_scope` and on
 * expiry, and retries with backoff on 408/429/5xx for requests whose body can be replayed.
 * @module
 */
import { Agent as HttpAgent, get as httpGet, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, get as httpsGet, request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import { Readable } from "node:stream";
import { z } from "zod";
import { readBounded, TooLargeError } from "../../files/read-bounded.js";
import { RegistryAuthError, RegistryResponseError } from "../errors.js";
import type { Credential, CredentialLookup } from "./credentials.js";
import { apiHost, isLoopbackHost } from "./reference.js";
import { authAdvice } from "./registry-hosts.js";

export interface ClientOptions {
  /** Allow plain HTTP to a non-loopback host. */
  insecure?: boolean;
  credentials?: CredentialLookup;
  /** Attempts for retryable failures (default 4). */
  attempts?: number;
  /** First backoff delay in ms (default 200, doubled each time). */
  backoffMs?: number;
  /**
   * `http[s]://host[:port]` that serves this registry's API instead of the registry's own host (a
   * mirror, a proxy, a test double). The registry name still selects the credentials, which are
   * therefore sent to this endpoint. Plain HTTP only to loopback or with `insecure`.
   */
  endpoint?: string;
}

/**
 * Checks an endpoint override and returns its origin.
 * @throws TypeError naming what is wrong
 */
export function endpointOrigin(registry: string, endpoint: string, opts: { insecure?: boolean } = {}): string {
  const bad = (why: string): TypeError => new TypeError(`Cannot use ${JSON.stringify(endpoint)} as the endpoint of registry ${registry}: ${why}`);
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw bad("not a URL (expected http[s]://HOST[:PORT])");
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") throw bad(`scheme ${u.protocol} (expected http or https)`);
  if (u.username || u.password) throw bad("it carries credentials (they come from the credential files)");
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) throw bad("it has a path, query or fragment (give only http[s]://HOST[:PORT])");
  if (u.protocol === "http:" && opts.insecure !== true && !isLoopbackHost(u.host)) {
    throw bad(`plain HTTP to a host that is not loopback (allow it with --insecure-registry ${registry})`);
  }
  return u.origin;
}

export interface RequestOptions {
  method?: string;
  /** Token scopes this request needs, e.g. `repository:app:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  /** A body small enough to keep for retries (streamed bodies go through `upload`). */
  body?: Buffer;
  /** Statuses the caller handles itself (others throw). */
  accept?: number[];
}

interface Challenge {
  scheme: "basic" | "bearer";
  params: Record<string, string>;
}

interface Token {
  value: string;
  scopes: Set<string>;
  expiresAt: number;
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const IDLE_TIMEOUT_MS = 300_000;

/** Scopes to ask a token for, and how many times a 401 was already retried. */
interface AuthState {
  scopes: string[];
  retries: number;
}

/** Largest token server answer read (real ones are a few KiB of JWT). */
const MAX_TOKEN_BYTES = 1024 * 1024;

/** A token server's answer (distribution token spec; OAuth2 servers say `access_token`). */
const tokenAnswer = z.looseObject({
  token: z.string().optional().catch(undefined),
  access_token: z.string().optional().catch(undefined),
  expires_in: z.number().optional().catch(undefined),
});

/** How much of an error answer's body is kept for messages. */
const ERROR_TEXT_BYTES = 4096;

/**
 * The start of an error answer's body, for messages. Reading stops there and the rest is
 * discarded with the connection: a hostile registry could send an endless body.
 */
async function bodyText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of res) {
      chunks.push(chunk as Buffer);
      n += (chunk as Buffer).length;
      if (n >= ERROR_TEXT_BYTES) break; // leaving the loop destroys `res`
    }
  } catch {
    /* the message is only decoration */
  }
  return Buffer.concat(chunks).toString("utf8", 0, Math.min(n, ERROR_TEXT_BYTES));
}

/** {@link bodyText} for a fetch answer. */
export async function responseText(res: Response): Promise<string> {
  if (!res.body) return "";
  const chunks: Buffer[] = [];
  let n = 0;
  const reader = res.body.getReader();
  try {
    while (n < ERROR_TEXT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
      n += value.length;
    }
  } catch {
    /* the message is only decoration */
  }
  await reader.cancel().catch(() => undefined);
  return Buffer.concat(chunks).toString("utf8", 0, Math.min(n, ERROR_TEXT_BYTES));
}

/** Parses `WWW-Authenticate: Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "basic" && scheme !== "bearer") return undefined;
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (const p of m[2]!.matchAll(re)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
  return { scheme, params };
}

/** One registry host. Holds its tokens; safe to share between a source and a sink. */
export class RegistryClient {
  readonly registry: string;
  readonly baseUrl: string;
  readonly #opts: ClientOptions;
  #challenge: Challenge | undefined;
  #credential: Credential | undefined;
  #credentialLoaded = false;
  #tokens: Token[] = [];
  #httpAgent: HttpAgent | undefined;
  #httpsAgent: HttpsAgent | undefined;

  constructor(registry: string, opts: ClientOptions = {}) {
    this.registry = registry;
    if (opts.endpoint !== undefined) {
      this.baseUrl = endpointOrigin(registry, opts.endpoint, opts.insecure === undefined ? {} : { insecure: opts.insecure });
    } else {
      const host = apiHost(registry);
      const plain = opts.insecure === true || isLoopbackHost(host);
      this.baseUrl = `${plain ? "http" : "https"}://${host}`;
    }
    this.#opts = opts;
  }

  /** Where credentials came from, for messages. */
  get credentialSource(): string {
    return this.#credential?.source ?? "none (anonymous)";
  }

  async #loadCredential(): Promise<Credential | undefined> {
    if (!this.#credentialLoaded) {
      this.#credential = this.#opts.credentials ? await this.#opts.credentials(this.registry) : undefined;
      this.#credentialLoaded = true;
    }
    return this.#credential;
  }

  /** The registry's name, and the endpoint serving it when that was overridden. */
  get label(): string {
    return this.#opts.endpoint !== undefined ? `${this.registry} (endpoint ${this.baseUrl})` : this.registry;
  }

  #authError(what: string, detail: string): RegistryAuthError {
    return new RegistryAuthError(
      `Cannot authenticate to registry ${this.label} for ${what}: ${detail} (credential source: ${this.credentialSource}); ${authAdvice(this.registry)}`,
      this.registry,
      this.credentialSource,
    );
  }

  #tokenFor(scopes: string[]): Token | undefined {
    const now = Date.now();
    this.#tokens = this.#tokens.filter((t) => t.expiresAt > now);
    return this.#tokens.find((t) => scopes.every((s) => t.scopes.has(s)));
  }

  async #fetchToken(scopes: string[], what: string): Promise<Token> {
    const ch = this.#challenge!;
    const realm = ch.params.realm;
    if (!realm) throw this.#authError(what, "the Bearer challenge has no realm");
    let url: URL | undefined;
    try {
      url = new URL(realm);
    } catch {
      /* reported just below */
    }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw this.#authError(what, `the Bearer challenge's realm ${JSON.stringify(realm.slice(0, 200))} is not an http(s) URL`);
    }
    const cred = await this.#loadCredential();
    // A challenge names the token server, so an HTTPS registry (or whoever answers for it) could
    // send the credential to a plain-HTTP host; only loopback or an explicitly insecure registry
    // may take it in clear.
    const secret = cred !== undefined && (cred.refreshToken !== undefined || cred.username !== undefined);
    if (secret && url.protocol === "http:" && !isLoopbackHost(url.host) && this.#opts.insecure !== true) {
      throw this.#authError(what, `its token server ${url.origin} is plain HTTP, where the credential would travel in clear; refused (pass --insecure-registry ${this.registry} if that is intended)`);
    }
    // Whatever the token server does (refuse the connection, break off, answer garbage or an
    // endless body) is a registry error naming it, never a crash or an unbounded read.
    const origin = url.origin;
    const failed = (why: string, err?: unknown): RegistryResponseError =>
      new RegistryResponseError(`Cannot get a token from ${origin} for registry ${this.label} (${what}): ${why}`, 0, err === undefined ? undefined : { cause: err });
    let res: Response;
    try {
      if (cred?.refreshToken) {
        // OAuth2 refresh-token grant, as identity tokens and credential helpers' "<token>" require.
        const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: cred.refreshToken, client_id: "inlay", service: ch.params.service ?? "" });
        if (scopes.length) form.set("scope", scopes.join(" "));
        res = await fetch(url, { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded" } });
      } else {
        if (ch.params.service) url.searchParams.set("service", ch.params.service);
        for (const s of scopes) url.searchParams.append("scope", s);
        const headers: Record<string, string> = {};
        if (cred?.username !== undefined) headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ""}`).toString("base64")}`;
        res = await fetch(url, { headers });
      }
    } catch (err) {
      throw failed((err as Error).cause ? String((err as Error).cause) : (err as Error).message, err);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw this.#authError(what, `the token server ${url.origin} answered ${res.status}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryResponseError(`Cannot get a token from ${url.origin} for registry ${this.label}: HTTP ${res.status}`, res.status);
    }
    let body: Buffer;
    try {
      body = res.body ? await readBounded(res.body as unknown as AsyncIterable<Uint8Array>, MAX_TOKEN_BYTES) : Buffer.alloc(0);
    } catch (err) {
      await res.body?.cancel().catch(() => undefined);
      throw failed(err instanceof TooLargeError ? `its answer is more than ${err.limit} bytes` : `its answer broke off (${(err as Error).message})`, err);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw failed(`its answer is not JSON (${JSON.stringify(body.toString("utf8", 0, 100))})`, err);
    }
    const doc = tokenAnswer.safeParse(parsed);
    const value = doc.success ? (doc.data.token ?? doc.data.access_token) : undefined;
    if (!doc.success || !value) throw this.#authError(what, `the token server ${url.origin} returned no token`);
    // Tokens default to 60 s (distribution token spec); renew 10 s early so a long upload starts with a valid one.
    const life = doc.data.expires_in !== undefined && doc.data.expires_in > 0 ? doc.data.expires_in : 60;
    const token = { value, scopes: new Set(scopes), expiresAt: Date.now() + Math.max(1, life - 10) * 1000 };
    this.#tokens.push(token);
    return token;
  }

  async #authorization(scopes: string[], what: string): Promise<string | undefined> {
    const ch = this.#challenge;
    if (!ch) return undefined;
    if (ch.scheme === "basic") {
      const cred = await this.#loadCredential();
      if (!cred || cred.username === undefined) throw this.#authError(what, "it requires Basic credentials and none were found");
      return `Basic ${Buffer.from(`${cred.username}:${cred.password ?? ""}`).toString("base64")}`;
    }
    const t = this.#tokenFor(scopes) ?? (await this.#fetchToken(scopes, what));
    return `Bearer ${t.value}`;
  }

  /**
   * Sends one API request (path relative to the registry root, e.g. `/v2/app/manifests/1`) and
   * returns the response; statuses outside 2xx/3xx and `accept` throw with the registry's error text.
   */
  async request(path: string, opts: RequestOptions): Promise<Response> {
    const method = opts.method ?? "GET";
    const url = path.startsWith("http://") || path.startsWith("https://") ? path : `${this.baseUrl}${path}`;
    const what = `${method} ${new URL(url).pathname}`;
    const attempts = this.#opts.attempts ?? 4;
    let auth: AuthState = { scopes: [...opts.scopes], retries: 0 };
    let backoff = this.#opts.backoffMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { ...opts.headers };
      const authz = await this.#authorization(auth.scopes, what);
      if (authz) headers.authorization = authz;
      let res: Response;
      try {
        // fetch cannot replay a Buffer body on a 307/308 (it fails with "detached ArrayBuffer"),
        // so a redirected write is reported below instead of being retried as a network failure.
        const init: RequestInit = { method, headers, redirect: opts.body ? "manual" : "follow" };
        if (opts.body) init.body = opts.body as unknown as BodyInit;
        res = await fetch(url, init);
      } catch (err) {
        if (attempt < attempts) {
          await sleep(backoff);
          backoff *= 2;
          continue;
        }
        throw new RegistryResponseError(`Cannot reach registry ${this.label} (${what}): ${(err as Error).cause ? String((err as Error).cause) : (err as Error).message}`, 0, { cause: err });
      }
      if (opts.body && REDIRECTS.has(res.status)) {
        await res.body?.cancel();
        throw new RegistryResponseError(`Cannot ${what} on registry ${this.label}: it answered with a redirect (HTTP ${res.status}), which a ${method} with a body does not follow`, res.status);
      }
      if (res.status === 401) {
        const text = await responseText(res);
        auth = await this.#unauthorized(res.headers.get("www-authenticate") ?? "", text, auth, { what, replayable: true });
        continue;
      }
      if (RETRYABLE.has(res.status) && attempt < attempts) {
        await res.body?.cancel();
        const ra = Number(res.headers.get("retry-after"));
        await sleep(Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 10_000) : backoff);
        backoff *= 2;
        continue;
      }
      if (res.ok || opts.accept?.includes(res.status)) return res;
      throw this.#answerError(what, { method, status: res.status, text: await responseText(res) });
    }
  }

  /** The error for a final answer that is neither 2xx nor accepted (the same for fetch and blob reads). */
  #answerError(what: string, answer: { method: string; status: number; text: string }): Error {
    const { method, status, text } = answer;
    if (status === 403) {
      const why = registryErrorText(text);
      return this.#authError(what, `access denied (HTTP 403${why ? `: ${why}` : method === "HEAD" ? "; a HEAD answer carries no reason" : ""})`);
    }
    return new RegistryResponseError(`Cannot ${what} on registry ${this.label}: HTTP ${status} ${registryErrorText(text)}`, status);
  }

  /**
   * Handles a 401 answer: learns the challenge and returns the state to retry with, or throws when
   * retrying cannot help. One retry after learning the challenge and one more after an
   * `insufficient_scope` answer; a token server that keeps refusing must not loop forever.
   */
  async #unauthorized(header: string, text: string, auth: AuthState, req: { what: string; replayable: boolean }): Promise<AuthState> {
    const { what, replayable } = req;
    const ch = parseChallenge(header);
    if (!ch) throw this.#authError(what, `HTTP 401 without a usable WWW-Authenticate challenge${text ? `: ${text.trim().slice(0, 200)}` : ""}`);
    const firstChallenge = this.#challenge === undefined;
    const insufficient = ch.params.error === "insufficient_scope";
    let scopes = auth.scopes;
    if (ch.scheme === "bearer" && ch.params.scope) scopes = [...new Set([...scopes, ...ch.params.scope.split(" ")])];
    if (ch.scheme === "bearer") this.#tokens = this.#tokens.filter((t) => !scopes.every((s) => t.scopes.has(s)));
    this.#challenge = ch;
    if (replayable && auth.retries < 2 && (firstChallenge || insufficient || auth.retries === 0)) {
      return { scopes, retries: auth.retries + 1 };
    }
    const cred = await this.#loadCredential();
    if (insufficient) {
      // Token registries (Docker Hub among them) answer this both for a repository that does
      // not exist and for one the credentials may not use: say both.
      throw this.#authError(what, `the token grants no ${ch.params.scope ?? scopes.join(" ")} (HTTP 401 insufficient_scope): the repository does not exist, or ${cred ? "these credentials may not use it" : "it needs credentials and none were found"}`);
    }
    const detail = ch.params.error ? ` (${ch.params.error}${ch.params.scope ? ` for ${ch.params.scope}` : ""})` : "";
    throw this.#authError(what, cred ? `the registry rejected the credentials (HTTP 401${detail})` : `the registry requires credentials and none were found (HTTP 401${detail})`);
  }

  /**
   * GETs a large body (a blob) with `node:http`/`node:https` instead of fetch: the same
   * authentication, retries and error answers as {@link request}, but the body is a plain Node
   * stream (fetch's Web-stream body cost about 0.3 s of CPU and 20 MiB of peak RSS per 522 MiB,
   * docs/benchmarks.md). Redirects are followed as fetch follows them (registries send blob reads
   * to storage): at most 20, and the Authorization header goes to the registry's own origin only.
   * Returns the final answer when it is 2xx or in `accept`; read or destroy its body.
   */
  async download(path: string, opts: { scopes: string[]; accept?: number[] }): Promise<{ status: number; body: IncomingMessage }> {
    const url = `${this.baseUrl}${path}`;
    const what = `GET ${path}`;
    const attempts = this.#opts.attempts ?? 4;
    let auth: AuthState = { scopes: [...opts.scopes], retries: 0 };
    let backoff = this.#opts.backoffMs ?? 200;
    for (let attempt = 1; ; attempt++) {
      const authz = await this.#authorization(auth.scopes, what);
      let res: IncomingMessage;
      try {
        res = await this.#get(new URL(url), authz, 0);
      } catch (err) {
        if (attempt < attempts) {
          await sleep(backoff);
          backoff *= 2;
          continue;
        }
        throw new RegistryResponseError(`Cannot reach registry ${this.label} (${what}): ${(err as Error).message}`, 0, { cause: err });
      }
      const status = res.statusCode ?? 0;
      if (status === 401) {
        const text = await bodyText(res);
        auth = await this.#unauthorized(String(res.headers["www-authenticate"] ?? ""), text, auth, { what, replayable: true });
        continue;
      }
      if (RETRYABLE.has(status) && attempt < attempts) {
        res.resume();
        const ra = Number(res.headers["retry-after"]);
        await sleep(Number.isFinite(ra) && ra > 0 ? Math.min(ra * 1000, 10_000) : backoff);
        backoff *= 2;
        continue;
      }
      if ((status >= 200 && status < 300) || opts.accept?.includes(status)) return { status, body: res };
      throw this.#answerError(what, { method: "GET", status, text: await bodyText(res) });
    }
  }

  /**
   * PUTs a streamed body (a blob upload) with `node:http`/`node:https`: sent once, never retried or
   * redirected (it cannot be replayed), with the authentication of {@link request}; a redirect or
   * a 401 answer fails it. `url` must be the registry's own (see {@link resolveLocation}). Resolves
   * with the status of a 2xx answer or one in `accept`; any other answer throws with the registry's
   * error text. fetch with a Web-stream body cost noticeably more CPU per uploaded byte.
   */
  async upload(url: string, opts: { scopes: string[]; headers: Record<string, string>; body: Readable; accept?: number[] }): Promise<number> {
    const u = new URL(url);
    const what = `PUT ${u.pathname}`;
    const headers: Record<string, string> = { ...opts.headers };
    const authz = await this.#authorization(opts.scopes, what);
    if (authz) headers.authorization = authz;
    const secure = u.protocol === "https:";
    const send = secure ? httpsRequest : httpRequest;
    const agent = secure ? (this.#httpsAgent ??= new HttpsAgent({ keepAlive: true })) : (this.#httpAgent ??= new HttpAgent({ keepAlive: true }));
    const body = opts.body;
    let res: IncomingMessage;
    try {
      res = await new Promise<IncomingMessage>((resolve, reject) => {
        // A success answered before the whole body was sent is not one: the rest of the body
        // would be left unread (stalling whatever feeds it) and the registry cannot have checked
        // the digest. Wait until the body is sent, or fail when the connection ends first.
        let answer: IncomingMessage | undefined;
        let sent = false;
        const settle = (): void => {
          if (!answer) return;
          const status = answer.statusCode ?? 0;
          if (sent || status < 200 || status >= 300) resolve(answer);
        };
        const req = send(u, { method: "PUT", agent, headers }, (r) => {
          answer = r;
          settle();
        });
        req.on("finish", () => {
          sent = true;
          settle();
        });
        req.on("close", () => {
          if (!sent && answer) reject(new Error(`it answered HTTP ${answer.statusCode} before receiving the whole body, then closed the connection`));
        });
        req.on("error", reject);
        req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no progress with ${u.origin} for ${IDLE_TIMEOUT_MS / 1000} s`)));
        // A failing body (a digest check, the source's network) aborts the request: a registry
        // must never commit a partial blob, and it cannot, since the digest is checked at the end.
        body.once("error", (err) => req.destroy(err));
        body.pipe(req);
      });
    } catch (err) {
      body.destroy();
      throw new RegistryResponseError(`Cannot reach registry ${this.label} (${what}): ${(err as Error).message}`, 0, { cause: err });
    }
    const status = res.statusCode ?? 0;
    if ((status >= 200 && status < 300) || opts.accept?.includes(status)) {
      res.resume();
      return status;
    }
    const text = await bodyText(res);
    if (status === 401) {
      await this.#unauthorized(String(res.headers["www-authenticate"] ?? ""), text, { scopes: [...opts.scopes], retries: 2 }, { what, replayable: false });
    }
    if (REDIRECTS.has(status)) {
      throw new RegistryResponseError(`Cannot ${what} on registry ${this.label}: it answered with a redirect (HTTP ${status}), which a streamed upload cannot follow`, status);
    }
    throw this.#answerError(what, { method: "PUT", status, text });
  }

  /** One GET, following redirects; resolves with the first answer that is not a redirect. */
  #get(url: URL, authz: string | undefined, hops: number): Promise<IncomingMessage> {
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") return Promise.reject(new Error(`cannot follow a redirect to ${url.protocol} URL ${url.origin}`));
    const send = secure ? httpsGet : httpGet;
    const agent = secure ? (this.#httpsAgent ??= new HttpsAgent({ keepAlive: true })) : (this.#httpAgent ??= new HttpAgent({ keepAlive: true }));
    return new Promise((resolve, reject) => {
      const req = send(url, { agent, headers: authz ? { authorization: authz } : {} }, (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (!REDIRECTS.has(status) || !location) return resolve(res);
        res.resume();
        if (hops >= MAX_REDIRECTS) return reject(new Error(`more than ${MAX_REDIRECTS} redirects`));
        let next: URL;
        try {
          next = new URL(location, url);
        } catch (err) {
          return reject(new Error(`redirect to an invalid location ${JSON.stringify(location.slice(0, 200))}`, { cause: err }));
        }
        // Credentials stay with the origin they were issued for (storage URLs carry their own).
        resolve(this.#get(next, next.origin === url.origin ? authz : undefined, hops + 1));
      });
      req.on("error", reject);
      // Inactivity limit, like fetch's 300 s header and body timeouts: a stalled registry fails the read.
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no data from ${url.origin} for ${IDLE_TIMEOUT_MS / 1000} s`)));
    });
  }

  /** Resolves a `Location` header against the request URL; only the registry's own origin is followed. */
  resolveLocation(location: string, what: string): string {
    let u: URL;
    try {
      u = new URL(location, this.baseUrl);
    } catch (err) {
      throw new RegistryResponseError(`Cannot follow the upload location of registry ${this.registry} for ${what}: ${JSON.stringify(location.slice(0, 200))} is not a URL`, 0, { cause: err });
    }
    const base = new URL(this.baseUrl);
    if (u.origin !== base.origin) {
      throw new RegistryResponseError(`Cannot follow the upload location of registry ${this.registry} for ${what}: it points to another origin (${u.origin})`, 0);
    }
    return u.toString();
  }
}

/** The `errors[].code: message` of a distribution error body, or its first 200 characters. */
export function registryErrorText(body: string): string {
  try {
    const doc = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(doc.errors) && doc.errors.length) return doc.errors.map((e) => `${e.code ?? "?"}: ${e.message ?? ""}`).join("; ");
  } catch {
    /* not JSON */
  }
  return body.trim().slice(0, 200);
}
