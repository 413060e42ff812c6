/**
 * Registry credentials from the files container tools share: `REGISTRY_AUTH_FILE` (containers
 * auth.json), then `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`). Within a docker
 * config the order is `credHelpers[host]` > `credsStore` > `auths[host]`; helpers are run as
 * `docker-credential-<name> get` with the server on stdin. Keys match as docker reads them
 * (scheme and path ignored, `https://h/v1/` is `h`), and Docker Hub's names (`docker.io`,
 * `index.docker.io`, `registry-1.docker.io`, the legacy key `https://index.docker.io/v1/`) are one.
 * @module
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { isDockerHub } from "./reference.js";

/** A credential and where it was found (named in auth errors). */
export interface Credential {
  username?: string;
  password?: string;
  /** OAuth2 refresh token (a helper's `Username == "<token>"`, or `identitytoken`). */
  refreshToken?: string;
  source: string;
}

/** Looks up the credential for a registry host; `undefined` means anonymous. */
export type CredentialLookup = (registry: string) => Promise<Credential | undefined>;

const configSchema = z.looseObject({
  auths: z
    .record(
      z.string(),
      z.looseObject({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
      }),
    )
    .optional(),
  credsStore: z.string().optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
});
type AuthConfig = z.infer<typeof configSchema>;

async function loadConfig(path: string): Promise<AuthConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`Cannot read registry credentials ${path}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SyntaxError(`Cannot parse registry credentials ${path}: not JSON`, { cause: err });
  }
  const r = configSchema.safeParse(doc);
  if (!r.success) {
    throw new SyntaxError(`Cannot parse registry credentials ${path}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return r.data;
}

/** Keys under which a host's entry is usually stored, most usual first (Docker Hub keeps its legacy v1 URL). */
function candidateKeys(registry: string): string[] {
  if (isDockerHub(registry)) {
    return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

/** The host a config key names, as docker reads keys: scheme and path dropped (`https://h:5000/v1/` → `h:5000`). */
export function hostOfKey(key: string): string {
  return (key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").split("/")[0] ?? "").toLowerCase();
}

/** Whether config key `key` is about `registry` (every Docker Hub name matches every other). */
function keyMatches(key: string, registry: string): boolean {
  const h = hostOfKey(key);
  return h === registry.toLowerCase() || (isDockerHub(h) && isDockerHub(registry));
}

/** The entry of `map` for `registry`: a usual key first, then any key naming the same host. */
function lookup<T>(map: Record<string, T> | undefined, registry: string): { key: string; value: T } | undefined {
  if (!map) return undefined;
  for (const k of candidateKeys(registry)) {
    const v = map[k];
    if (v !== undefined) return { key: k, value: v };
  }
  for (const k of Object.keys(map).sort()) {
    if (keyMatches(k, registry)) return { key: k, value: map[k]! };
  }
  return undefined;
}

function fromAuthsEntry(entry: NonNullable<AuthConfig["auths"]>[string], source: string): Credential | undefined {
  if (entry.identitytoken) return { refreshToken: entry.identitytoken, source };
  if (entry.auth) {
    const dec = Buffer.from(entry.auth, "base64").toString("utf8");
    const i = dec.indexOf(":");
    if (i < 0) throw new SyntaxError(`Cannot parse registry credentials ${source}: "auth" is not base64 of user:password`);
    return { username: dec.slice(0, i), password: dec.slice(i + 1), source };
  }
  if (entry.username !== undefined) return { username: entry.username, password: entry.password ?? "", source };
  return undefined;
}

/** Runs `docker-credential-<helper> get`; a "not found" answer yields undefined. */
export async function runCredentialHelper(helper: string, server: string, env: NodeJS.ProcessEnv = process.env): Promise<Credential | undefined> {
  const bin = `docker-credential-${helper}`;
  const source = `credential helper ${bin}`;
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(bin, ["get"], { stdio: ["pipe", "pipe", "pipe"], env });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", (e) => reject(new Error(`Cannot run ${bin}: ${e.message} (is it on PATH?)`, { cause: e })));
    child.on("close", (c) => resolve({ code: c ?? 1, stdout: out, stderr: err }));
    child.stdin.end(server);
  });
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined;
    throw new Error(`Cannot get credentials from ${bin}: exit ${code}: ${(stdout + stderr).trim()}`);
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(stdout) as typeof doc;
  } catch (err) {
    throw new SyntaxError(`Cannot parse the answer of ${bin}: not JSON`, { cause: err });
  }
  if (typeof doc.Username !== "string" || typeof doc.Secret !== "string") {
    throw new SyntaxError(`Cannot parse the answer of ${bin}: Username and Secret must be strings`);
  }
  if (doc.Username === "<token>") return { refreshToken: doc.Secret, source };
  return { username: doc.Username, password: doc.Secret, source };
}

async function fromDockerConfig(cfg: AuthConfig, path: string, registry: string, env: NodeJS.ProcessEnv): Promise<Credential | undefined> {
  const helper = lookup(cfg.credHelpers, registry);
  // A per-registry helper is authoritative ("not found" there means anonymous, as in docker), and
  // is asked with the server name docker uses: Hub's v1 URL, else the host.
  if (helper && helper.value !== "") return runCredentialHelper(helper.value, isDockerHub(registry) ? "https://index.docker.io/v1/" : registry, env);
  if (cfg.credsStore) {
    for (const k of candidateKeys(registry)) {
      const c = await runCredentialHelper(cfg.credsStore, k, env);
      if (c) return c;
    }
  }
  const entry = lookup(cfg.auths, registry);
  if (entry) return fromAuthsEntry(entry.value, `${path} auths["${entry.key}"]`);
  return undefined;
}

/**
 * The default credential lookup: `REGISTRY_AUTH_FILE`, then the docker config.
 * @param env the environment to read (tests pass their own)
 */
export function defaultCredentials(env: NodeJS.ProcessEnv = process.env): CredentialLookup {
  return async (registry) => {
    const files: string[] = [];
    if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
    files.push(join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json"));
    for (const f of files) {
      const cfg = await loadConfig(f);
      if (!cfg) continue;
      const c = await fromDockerConfig(cfg, f, registry, env);
      if (c) return c;
    }
    return undefined;
  };
}
