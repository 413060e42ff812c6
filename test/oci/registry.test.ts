import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { embedImage } from "../../src/embed/embed-image.js";
import { ClientPool, openSink, openSource, parseLocation } from "../../src/embed/transport.js";
import { RegistryAuthError, ImageNotFoundError } from "../../src/oci/errors.js";
import { DigestMismatchError } from "../../src/oci/internal/verify.js";
import { RegistryClient } from "../../src/oci/remote/client.js";
import { defaultCredentials } from "../../src/oci/remote/credentials.js";
import { startRegistry, type Registry } from "../helpers/registry.js";
import { htpasswdAuth, startTokenServer } from "../helpers/registry-auth.js";
import { startRegistryProxy } from "../helpers/registry-proxy.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { jsonBundle, listExecutables } from "../helpers/embed-doubles.js";
import { makeTempDir } from "../helpers/temp-dir.js";

const execFileP = promisify(execFile);
const opts = (baseName: string) => ({ bundleFor: jsonBundle, scan: listExecutables, baseName });

async function skopeo(args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await execFileP("skopeo", args, { env: env ?? process.env, maxBuffer: 64 << 20 });
  return stdout;
}

async function embedLoc(src: string, dst: string, env: NodeJS.ProcessEnv = process.env, extra: object = {}) {
  const pool = new ClientPool({ env });
  const source = openSource(parseLocation(src), pool);
  const sink = openSink(parseLocation(dst), pool);
  try {
    return await embedImage(source, sink, { ...opts(src), ...extra });
  } finally {
    await sink.close();
    await source.close();
  }
}

async function manifestStatus(reg: Registry, repo: string, tag: string): Promise<number> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${tag}`, { method: "HEAD" });
  return res.status;
}

test("embed registry→registry: skopeo reads the result, blobs are mounted, the tag appears last", async () => {
  const tmp = await makeTempDir("inlay-reg-");
  const reg = await startRegistry();
  try {
    const layout = join(tmp.path, "src");
    await writeTestLayout(layout, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], entrypoint: ["/bin/sh", "-c"], cmd: ["echo hi"] }]);
    await skopeo(["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${reg.host}/app:v1`]);
    // Through a recording proxy, to see which requests the embed makes.
    const proxy = await startRegistryProxy(reg.url);
    let r;
    try {
      r = await embedLoc(`docker://${proxy.host}/app:v1`, `docker://${proxy.host}/app-inlay:v1`);
    } finally {
      await proxy.dispose();
    }
    const base = (JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/app:v1`])) as { layers: { digest: string }[] }).layers[0]!.digest;
    assert.ok(proxy.requests.some((q) => q.startsWith("POST /v2/app-inlay/blobs/uploads/?") && q.includes(`mount=${encodeURIComponent(base)}`) && q.includes("from=app")), proxy.requests.join("\n"));
    assert.ok(!proxy.requests.some((q) => q.startsWith("PUT") && q.includes(encodeURIComponent(base))), "the base layer was mounted, not uploaded");
    const puts = proxy.requests.filter((q) => q.startsWith("PUT"));
    assert.match(puts.at(-1)!, /^PUT \/v2\/app-inlay\/manifests\/v1$/, "the tag is the last write");
    const raw = JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/app-inlay:v1`])) as { layers: unknown[] };
    assert.equal(raw.layers.length, 2);
    const cfg = JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--config", `docker://${reg.host}/app-inlay:v1`])) as { config: { Entrypoint: string[]; Cmd: string[] } };
    assert.deepEqual(cfg.config.Entrypoint, ["/.inlay/inlay-enforcer", "--", "/bin/sh", "-c"]);
    assert.deepEqual(cfg.config.Cmd, ["echo hi"]);
    const info = JSON.parse(await skopeo(["inspect", "--tls-verify=false", `docker://${reg.host}/app-inlay:v1`])) as { Digest: string };
    assert.equal(info.Digest, r.digest);
    // skopeo copies it (verifying every blob) and umoci unpacks that copy.
    await skopeo(["copy", "--src-tls-verify=false", `docker://${reg.host}/app-inlay:v1`, `oci:${join(tmp.path, "out")}:x`]);
    await execFileP("umoci", ["unpack", "--rootless", "--image", `${join(tmp.path, "out")}:x`, join(tmp.path, "bundle")]);
    assert.ok((await readFile(join(tmp.path, "bundle/rootfs/.inlay/inlay-enforcer"))).length > 0);
    const head = await fetch(`${reg.url}/v2/app-inlay/blobs/${(raw.layers[0] as { digest: string }).digest}`, { method: "HEAD" });
    assert.equal(head.status, 200);
  } finally {
    await reg.dispose();
    await tmp.dispose();
  }
});

test("embed keeps the Docker schema2 family: manifest, config and new layer media types", async () => {
  const tmp = await makeTempDir("inlay-reg-");
  const reg = await startRegistry();
  try {
    const layout = join(tmp.path, "src");
    await writeTestLayout(layout, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await skopeo(["copy", "--format", "v2s2", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${reg.host}/d2:v1`]);
    const r = await embedLoc(`docker://${reg.host}/d2:v1`, `docker://${reg.host}/d2:inlay`);
    const raw = JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/d2:inlay`])) as { mediaType: string; config: { mediaType: string }; layers: { mediaType: string }[] };
    assert.equal(r.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    assert.equal(raw.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    assert.equal(raw.config.mediaType, "application/vnd.docker.container.image.v1+json");
    assert.deepEqual(raw.layers.map((l) => l.mediaType), ["application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.docker.image.rootfs.diff.tar.gzip"]);
  } finally {
    await reg.dispose();
    await tmp.dispose();
  }
});

test("embed of a multi-arch index keeps platforms and annotations, drops attestations, bakes in each arch's enforcer; skopeo copies --all", async () => {
  const tmp = await makeTempDir("inlay-reg-");
  const reg = await startRegistry();
  try {
    const layout = join(tmp.path, "src");
    const arm = [{ path: "bin/", type: "directory" as const }, { path: "bin/app", data: Buffer.from("\x7fELF-arm64-stand-in"), mode: 0o755 }];
    await writeTestLayout(layout, "v1", [
      { architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] },
      { architecture: "arm64", variant: "v8", layers: [arm], entrypoint: ["/bin/app"] },
    ]);
    // Add an attestation child the way BuildKit does, pointing at the amd64 manifest.
    const idxJson = JSON.parse(await readFile(join(layout, "index.json"), "utf8"));
    const rootHex = idxJson.manifests[0].digest.slice(7);
    const index = JSON.parse(await readFile(join(layout, "blobs/sha256", rootHex), "utf8"));
    index.manifests[0].annotations = { "org.example.keep": "amd" };
    const { createHash } = await import("node:crypto");
    const attCfg = Buffer.from("{}");
    const attCfgHex = createHash("sha256").update(attCfg).digest("hex");
    await writeFile(join(layout, "blobs/sha256", attCfgHex), attCfg);
    const att = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${attCfgHex}`, size: 2 }, layers: [] }));
    const attHex = createHash("sha256").update(att).digest("hex");
    await writeFile(join(layout, "blobs/sha256", attHex), att);
    index.manifests.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${attHex}`, size: att.length, platform: { os: "unknown", architecture: "unknown" }, annotations: { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": index.manifests[0].digest } });
    const ib = Buffer.from(JSON.stringify(index));
    const ibHex = createHash("sha256").update(ib).digest("hex");
    await writeFile(join(layout, "blobs/sha256", ibHex), ib);
    idxJson.manifests[0] = { ...idxJson.manifests[0], digest: `sha256:${ibHex}`, size: ib.length };
    await writeFile(join(layout, "index.json"), JSON.stringify(idxJson));

    await skopeo(["copy", "--all", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${reg.host}/multi:v1`]);
    const r = await embedLoc(`docker://${reg.host}/multi:v1`, `docker://${reg.host}/multi:inlay`);
    assert.deepEqual(r.platforms.map((p) => p.platform), ["linux/amd64", "linux/arm64/v8"]);
    assert.equal(r.dropped.length, 1);
    const out = JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/multi:inlay`])) as { mediaType: string; manifests: { platform: { architecture: string; variant?: string }; annotations?: Record<string, string>; digest: string }[] };
    assert.equal(out.mediaType, "application/vnd.oci.image.index.v1+json");
    assert.deepEqual(out.manifests.map((m) => [m.platform.architecture, m.platform.variant]), [["amd64", undefined], ["arm64", "v8"]]);
    assert.deepEqual(out.manifests[0]!.annotations, { "org.example.keep": "amd" });
    assert.equal(out.manifests[1]!.digest, r.platforms[1]!.digest);
    await skopeo(["copy", "--all", "--src-tls-verify=false", `docker://${reg.host}/multi:inlay`, `oci:${join(tmp.path, "all")}:x`]);
    // umoci reads single images: let skopeo pick the amd64 child.
    const dest = join(tmp.path, "amd64");
    await skopeo(["copy", "--override-arch", "amd64", "--src-tls-verify=false", `docker://${reg.host}/multi:inlay`, `oci:${dest}:x`]);
    await execFileP("umoci", ["unpack", "--rootless", "--image", `${dest}:x`, join(tmp.path, "b-amd64")]);
    assert.deepEqual(await readFile(join(tmp.path, "b-amd64/rootfs/.inlay/inlay-enforcer")), await readFile("enforcer/build/x86_64/inlay-enforcer"));
    // The arm64 child carries the aarch64 enforcer: unpack its layer through our own reader.
    const armOnly = await embedLoc(`docker://${reg.host}/multi:inlay`, `oci:${join(tmp.path, "arm")}:x`, process.env, { platforms: [{ os: "linux", architecture: "arm64" }] });
    assert.equal(armOnly.platforms[0]!.replacedInlayLayer, true);
    const armIdx = JSON.parse(await readFile(join(tmp.path, "arm/index.json"), "utf8"));
    const armIndex = JSON.parse(await readFile(join(tmp.path, "arm/blobs/sha256", armIdx.manifests[0].digest.slice(7)), "utf8"));
    assert.equal(armIndex.manifests.length, 1);
    const armManifest = JSON.parse(await readFile(join(tmp.path, "arm/blobs/sha256", armIndex.manifests[0].digest.slice(7)), "utf8"));
    const { gunzipSync } = await import("node:zlib");
    const layerTar = gunzipSync(await readFile(join(tmp.path, "arm/blobs/sha256", armManifest.layers.at(-1).digest.slice(7))));
    const enf = await readFile("enforcer/build/aarch64/inlay-enforcer");
    assert.ok(layerTar.includes(enf), "the arm64 layer holds the aarch64 enforcer");
  } finally {
    await reg.dispose();
    await tmp.dispose();
  }
});

test("a registry that corrupts a blob: embed aborts with a digest mismatch and nothing is tagged", async () => {
  const tmp = await makeTempDir("inlay-reg-");
  const reg = await startRegistry();
  try {
    const layout = join(tmp.path, "src");
    await writeTestLayout(layout, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await skopeo(["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${reg.host}/app:v1`]);
    const raw = JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/app:v1`])) as { layers: { digest: string }[] };
    const proxy = await startRegistryProxy(reg.url, { corruptBlob: raw.layers[0]!.digest });
    const dst = await startRegistry();
    try {
      await assert.rejects(embedLoc(`docker://${proxy.host}/app:v1`, `docker://${dst.host}/app:v1`), (err: unknown) => {
        assert.ok(err instanceof DigestMismatchError, String(err));
        assert.match((err as Error).message, new RegExp(raw.layers[0]!.digest));
        return true;
      });
      assert.equal(await manifestStatus(dst, "app", "v1"), 404);
      // The corrupt blob was not stored either: the registry checks the digest the client names.
      const head = await fetch(`${dst.url}/v2/app/blobs/${raw.layers[0]!.digest}`, { method: "HEAD" });
      assert.equal(head.status, 404);
      // A manifest whose bytes do not match the registry's Docker-Content-Digest is refused too.
      const manifestLiar = await startRegistryProxy(reg.url, { corruptManifest: "v1" });
      try {
        await assert.rejects(embedLoc(`docker://${manifestLiar.host}/app:v1`, `docker://${dst.host}/app:v1`), (err: unknown) => {
          assert.ok(err instanceof DigestMismatchError, String(err));
          assert.match((err as Error).message, /manifest v1/);
          return true;
        });
        assert.equal(await manifestStatus(dst, "app", "v1"), 404);
      } finally {
        await manifestLiar.dispose();
      }
    } finally {
      await proxy.dispose();
      await dst.dispose();
    }
  } finally {
    await reg.dispose();
    await tmp.dispose();
  }
});

test("RegistryClient retries 503 answers with backoff", async () => {
  const reg = await startRegistry();
  const proxy = await startRegistryProxy(reg.url, { fail503: 2 });
  try {
    const c = new RegistryClient(proxy.host, { backoffMs: 10 });
    const res = await c.request("/v2/", { scopes: [] });
    assert.equal(res.status, 200);
    assert.equal(proxy.failures, 2);
  } finally {
    await proxy.dispose();
    await reg.dispose();
  }
});

test("a missing tag is ImageNotFoundError naming the repository and registry", async () => {
  const reg = await startRegistry();
  try {
    await assert.rejects(embedLoc(`docker://${reg.host}/nope:v1`, `docker://${reg.host}/x:v1`), (err: unknown) => {
      assert.ok(err instanceof ImageNotFoundError);
      assert.match((err as Error).message, new RegExp(`tag v1 in repository nope on registry ${reg.host}`));
      return true;
    });
  } finally {
    await reg.dispose();
  }
});

test("htpasswd Basic auth: credentials from DOCKER_CONFIG work; a wrong password and none fail naming the registry and the source", async () => {
  const tmp = await makeTempDir("inlay-basic-");
  const reg = await startRegistry({ authYaml: await htpasswdAuth(tmp.path, { user: "alice", password: "s3cret" }) });
  try {
    const layout = join(tmp.path, "src");
    await writeTestLayout(layout, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret", `oci:${layout}:v1`, `docker://${reg.host}/app:v1`]);
    const good = join(tmp.path, "good");
    await mkdir(good);
    await writeFile(join(good, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }));
    const r = await embedLoc(`docker://${reg.host}/app:v1`, `docker://${reg.host}/app:inlay`, { ...process.env, DOCKER_CONFIG: good });
    assert.equal(r.platforms.length, 1);
    const bad = join(tmp.path, "bad");
    await mkdir(bad);
    await writeFile(join(bad, "config.json"), JSON.stringify({ auths: { [reg.host]: { username: "alice", password: "wrong" } } }));
    await assert.rejects(embedLoc(`docker://${reg.host}/app:v1`, `docker://${reg.host}/app:x`, { ...process.env, DOCKER_CONFIG: bad }), (err: unknown) => {
      assert.ok(err instanceof RegistryAuthError, String(err));
      assert.equal((err as RegistryAuthError).registry, reg.host);
      assert.match((err as Error).message, new RegExp(`credential source: ${join(bad, "config.json")}`));
      return true;
    });
    const none = join(tmp.path, "none");
    await mkdir(none);
    await assert.rejects(embedLoc(`docker://${reg.host}/app:v1`, `docker://${reg.host}/app:x`, { ...process.env, DOCKER_CONFIG: none, REGISTRY_AUTH_FILE: join(none, "auth.json") }), (err: unknown) => {
      assert.ok(err instanceof RegistryAuthError);
      assert.match((err as Error).message, /none \(anonymous\)/);
      return true;
    });
  } finally {
    await reg.dispose();
    await tmp.dispose();
  }
});

test("Bearer token auth: REGISTRY_AUTH_FILE credentials, cross-repo mount scope, refresh on insufficient_scope and on expiry", async () => {
  const tmp = await makeTempDir("inlay-token-");
  const ts = await startTokenServer(tmp.path, { users: { "bob:pw": { "*": ["pull", "push"] } }, refreshTokens: { "rt-123": { "*": ["pull", "push"] } }, ttlSeconds: 11 });
  const reg = await startRegistry({ authYaml: ts.authYaml });
  try {
    const layout = join(tmp.path, "src");
    await writeTestLayout(layout, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "bob:pw", `oci:${layout}:v1`, `docker://${reg.host}/app:v1`]);
    const authFile = join(tmp.path, "auth.json");
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("bob:pw").toString("base64") } } }));
    const env = { ...process.env, REGISTRY_AUTH_FILE: authFile, DOCKER_CONFIG: join(tmp.path, "nodocker") };
    await embedLoc(`docker://${reg.host}/app:v1`, `docker://${reg.host}/other:v1`, env);
    assert.ok(ts.requests.some((r) => r.scopes.includes("repository:other:pull,push") && r.scopes.includes("repository:app:pull")), "a token covering the mount source was requested");
    const cfg = JSON.parse(await skopeo(["inspect", "--tls-verify=false", "--creds", "bob:pw", "--config", `docker://${reg.host}/other:v1`])) as { config: { Entrypoint: string[] } };
    assert.equal(cfg.config.Entrypoint[0], "/.inlay/inlay-enforcer");

    // insufficient_scope: a token for app only, then a request on other → the client asks again.
    const c = new RegistryClient(reg.host, { credentials: defaultCredentials(env) });
    await c.request("/v2/app/tags/list", { scopes: ["repository:app:pull"] });
    const before = ts.requests.length;
    const res = await c.request("/v2/other/tags/list", { scopes: ["repository:app:pull"] });
    assert.equal(res.status, 200);
    assert.ok(ts.requests.slice(before).some((r) => r.scopes.includes("repository:other:pull")));
    // Expiry: tokens live 11 s and are renewed 10 s early, so after 1.2 s a new one is fetched.
    const n = ts.requests.length;
    await new Promise((r) => setTimeout(r, 1200));
    await c.request("/v2/app/tags/list", { scopes: ["repository:app:pull"] });
    assert.equal(ts.requests.length, n + 1);

    // An identity token (what credential helpers return as user "<token>") uses the refresh-token grant.
    const idDir = join(tmp.path, "identity");
    await mkdir(idDir);
    await writeFile(join(idDir, "config.json"), JSON.stringify({ auths: { [reg.host]: { identitytoken: "rt-123" } } }));
    const viaRefresh = await embedLoc(`docker://${reg.host}/app:v1`, `docker://${reg.host}/refreshed:v1`, { ...process.env, DOCKER_CONFIG: idDir, REGISTRY_AUTH_FILE: join(idDir, "none.json") });
    assert.equal(viaRefresh.platforms.length, 1);
    assert.ok(ts.requests.some((q) => q.method === "POST" && q.user === "refresh" && q.scopes.includes("repository:refreshed:pull,push")));

    const anon = new RegistryClient(reg.host, {});
    await assert.rejects(anon.request("/v2/app/tags/list", { scopes: ["repository:app:pull"] }), RegistryAuthError);
  } finally {
    await reg.dispose();
    await ts.dispose();
    await tmp.dispose();
  }
});
