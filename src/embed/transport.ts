/**
 * Image locations as skopeo writes them: `docker://host/repo:tag|@digest`, `oci:DIR[:tag]`,
 * `docker-archive:FILE[:name:tag]`, and the factories that open them. This is the only place that
 * knows every medium; the media themselves never import each other.
 * @module
 */
import { openDockerArchiveSink } from "../oci/docker-archive/sink.js";
import { openDockerArchiveSource } from "../oci/docker-archive/source.js";
import { openLayoutSink } from "../oci/layout/sink.js";
import { openLayoutSource } from "../oci/layout/source.js";
import { endpointOrigin, RegistryClient, type ClientOptions } from "../oci/remote/client.js";
import { defaultCredentials } from "../oci/remote/credentials.js";
import { DOCKER_HUB, formatReference, isDockerHub, isRegistryHost, parseReference, type ImageReference } from "../oci/remote/reference.js";
import { openRegistrySink } from "../oci/remote/sink.js";
import { openRegistrySource } from "../oci/remote/source.js";
import type { ImageSink, ImageSource } from "../oci/v1/store.js";

export type Location =
  | { transport: "docker"; ref: ImageReference }
  | { transport: "oci"; dir: string; tag?: string }
  | { transport: "docker-archive"; file: string; tag?: string };

/**
 * Parses a transport-prefixed location.
 * @throws TypeError naming the accepted forms
 */
export function parseLocation(s: string): Location {
  if (s.startsWith("docker://")) return { transport: "docker", ref: parseReference(s.slice("docker://".length)) };
  if (s.startsWith("oci:")) {
    const rest = s.slice(4);
    const i = rest.indexOf(":");
    if (rest === "" || i === 0) throw new TypeError(`Cannot parse image location ${JSON.stringify(s)}: expected oci:DIR[:TAG]`);
    return i < 0 ? { transport: "oci", dir: rest } : { transport: "oci", dir: rest.slice(0, i), tag: rest.slice(i + 1) };
  }
  if (s.startsWith("docker-archive:")) {
    const rest = s.slice("docker-archive:".length);
    const i = rest.indexOf(":");
    if (rest === "" || i === 0) throw new TypeError(`Cannot parse image location ${JSON.stringify(s)}: expected docker-archive:FILE[:NAME:TAG]`);
    return i < 0 ? { transport: "docker-archive", file: rest } : { transport: "docker-archive", file: rest.slice(0, i), tag: rest.slice(i + 1) };
  }
  throw new TypeError(`Cannot parse image location ${JSON.stringify(s)}: use docker://HOST/REPO:TAG, oci:DIR[:TAG] or docker-archive:FILE[:NAME:TAG]`);
}

/** `docker://…` / `oci:…` / `docker-archive:…` */
export function formatLocation(l: Location): string {
  if (l.transport === "docker") return `docker://${formatReference(l.ref)}`;
  if (l.transport === "oci") return `oci:${l.dir}${l.tag ? `:${l.tag}` : ""}`;
  return `docker-archive:${l.file}${l.tag ? `:${l.tag}` : ""}`;
}

export interface OpenOptions {
  /** Registries (host:port) that may be reached over plain HTTP although not on loopback. */
  insecureRegistries?: string[];
  /** Registry name → `http[s]://host[:port]` serving its API (see {@link parseRegistryEndpoint}). */
  endpoints?: Map<string, string>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Parses `--registry-endpoint NAME=URL`: requests for registry NAME go to URL, which receives
 * NAME's credentials. Docker Hub's names (`docker.io`, `index.docker.io`) are one registry.
 * @throws TypeError naming what is wrong
 */
export function parseRegistryEndpoint(s: string, opts: { insecureRegistries?: string[] } = {}): { registry: string; origin: string } {
  const i = s.indexOf("=");
  const name = i < 0 ? "" : s.slice(0, i);
  if (i < 0 || !isRegistryHost(name)) throw new TypeError(`Cannot parse registry endpoint ${JSON.stringify(s)}: expected NAME=URL, e.g. docker.io=https://mirror.example`);
  const registry = name === "index.docker.io" ? DOCKER_HUB : name;
  const insecure = opts.insecureRegistries?.includes(name) === true || opts.insecureRegistries?.includes(registry) === true;
  return { registry, origin: endpointOrigin(registry, s.slice(i + 1), { insecure }) };
}

/** Shares one client (and its tokens) per registry between the source and the sink. */
export class ClientPool {
  readonly #clients = new Map<string, RegistryClient>();
  readonly #opts: OpenOptions;
  constructor(opts: OpenOptions = {}) {
    this.#opts = opts;
  }
  get(registry: string): RegistryClient {
    let c = this.#clients.get(registry);
    if (!c) {
      const o: ClientOptions = { credentials: defaultCredentials(this.#opts.env ?? process.env) };
      if (this.#opts.insecureRegistries?.includes(registry)) o.insecure = true;
      // Docker Hub's names are one registry: docker.io's endpoint serves registry-1.docker.io/… too.
      const endpoint = this.#opts.endpoints?.get(registry) ?? (isDockerHub(registry) ? this.#opts.endpoints?.get(DOCKER_HUB) : undefined);
      if (endpoint !== undefined) o.endpoint = endpoint;
      c = new RegistryClient(registry, o);
      this.#clients.set(registry, c);
    }
    return c;
  }
}

/** Opens a location for reading. */
export function openSource(l: Location, pool: ClientPool): ImageSource {
  if (l.transport === "docker") return openRegistrySource(l.ref, { client: pool.get(l.ref.registry) });
  if (l.transport === "oci") return openLayoutSource(l.dir, l.tag ? { tag: l.tag } : {});
  return openDockerArchiveSource(l.file, l.tag ? { tag: l.tag } : {});
}

/** Opens a location for writing. */
export function openSink(l: Location, pool: ClientPool): ImageSink {
  if (l.transport === "docker") return openRegistrySink(l.ref, { client: pool.get(l.ref.registry) });
  if (l.transport === "oci") return openLayoutSink(l.dir, l.tag ? { tag: l.tag } : {});
  return openDockerArchiveSink(l.file, l.tag ? { tag: l.tag } : {});
}
