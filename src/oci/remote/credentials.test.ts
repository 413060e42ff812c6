import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtemp, rm } from "node:fs/promises";
import { defaultCredentials } from "./credentials.js";

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "inlay-cred-"));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("defaultCredentials: credHelpers beat credsStore beat auths; helpers speak the docker-credential protocol", async () => {
  await withDir(async (dir) => {
    const bin = join(dir, "bin");
    await mkdir(bin);
    // A helper that answers for one server and says "not found" for others, as the protocol specifies.
    const helper = (name: string, user: string) =>
      `#!/bin/sh\nread server\nif [ "$server" = "reg.example" ]; then echo '{"ServerURL":"reg.example","Username":"${user}","Secret":"pw-${name}"}'; else echo "credentials not found in native keychain"; exit 1; fi\n`;
    for (const [n, u] of [["one", "u1"], ["store", "u2"], ["tok", "<token>"]] as const) {
      await writeFile(join(bin, `docker-credential-${n}`), helper(n, u));
      await chmod(join(bin, `docker-credential-${n}`), 0o755);
    }
    const cfgDir = join(dir, "docker");
    await mkdir(cfgDir);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: cfgDir, REGISTRY_AUTH_FILE: join(dir, "missing.json") };
    const write = (doc: object) => writeFile(join(cfgDir, "config.json"), JSON.stringify(doc));

    await write({ auths: { "reg.example": { auth: Buffer.from("a:b").toString("base64") } }, credsStore: "store", credHelpers: { "reg.example": "one" } });
    assert.deepEqual(await defaultCredentials(env)("reg.example"), { username: "u1", password: "pw-one", source: "credential helper docker-credential-one" });
    await write({ auths: { "reg.example": { auth: Buffer.from("a:b").toString("base64") } }, credsStore: "store" });
    assert.equal((await defaultCredentials(env)("reg.example"))?.username, "u2");
    await write({ auths: { "reg.example": { auth: Buffer.from("a:b:c").toString("base64") } } });
    assert.deepEqual(await defaultCredentials(env)("reg.example"), { username: "a", password: "b:c", source: `${join(cfgDir, "config.json")} auths["reg.example"]` });
    await write({ credHelpers: { "reg.example": "tok" } });
    assert.deepEqual(await defaultCredentials(env)("reg.example"), { refreshToken: "pw-tok", source: "credential helper docker-credential-tok" });
    // The store has nothing for another registry: anonymous, not an error.
    await write({ credsStore: "store" });
    assert.equal(await defaultCredentials(env)("other.example"), undefined);
    // REGISTRY_AUTH_FILE comes first.
    await writeFile(join(dir, "auth.json"), JSON.stringify({ auths: { "reg.example": { username: "ra", password: "rp" } } }));
    assert.equal((await defaultCredentials({ ...env, REGISTRY_AUTH_FILE: join(dir, "auth.json") })("reg.example"))?.username, "ra");
    await write({ auths: "nope" });
    await assert.rejects(defaultCredentials(env)("reg.example"), /Cannot parse registry credentials .*config.json: auths/);
  });
});

/** Writes an executable `docker-credential-NAME` into `bin` that logs the server it was asked for. */
async function fakeHelper(bin: string, name: string, script: string): Promise<string> {
  const log = join(bin, `${name}.log`);
  await writeFile(join(bin, `docker-credential-${name}`), `#!/bin/sh\n[ "$1" = get ] || { echo "unexpected action $1" >&2; exit 2; }\nread server\necho "$server" >> '${log}'\n${script}\n`);
  await chmod(join(bin, `docker-credential-${name}`), 0o755);
  return log;
}

test("defaultCredentials: Docker Hub's credential is found under every key docker and podman write, for every Hub name", async () => {
  await withDir(async (dir) => {
    const cfgDir = join(dir, "docker");
    await mkdir(cfgDir);
    const env = { PATH: process.env.PATH, DOCKER_CONFIG: cfgDir, HOME: dir };
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    for (const key of ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "https://index.docker.io/v1", "https://docker.io", "registry-1.docker.io"]) {
      await writeFile(join(cfgDir, "config.json"), JSON.stringify({ auths: { "quay.io": { auth: b64("q:q") }, [key]: { auth: b64("hub:pw") } } }));
      for (const name of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
        assert.deepEqual(await defaultCredentials(env)(name), { username: "hub", password: "pw", source: `${join(cfgDir, "config.json")} auths["${key}"]` }, `${key} for ${name}`);
      }
      // Hub's entry is never used for another registry, even one whose name starts the same.
      assert.equal(await defaultCredentials(env)("docker.io.example"), undefined);
      assert.equal((await defaultCredentials(env)("quay.io"))?.username, "q");
    }
    // A store is asked with the legacy v1 URL first, which is where `docker login` keeps Hub's credential.
    const bin = join(dir, "bin");
    await mkdir(bin);
    const log = await fakeHelper(bin, "store", `[ "$server" = "https://index.docker.io/v1/" ] && { echo '{"Username":"hub","Secret":"s"}'; exit 0; }\necho "credentials not found in native keychain"; exit 1`);
    await writeFile(join(cfgDir, "config.json"), JSON.stringify({ credsStore: "store", auths: { "https://index.docker.io/v1/": {} } }));
    const withBin = { ...env, PATH: `${bin}:${process.env.PATH}` };
    assert.deepEqual(await defaultCredentials(withBin)("docker.io"), { username: "hub", password: "s", source: "credential helper docker-credential-store" });
    assert.equal(await readFile(log, "utf8"), "https://index.docker.io/v1/\n");
    // A per-registry helper keyed by any Hub name applies to every Hub name, and is asked with the v1 URL as docker does.
    await writeFile(join(cfgDir, "config.json"), JSON.stringify({ credHelpers: { "index.docker.io": "store" } }));
    assert.equal((await defaultCredentials(withBin)("registry-1.docker.io"))?.username, "hub");
    assert.equal((await readFile(log, "utf8")).split("\n").at(-2), "https://index.docker.io/v1/");
  });
});

test("defaultCredentials: ECR through credHelpers → docker-credential-ecr-login, or auths Basic AWS:<token>", async () => {
  await withDir(async (dir) => {
    const host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    const bin = join(dir, "bin");
    await mkdir(bin);
    // Like the real helper: credentials for its ECR hosts (with or without scheme), "not found" for anything else.
    const log = await fakeHelper(
      bin,
      "ecr-login",
      `case "$server" in ${host}|https://${host}) echo '{"ServerURL":"'"$server"'","Username":"AWS","Secret":"ecr-token-1"}';; *) echo "credentials not found in native keychain"; exit 1;; esac`,
    );
    const cfgDir = join(dir, "docker");
    await mkdir(cfgDir);
    const env = { PATH: `${bin}:${process.env.PATH}`, DOCKER_CONFIG: cfgDir, HOME: dir };
    const write = (doc: object) => writeFile(join(cfgDir, "config.json"), JSON.stringify(doc));

    await write({ credHelpers: { [host]: "ecr-login" } });
    assert.deepEqual(await defaultCredentials(env)(host), { username: "AWS", password: "ecr-token-1", source: "credential helper docker-credential-ecr-login" });
    assert.equal(await readFile(log, "utf8"), `${host}\n`);
    // Another account's registry is not covered by that entry: anonymous, and the helper is not run.
    assert.equal(await defaultCredentials(env)("210987654321.dkr.ecr.eu-west-1.amazonaws.com"), undefined);
    assert.equal(await readFile(log, "utf8"), `${host}\n`);
    // ecr-login as the global store answers "not found" for Docker Hub: anonymous there.
    await write({ credsStore: "ecr-login" });
    assert.equal(await defaultCredentials(env)("docker.io"), undefined);
    assert.equal((await defaultCredentials(env)(host))?.password, "ecr-token-1");

    // `aws ecr get-login-password | docker login --username AWS --password-stdin https://HOST` stores Basic AWS:<token>.
    const b64 = Buffer.from("AWS:ecr-token-2").toString("base64");
    for (const key of [host, `https://${host}`]) {
      await write({ auths: { [key]: { auth: b64 } } });
      assert.deepEqual(await defaultCredentials(env)(host), { username: "AWS", password: "ecr-token-2", source: `${join(cfgDir, "config.json")} auths["${key}"]` });
    }

    // A helper that fails for another reason is an error naming it, not silently anonymous.
    await fakeHelper(bin, "ecr-broken", `echo "AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken" >&2; exit 1`);
    await write({ credHelpers: { [host]: "ecr-broken" } });
    await assert.rejects(defaultCredentials(env)(host), /Cannot get credentials from docker-credential-ecr-broken: exit 1: AccessDeniedException/);
    await write({ credHelpers: { [host]: "ecr-missing" } });
    await assert.rejects(defaultCredentials({ ...env, PATH: bin })(host), /Cannot run docker-credential-ecr-missing: .*is it on PATH/);
  });
});
