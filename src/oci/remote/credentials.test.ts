import { test } from "node:test";
import assert from "node:assert/strict";
import { chmod, mkdir, writeFile } from "node:fs/promises";
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
