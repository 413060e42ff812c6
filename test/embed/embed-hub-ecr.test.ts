/**
 * Docker Hub- and ECR-style use of `inlay embed`/`inlay scan`, run as the real CLI against
 * loopback doubles (there is no internet here): Debian's docker-registry behind the test token
 * server (Hub: Bearer tokens from a separate realm, library/ names, the legacy v1 config key) or
 * behind htpasswd with user AWS (ECR: Basic AWS:<token> from a docker-credential-ecr-login stand-in
 * on PATH), reached through `--registry-endpoint NAME=URL`. What the doubles cannot show (the real
 * services' behaviour) is listed in docs/embed.md.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { startRegistry } from "../helpers/registry.js";
import { htpasswdAuth, startTokenServer } from "../helpers/registry-auth.js";
import { startRegistryProxy } from "../helpers/registry-proxy.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { runInlay } from "../helpers/run-inlay.js";

const execFileP = promisify(execFile);

const inlay = runInlay;

const SPEC = JSON.stringify({ failMode: "open", activation: "always", dormancy: { env: [], paths: [] }, controls: { drift: "audit", fileless: "audit", loader: "off", blocklist: "off", allowlist: "off" }, enforceAfter: {}, driftSource: "manifest", reportExecs: true, blockList: { names: [], pathGlobs: [], sha256: [] }, allowList: { names: [], pathGlobs: [], sha256: [] } });

interface Result {
  digest: string;
  mediaType: string;
  destination: string;
  platforms: { platform: string }[];
}

/** GETs a manifest with Basic or Bearer auth and returns its exact bytes and Content-Type. */
async function getManifest(url: string, authorization: string): Promise<{ bytes: Buffer; contentType: string }> {
  const accept = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"].join(", ");
  const res = await fetch(url, { headers: { accept, authorization } });
  assert.equal(res.status, 200, `GET ${url}`);
  return { bytes: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get("content-type") ?? "" };
}
const sha = (b: Buffer): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;

test("Docker Hub style: alpine means docker.io/library/alpine, the v1 config key is used, tokens come from the challenge's realm", async () => {
  const tmp = await makeTempDir("inlay-hub-");
  const tokens = await startTokenServer(tmp.path, {
    users: { "hubuser:hubpw": { "library/alpine": ["pull", "push"], "hubuser/app": ["pull", "push"] } },
    anonymous: { "library/alpine": ["pull"] },
  });
  const reg = await startRegistry({ authYaml: tokens.authYaml });
  try {
    const img = join(tmp.path, "img");
    await writeTestLayout(img, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await execFileP("skopeo", ["copy", "--dest-tls-verify=false", "--dest-creds", "hubuser:hubpw", `oci:${img}:v1`, `docker://${reg.host}/library/alpine:3`]);

    const cfg = join(tmp.path, "docker");
    await mkdir(cfg);
    // What `docker login` writes for Docker Hub.
    await writeFile(join(cfg, "config.json"), JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: Buffer.from("hubuser:hubpw").toString("base64") } } }));
    const env = { ...process.env, DOCKER_CONFIG: cfg, REGISTRY_AUTH_FILE: join(tmp.path, "none.json") };
    const hub = ["--registry-endpoint", `docker.io=http://${reg.host}`];

    const r1 = await inlay(["embed", "--json", "--bundle-spec", SPEC, ...hub, "docker://alpine:3", "docker://hubuser/app:inlay"], env);
    assert.equal(r1.code, 0, r1.stderr);
    const res1 = JSON.parse(r1.stdout) as Result;
    assert.equal(res1.destination, "docker://docker.io/hubuser/app:inlay");
    // The credential from the v1 key was sent to the token server; the push asked for the
    // destination and (for the cross-repository mount Docker Hub needs) the source scope.
    assert.ok(tokens.requests.some((r) => r.user === "hubuser" && r.scopes.includes("repository:library/alpine:pull")), JSON.stringify(tokens.requests));
    assert.ok(tokens.requests.some((r) => r.user === "hubuser" && r.scopes.includes("repository:hubuser/app:pull,push") && r.scopes.includes("repository:library/alpine:pull")), JSON.stringify(tokens.requests));
    // Exactly the reported bytes are stored under the tag.
    const tres = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:hubuser/app:pull`, { headers: { authorization: `Basic ${Buffer.from("hubuser:hubpw").toString("base64")}` } });
    const token = ((await tres.json()) as { token: string }).token;
    const stored = await getManifest(`${reg.url}/v2/hubuser/app/manifests/inlay`, `Bearer ${token}`);
    assert.equal(sha(stored.bytes), res1.digest);

    // docker.io/alpine and index.docker.io/library/alpine are the same image: same result.
    for (const src of ["docker://docker.io/alpine:3", "docker://index.docker.io/library/alpine:3"]) {
      const r = await inlay(["embed", "--json", "--bundle-spec", SPEC, ...hub, src, "docker://docker.io/hubuser/app:again"], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as Result).digest, res1.digest, src);
    }

    // Anonymous: public pulls work; a private or missing repository is the same 401 insufficient_scope, and the message says both.
    const anon = { ...env, DOCKER_CONFIG: join(tmp.path, "empty") };
    const a1 = await inlay(["scan", ...hub, "docker://alpine:3"], anon);
    assert.equal(a1.code, 0, a1.stderr);
    const a2 = await inlay(["scan", ...hub, "docker://hubuser/app:inlay"], anon);
    assert.equal(a2.code, 4, a2.stderr);
    assert.match(a2.stderr, /registry docker\.io \(endpoint http:\/\/127\.0\.0\.1:\d+\).*repository:hubuser\/app:pull.*insufficient_scope.*does not exist, or it needs credentials and none were found.*credential source: none \(anonymous\).*https:\/\/index\.docker\.io\/v1\//);
    const a3 = await inlay(["scan", ...hub, "docker://library/nope:1"], env);
    assert.equal(a3.code, 4, a3.stderr);
    assert.match(a3.stderr, /does not exist, or these credentials may not use it \(credential source: .*auths\["https:\/\/index\.docker\.io\/v1\/"\]\)/);

  } finally {
    await reg.dispose();
    await tokens.dispose();
    await tmp.dispose();
  }
});

test("ECR style: credHelpers → docker-credential-ecr-login or auths AWS:<token>, both manifest families pushed as exact bytes, 404/403 for missing or forbidden repositories", async () => {
  const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
  const tmp = await makeTempDir("inlay-ecr-");
  const reg = await startRegistry({ authYaml: await htpasswdAuth(tmp.path, { user: "AWS", password: "ecr-token-1" }) });
  // ECR's documented answers for a repository that was never created, and for an IAM denial.
  const proxy = await startRegistryProxy(reg.url, {
    repositoryErrors: {
      "team/missing": { status: 404, code: "NAME_UNKNOWN", message: "The repository with name 'team/missing' does not exist in the registry with id '123456789012'" },
      "team/denied": { status: 403, code: "DENIED", message: "User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized to perform: ecr:InitiateLayerUpload" },
    },
  });
  try {
    const img = join(tmp.path, "img");
    await writeTestLayout(img, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await execFileP("skopeo", ["copy", "--dest-tls-verify=false", "--dest-creds", "AWS:ecr-token-1", `oci:${img}:v1`, `docker://${reg.host}/team/app:oci`]);
    await execFileP("skopeo", ["copy", "--dest-tls-verify=false", "--dest-creds", "AWS:ecr-token-1", "--format", "v2s2", `oci:${img}:v1`, `docker://${reg.host}/team/app:v2`]);

    // A stand-in for the ECR credential helper: it answers for its host and reads the token from a file.
    const bin = join(tmp.path, "bin");
    await mkdir(bin);
    const secret = join(tmp.path, "secret");
    await writeFile(secret, "ecr-token-1");
    await writeFile(
      join(bin, "docker-credential-ecr-login"),
      `#!/bin/sh\n[ "$1" = get ] || exit 2\nread server\ncase "$server" in ${host}|https://${host}) printf '{"ServerURL":"%s","Username":"AWS","Secret":"%s"}' "$server" "$(cat '${secret}')";; *) echo "credentials not found in native keychain"; exit 1;; esac\n`,
    );
    await chmod(join(bin, "docker-credential-ecr-login"), 0o755);
    const cfg = join(tmp.path, "docker");
    await mkdir(cfg);
    await writeFile(join(cfg, "config.json"), JSON.stringify({ credHelpers: { [host]: "ecr-login" } }));
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: cfg, REGISTRY_AUTH_FILE: join(tmp.path, "none.json") };
    const ecr = ["--registry-endpoint", `${host}=http://${proxy.host}`];
    const basic = `Basic ${Buffer.from("AWS:ecr-token-1").toString("base64")}`;

    // Both manifest families: the result keeps the source's family, and the registry holds exactly the reported bytes with that Content-Type.
    for (const [tag, family] of [["oci", "application/vnd.oci.image.manifest.v1+json"], ["v2", "application/vnd.docker.distribution.manifest.v2+json"]] as const) {
      const r = await inlay(["embed", "--json", "--bundle-spec", SPEC, ...ecr, `docker://${host}/team/app:${tag}`, `docker://${host}/team/app:${tag}-inlay`], env);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as Result;
      assert.equal(res.mediaType, family);
      const stored = await getManifest(`${reg.url}/v2/team/app/manifests/${tag}-inlay`, basic);
      assert.equal(sha(stored.bytes), res.digest);
      assert.equal(stored.contentType, family);
      assert.equal((JSON.parse(stored.bytes.toString("utf8")) as { mediaType: string }).mediaType, family);
    }

    // A repository that was never created: exit 3 with the registry's words and what to do, both as destination and as source.
    const m1 = await inlay(["embed", "--bundle-spec", SPEC, ...ecr, `docker://${host}/team/app:oci`, `docker://${host}/team/missing:x`], env);
    assert.equal(m1.code, 3, m1.stderr);
    assert.match(m1.stderr, /Cannot push to repository team\/missing on registry 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com \(endpoint http:\/\/127\.0\.0\.1:\d+\): it does not exist .*NAME_UNKNOWN.*aws ecr create-repository --repository-name team\/missing --region eu-west-1/);
    // The usual CI case, pushing a locally built layout: no mount is possible, the first upload is refused, and that is a clean exit 3 too.
    const m3 = await inlay(["embed", "--bundle-spec", SPEC, ...ecr, `oci:${img}:v1`, `docker://${host}/team/missing:x`], env);
    assert.equal(m3.code, 3, m3.stderr);
    assert.match(m3.stderr, /^inlay: Cannot embed oci:.* Cannot push to repository team\/missing .*aws ecr create-repository --repository-name team\/missing --region eu-west-1\)\n$/);
    const m2 = await inlay(["scan", ...ecr, `docker://${host}/team/missing:x`], env);
    assert.equal(m2.code, 3, m2.stderr);
    assert.match(m2.stderr, /Cannot find tag x in repository team\/missing .*404 \(NAME_UNKNOWN: The repository with name 'team\/missing' does not exist.*aws ecr create-repository --repository-name team\/missing/);
    // A repository the caller may not use: exit 4 with ECR's reason when the answer has one.
    const d1 = await inlay(["embed", "--bundle-spec", SPEC, ...ecr, `docker://${host}/team/app:oci`, `docker://${host}/team/denied:x`], env);
    assert.equal(d1.code, 4, d1.stderr);
    // The first request there is a blob HEAD, whose 403 has no body: the message says so instead of an empty reason.
    assert.match(d1.stderr, /team\/denied.*access denied \(HTTP 403; a HEAD answer carries no reason\).*credential source: credential helper docker-credential-ecr-login\).*ECR tokens expire after 12 hours.*IAM/);
    const d2 = await inlay(["scan", ...ecr, `docker://${host}/team/denied:x`], env);
    assert.equal(d2.code, 4, d2.stderr);
    assert.match(d2.stderr, /access denied \(HTTP 403: DENIED: User: arn:aws:sts::123456789012:assumed-role\/ci\/x is not authorized/);
    // Nothing was tagged in the forbidden or missing repositories.
    for (const repo of ["team/missing", "team/denied"]) assert.equal((await fetch(`${reg.url}/v2/${repo}/manifests/x`, { headers: { authorization: basic } })).status, 404);

    // An expired token from the helper: exit 4 naming the helper and how to refresh.
    await writeFile(secret, "expired");
    const e1 = await inlay(["scan", ...ecr, `docker://${host}/team/app:oci`], env);
    assert.equal(e1.code, 4, e1.stderr);
    assert.match(e1.stderr, /rejected the credentials.*credential source: credential helper docker-credential-ecr-login\).*get-login-password --region eu-west-1/);

    // `aws ecr get-login-password | docker login --username AWS --password-stdin https://HOST` instead of the helper.
    await writeFile(join(cfg, "config.json"), JSON.stringify({ auths: { [`https://${host}`]: { auth: Buffer.from("AWS:ecr-token-1").toString("base64") } } }));
    const b1 = await inlay(["scan", ...ecr, `docker://${host}/team/app:v2-inlay`], env);
    assert.equal(b1.code, 0, b1.stderr);
    assert.match(b1.stdout, /linux\/amd64/);
  } finally {
    await proxy.dispose();
    await reg.dispose();
    await tmp.dispose();
  }
});
