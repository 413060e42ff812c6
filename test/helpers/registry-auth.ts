/**
 * Authentication fronts for the test registry: an htpasswd file (bcrypt, made with apache2-utils'
 * `htpasswd`) for Basic auth, and a Bearer token server on loopback whose RS256 JWTs the registry
 * trusts through a self-signed certificate made with `openssl`. The token server grants each user
 * the actions it is configured with, so tests can provoke `insufficient_scope`.
 * @module
 */
import { execFile } from "node:child_process";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

/** Writes `dir/htpasswd` with one bcrypt entry; returns the registry `auth:` YAML. */
export async function htpasswdAuth(dir: string, cred: { user: string; password: string }): Promise<string> {
  const { user, password } = cred;
  const path = join(dir, "htpasswd");
  await execFileP("htpasswd", ["-Bbc", path, user, password]);
  return ["  htpasswd:", "    realm: inlay-test", `    path: ${path}`].join("\n");
}

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  /** The registry `auth:` YAML that trusts this server. */
  readonly authYaml: string;
  /** Requests received, newest last: the scopes asked for and whether a token was issued. */
  readonly requests: { scopes: string[]; user: string | undefined; method?: string }[];
  dispose(): Promise<void>;
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString("base64url");
}

/**
 * Starts a token server. `users` maps `user:password` to the repository actions granted
 * (`{"app": ["pull","push"]}`; `"*"` matches any repository); anonymous callers get `anonymous`.
 */
export async function startTokenServer(
  dir: string,
  opts: {
    users: Record<string, Record<string, string[]>>;
    /** OAuth2 refresh tokens accepted by `POST /token` (grant_type=refresh_token), with their grants. */
    refreshTokens?: Record<string, Record<string, string[]>>;
    anonymous?: Record<string, string[]>;
    ttlSeconds?: number;
  },
): Promise<TokenServer> {
  const key = join(dir, "token.key");
  const cert = join(dir, "token.crt");
  await execFileP("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=inlay-test-token", "-days", "2"]);
  const keyPem = await readFile(key, "utf8");
  const der = new X509Certificate(await readFile(cert)).raw;
  const service = "inlay-test-registry";
  const issuer = "inlay-test-issuer";
  const requests: TokenServer["requests"] = [];
  const ttl = opts.ttlSeconds ?? 300;

  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => answer(req, res, body));
  });
  const answer = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse, body: string): void => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    let user: string | undefined;
    let grants = opts.anonymous ?? {};
    const auth = req.headers.authorization;
    if (req.method === "POST") {
      // OAuth2 form: grant_type=refresh_token, refresh_token, service, scope (space-separated).
      const form = new URLSearchParams(body);
      const g = form.get("grant_type") === "refresh_token" ? opts.refreshTokens?.[form.get("refresh_token") ?? ""] : undefined;
      if (!g) {
        requests.push({ scopes: (form.get("scope") ?? "").split(" ").filter(Boolean), user: undefined, method: "POST" });
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "bad refresh token" }));
        return;
      }
      grants = g;
      user = "refresh";
      for (const sc of (form.get("scope") ?? "").split(" ").filter(Boolean)) u.searchParams.append("scope", sc);
    } else if (auth?.startsWith("Basic ")) {
      const cred = Buffer.from(auth.slice(6), "base64").toString("utf8");
      const g = opts.users[cred];
      if (!g) {
        requests.push({ scopes: u.searchParams.getAll("scope"), user: cred.split(":")[0] });
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ details: "bad credentials" }));
        return;
      }
      user = cred.split(":")[0];
      grants = g;
    }
    const scopes = u.searchParams.getAll("scope").flatMap((s) => s.split(" "));
    requests.push({ scopes, user, method: req.method ?? "GET" });
    const access = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(":");
      if (type !== "repository" || !name || !actions) return [];
      const allowed = grants[name] ?? grants["*"] ?? [];
      const granted = actions.split(",").filter((a) => allowed.includes(a));
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: "RS256", typ: "JWT", x5c: [der.toString("base64")] };
    const claims = { iss: issuer, sub: user ?? "", aud: service, exp: now + ttl, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
    const signing = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign("RSA-SHA256").update(signing).sign(keyPem);
    const token = `${signing}.${b64url(sig)}`;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() }));
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("Cannot start the token server: no port");
  const realm = `http://127.0.0.1:${addr.port}/token`;
  return {
    realm,
    service,
    authYaml: ["  token:", `    realm: ${realm}`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${cert}`].join("\n"),
    requests,
    dispose: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
