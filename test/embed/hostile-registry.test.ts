/**
 * `inlay embed` and `inlay scan` against a registry that misbehaves in one way per repository
 * (a node:http double on a random loopback port): each failure ends with one message naming what
 * failed and where, with its documented exit code (docs/embed.md), and nothing under the
 * destination tag.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { sendEndlessBody } from "../helpers/endless-body.js";
import { runInlay } from "../helpers/run-inlay.js";

const sha = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A misbehaviour: handles the request itself and returns true, or leaves it to the honest registry. */
type Misbehaviour = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Sends a body that never ends (until the client goes away). */
function endless(res: ServerResponse, status: number): true {
  res.writeHead(status, { "content-type": "application/vnd.oci.image.manifest.v1+json" });
  sendEndlessBody(res, 32);
  return true;
}

/**
 * Serves the image of `blobs` as `<repo>:v1` for every repository, accepts pushes, and lets the
 * misbehaviour of the request's repository (its first path segment) answer first.
 */
async function startHostileRegistry(blobs: Map<string, Buffer>, root: string, cases: Record<string, Misbehaviour>) {
  const pushed = new Map<string, Buffer>();
  const tags = new Set<string>();
  let uploads = 0;
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const repo = /^\/v2\/([^/]+)\//.exec(u.pathname)?.[1] ?? "";
    if (cases[repo]?.(req, res)) return;
    const body = (): Promise<Buffer> =>
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks)));
      });
    let m: RegExpExecArray | null;
    if (u.pathname === "/v2/") return res.writeHead(200).end("{}");
    if ((m = /^\/v2\/([^/]+)\/manifests\/(.+)$/.exec(u.pathname))) {
      const [, name, ref] = m as unknown as [string, string, string];
      if (req.method === "PUT") {
        return void body().then((b) => {
          pushed.set(`${name}/${sha(b)}`, b);
          if (!ref.startsWith("sha256:")) tags.add(`${name}:${ref}`);
          res.writeHead(201, { "docker-content-digest": sha(b) }).end();
        });
      }
      const b = ref === "v1" ? blobs.get(root) : (blobs.get(ref) ?? pushed.get(`${name}/${ref}`));
      if (!b) return res.writeHead(404).end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      res.writeHead(200, { "content-type": (JSON.parse(b.toString()) as { mediaType: string }).mediaType, "docker-content-digest": sha(b) });
      return res.end(req.method === "HEAD" ? undefined : b);
    }
    if ((m = /^\/v2\/([^/]+)\/blobs\/uploads\/$/.exec(u.pathname)) && req.method === "POST") {
      req.resume();
      return res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/u${++uploads}` }).end();
    }
    if (/^\/v2\/[^/]+\/blobs\/uploads\/u\d+$/.test(u.pathname) && req.method === "PUT") {
      return void body().then((b) => {
        pushed.set(`${repo}/${u.searchParams.get("digest") ?? ""}`, b);
        res.writeHead(201).end();
      });
    }
    if ((m = /^\/v2\/[^/]+\/blobs\/(sha256:[a-f0-9]+)$/.exec(u.pathname))) {
      const b = blobs.get(m[1]!) ?? pushed.get(`${repo}/${m[1]!}`);
      if (req.method === "HEAD") return res.writeHead(pushed.has(`${repo}/${m[1]!}`) ? 200 : 404).end();
      if (!b) return res.writeHead(404).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}');
      return res.writeHead(200, { "content-length": b.length }).end(b);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    host: `127.0.0.1:${(server.address() as { port: number }).port}`,
    tags,
    async dispose() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test("inlay embed / inlay scan against a misbehaving registry: one message, the documented exit code, nothing tagged", async () => {
  const tmp = await makeTempDir("inlay-hostile-");
  const dir = join(tmp.path, "img");
  await writeTestLayout(dir, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
  const blobs = new Map<string, Buffer>();
  for (const f of await readdir(join(dir, "blobs/sha256"))) blobs.set(`sha256:${f}`, await readFile(join(dir, "blobs/sha256", f)));
  const root = (JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] }).manifests[0]!.digest;
  const manifest = JSON.parse(blobs.get(root)!.toString()) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  const layer = blobs.get(manifest.layers[0]!.digest)!;
  const isManifestGet = (req: IncomingMessage): boolean => req.method === "GET" && /\/manifests\//.test(req.url ?? "");
  const reg = await startHostileRegistry(blobs, root, {
    hugemanifest: (req, res) => isManifestGet(req) && endless(res, 200),
    cutmanifest: (req, res) => {
      if (!isManifestGet(req)) return false;
      res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "content-length": "500" }).write("{");
      setTimeout(() => res.destroy(), 20);
      return true;
    },
    hugeconfig: (req, res) => {
      if (!isManifestGet(req)) return false;
      const m = { ...manifest, config: { ...manifest.config, size: 1e12 } };
      res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(JSON.stringify(m));
      return true;
    },
    nolocation: (req, res) => req.method === "POST" && (req.resume(), res.writeHead(202).end(), true),
    badlocation: (req, res) => req.method === "POST" && (req.resume(), res.writeHead(202, { location: "http://[::1" }).end(), true),
    put204: (req, res) => req.method === "PUT" && /\/blobs\/uploads\//.test(req.url ?? "") && (req.resume().on("end", () => res.writeHead(204).end()), true),
    cutlayer: (req, res) => {
      if (!req.url?.endsWith(manifest.layers[0]!.digest)) return false;
      res.writeHead(200, { "content-length": layer.length }).write(layer.subarray(0, 1000));
      setTimeout(() => res.destroy(), 20);
      return true;
    },
  });
  try {
    const cases: [string[], number, RegExp][] = [
      [["scan", `docker://${reg.host}/hugemanifest:v1`], 10, /^inlay: Cannot scan \S+: Cannot read manifest v1 of registry 127\.0\.0\.1:\d+ image \S+\/hugemanifest:v1: larger than the 16777216-byte limit$/],
      [["scan", `docker://${reg.host}/cutmanifest:v1`], 9, /^inlay: Cannot scan \S+: Cannot read manifest v1 of registry 127\.0\.0\.1:\d+ image \S+\/cutmanifest:v1: the registry's answer broke off \(terminated\)$/],
      [["scan", `docker://${reg.host}/hugeconfig:v1`], 10, new RegExp(`^inlay: Cannot scan \\S+: Cannot read blob ${manifest.config.digest} of registry \\S+ image \\S+/hugeconfig:v1 into memory: 1000000000000 bytes is over the 16777216-byte limit$`)],
      [["embed", `docker://${reg.host}/cutlayer:v1`, `docker://${reg.host}/out:cutlayer`], 9, new RegExp(`^inlay: Cannot embed \\S+ into \\S+: Cannot read blob ${manifest.layers[0]!.digest} of registry \\S+ image \\S+/cutlayer:v1: the registry's answer broke off after 1000 of ${layer.length} bytes \\(aborted\\)$`)],
      [["embed", `docker://${reg.host}/honest:v1`, `docker://${reg.host}/nolocation:x`], 9, /^inlay: Cannot embed \S+ into \S+: Cannot upload blob sha256:[a-f0-9]{64} to registry \S+ image \S+\/nolocation:x: the registry answered HTTP 202 to POST \/v2\/nolocation\/blobs\/uploads\/ without an upload Location$/],
      [["embed", `docker://${reg.host}/honest:v1`, `docker://${reg.host}/badlocation:x`], 9, /^inlay: Cannot embed \S+ into \S+: Cannot follow the upload location of registry \S+ for blob sha256:[a-f0-9]{64}: "http:\/\/\[::1" is not a URL$/],
      [["embed", `docker://${reg.host}/honest:v1`, `docker://${reg.host}/put204:x`], 9, /^inlay: Cannot embed \S+ into \S+: Cannot upload blob sha256:[a-f0-9]{64} to registry \S+ image \S+\/put204:x: the registry answered HTTP 204 to the upload, not 201 Created$/],
    ];
    for (const [args, code, message] of cases) {
      const r = await runInlay(args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr.trim(), message);
    }
    assert.deepEqual([...reg.tags], [], "nothing is pushed under a destination tag");
    // The honest path works, so each failure above is the misbehaviour's.
    const ok = await runInlay(["embed", `docker://${reg.host}/honest:v1`, `docker://${reg.host}/out:honest`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual([...reg.tags], ["out:honest"]);
  } finally {
    await reg.dispose();
    await tmp.dispose();
  }
});
