/**
 * A loopback HTTP proxy in front of a test registry that misbehaves on purpose: it can flip one
 * byte of a chosen blob (a registry that lies about digests) and answer the first N requests with
 * 503 (to exercise retries), slow blob downloads down (so progress has something to show), and
 * answer authenticated requests for chosen repositories with a fixed error (a registry's documented
 * answers for a missing or forbidden repository). Everything else is forwarded unchanged.
 * @module
 */
import { createServer, request, type Server } from "node:http";

export interface RegistryProxy {
  readonly host: string;
  /** Number of 503 answers given so far. */
  failures: number;
  /** `METHOD path?query` of every request forwarded, in order. */
  readonly requests: string[];
  dispose(): Promise<void>;
}

/**
 * @param opts.corruptBlob digest whose `GET …/blobs/<digest>` body gets one byte flipped
 * @param opts.corruptManifest reference (tag or digest) whose `GET …/manifests/<ref>` body gets one byte flipped
 * @param opts.fail503 answer this many first requests with 503
 * @param opts.blobChunkDelayMs pause this long after each chunk of a `GET …/blobs/…` body
 * @param opts.repositoryErrors repository → the distribution error every authenticated request for it gets
 */
export async function startRegistryProxy(
  upstream: string,
  opts: {
    corruptBlob?: string;
    corruptManifest?: string;
    fail503?: number;
    blobChunkDelayMs?: number;
    repositoryErrors?: Record<string, { status: number; code: string; message: string }>;
  } = {},
): Promise<RegistryProxy> {
  const up = new URL(upstream);
  const state = { failures: 0 };
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    if (state.failures < (opts.fail503 ?? 0)) {
      state.failures++;
      req.resume();
      res.writeHead(503, { "content-type": "application/json" }).end('{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}');
      return;
    }
    requests.push(`${req.method} ${req.url}`);
    const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(req.url ?? "")?.[1];
    const fixed = repo !== undefined && req.headers.authorization ? opts.repositoryErrors?.[repo] : undefined;
    if (fixed) {
      req.resume();
      res.writeHead(fixed.status, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: fixed.code, message: fixed.message }] }));
      return;
    }
    const corrupt =
      req.method === "GET" &&
      ((opts.corruptBlob !== undefined && (req.url ?? "").endsWith(`/blobs/${opts.corruptBlob}`)) ||
        (opts.corruptManifest !== undefined && (req.url ?? "").endsWith(`/manifests/${opts.corruptManifest}`)));
    const slow = req.method === "GET" && (opts.blobChunkDelayMs ?? 0) > 0 && /\/blobs\/sha256:/.test(req.url ?? "");
    const headers = { ...req.headers, host: up.host };
    const out = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers }, (ures) => {
      const h = { ...ures.headers };
      // Upload locations must point back at the proxy, or the client would bypass it.
      if (typeof h.location === "string") h.location = h.location.replace(up.origin, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
      res.writeHead(ures.statusCode ?? 502, h);
      let first = true;
      ures.on("data", (c: Buffer) => {
        if (corrupt && first && c.length > 0) {
          c = Buffer.from(c);
          c[c.length - 1] = c[c.length - 1]! ^ 0xff;
          first = false;
        }
        res.write(c);
        if (slow) {
          ures.pause();
          setTimeout(() => ures.resume(), opts.blobChunkDelayMs);
        }
      });
      ures.on("end", () => res.end());
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    get failures() {
      return state.failures;
    },
    set failures(n: number) {
      state.failures = n;
    },
    dispose: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
