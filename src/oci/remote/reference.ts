import { isDigest, type Digest } from "../v1/digest.js";

/** A parsed `host/repo[:tag][@digest]` reference, normalised (Docker Hub is `docker.io`, `library/` added). */
export interface ImageReference {
  /** Registry `host[:port]`: `docker.io` for Docker Hub, otherwise as written. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

/** Docker Hub's canonical name, its legacy name, and the host that serves its API. */
export const DOCKER_HUB = "docker.io";
const DOCKER_HUB_LEGACY = "index.docker.io";
const DOCKER_HUB_API = "registry-1.docker.io";

const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPO_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?";
const HOST_RE = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$`);
/** The distribution spec's limit on `host/repository`. */
const MAX_NAME = 255;

/** True for the names that mean Docker Hub (`docker.io`, `index.docker.io`, `registry-1.docker.io`). */
export function isDockerHub(registry: string): boolean {
  return registry === DOCKER_HUB || registry === DOCKER_HUB_LEGACY || registry === DOCKER_HUB_API;
}

/** True when `s` is a valid registry `host[:port]` (DNS name, IPv4, or bracketed IPv6). */
export function isRegistryHost(s: string): boolean {
  return HOST_RE.test(s);
}

/**
 * Parses an image reference the way container tools do: the first path component is a registry
 * when it has a `.` or `:`, is `localhost`, or has an upper-case letter; otherwise the image is on
 * Docker Hub. `index.docker.io` becomes `docker.io`, and a one-component Docker Hub repository
 * gets `library/` (`alpine` and `docker.io/alpine` are `docker.io/library/alpine:latest`).
 * @throws TypeError naming the part that is invalid
 */
export function parseReference(s: string): ImageReference {
  const bad = (why: string): TypeError => new TypeError(`Cannot parse image reference ${JSON.stringify(s)}: ${why}`);
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad("digest must be sha256:<64 hex>");
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  const first = rest.split("/")[0] ?? "";
  let registry = DOCKER_HUB;
  let repository = rest;
  if (rest.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase())) {
    if (!isRegistryHost(first)) throw bad(`invalid registry host ${JSON.stringify(first)}`);
    registry = first === DOCKER_HUB_LEGACY ? DOCKER_HUB : first;
    repository = rest.slice(first.length + 1);
  }
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  if (!REPO_RE.test(repository)) throw bad(`invalid repository name ${JSON.stringify(repository)} (lower-case letters, digits and . _ - separators, components split by /)`);
  if (registry.length + 1 + repository.length > MAX_NAME) throw bad(`the name is longer than ${MAX_NAME} characters`);
  if (tag === undefined && digest === undefined) tag = "latest";
  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `host/repo[:tag][@digest]` */
export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}

/** The host that serves the API (Docker Hub's differs from its name). */
export function apiHost(registry: string): string {
  return isDockerHub(registry) ? DOCKER_HUB_API : registry;
}

/** True for hosts that may be reached over plain HTTP without being asked: loopback only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
