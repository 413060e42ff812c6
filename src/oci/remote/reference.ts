import { isDigest, type Digest } from "../v1/digest.js";

/** A parsed `host/repo[:tag][@digest]` reference. */
export interface ImageReference {
  /** Registry `host[:port]` as written (docker.io for Docker Hub). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: Digest;
}

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Parses an image reference the way container tools do: the first path component is a registry
 * when it has a `.` or `:` or is `localhost`, otherwise the image is on Docker Hub.
 * @throws TypeError naming the part that is invalid
 */
export function parseReference(s: string): ImageReference {
  let rest = s;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw new TypeError(`Cannot parse image reference ${JSON.stringify(s)}: digest must be sha256:<64 hex>`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new TypeError(`Cannot parse image reference ${JSON.stringify(s)}: invalid tag ${JSON.stringify(tag)}`);
  }
  const first = rest.split("/")[0] ?? "";
  let registry = "docker.io";
  let repository = rest;
  if (rest.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first;
    repository = rest.slice(first.length + 1);
  } else if (!rest.includes("/")) {
    repository = `library/${rest}`;
  }
  if (!REPO_RE.test(repository)) {
    throw new TypeError(`Cannot parse image reference ${JSON.stringify(s)}: invalid repository name ${JSON.stringify(repository)}`);
  }
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
  return registry === "docker.io" || registry === "index.docker.io" ? "registry-1.docker.io" : registry;
}

/** True for hosts that may be reached over plain HTTP without being asked: loopback only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
