import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDevCertificate } from "../console/dev-cert.js";
import { isLoopbackHost, resolveTarget } from "./console-target.js";

test("plain http only to loopback; https anywhere; the URL is normalised", async () => {
  const env = { INLAY_API_TOKEN: "tok" };
  assert.equal((await resolveTarget({ console: "http://127.0.0.1:8080/" }, env)).url, "http://127.0.0.1:8080");
  assert.equal((await resolveTarget({ console: "http://[::1]:8080" }, env)).url, "http://[::1]:8080");
  assert.equal((await resolveTarget({}, { ...env, INLAY_CONSOLE_URL: "https://console.example/inlay/" })).url, "https://console.example/inlay");
  await assert.rejects(resolveTarget({ console: "http://10.0.0.1" }, env), /Refusing plain http to 10\.0\.0\.1/);
  await assert.rejects(resolveTarget({ console: "http://127.0.0.1.example" }, env), /Refusing plain http/);
  await assert.rejects(resolveTarget({ console: "ftp://x" }, env), /scheme must be https/);
  await assert.rejects(resolveTarget({ console: "https://u:p@x" }, env), /only scheme, host, port/);
  assert.ok(isLoopbackHost("localhost") && isLoopbackHost("127.9.9.9") && !isLoopbackHost("128.0.0.1"));
});

test("the token comes from INLAY_API_TOKEN or --token-file, and a missing one names both", async () => {
  const dir = await mkdtemp(join(tmpdir(), "inlay-target-"));
  try {
    await assert.rejects(resolveTarget({ console: "https://c" }, {}), /set INLAY_API_TOKEN or pass --token-file FILE/);
    await writeFile(join(dir, "t"), "  file-token\n");
    assert.equal((await resolveTarget({ console: "https://c", tokenFile: join(dir, "t") }, { INLAY_API_TOKEN: "env" })).token, "file-token");
    await writeFile(join(dir, "empty"), "\n");
    await assert.rejects(resolveTarget({ console: "https://c", tokenFile: join(dir, "empty") }, {}), /is empty/);
    await assert.rejects(resolveTarget({ console: "https://c", tokenFile: join(dir, "missing") }, {}), (e: Error & { what: string }) => e.what === "file" && /missing/.test(e.message));
    await assert.rejects(resolveTarget({ console: "https://c", ca: join(dir, "t") }, { INLAY_API_TOKEN: "x" }), /no PEM certificate/);
    await assert.rejects(resolveTarget({ console: "http://127.0.0.1", ca: join(dir, "t") }, { INLAY_API_TOKEN: "x" }), /only applies to https/);
    await assert.rejects(resolveTarget({ console: "https://c" }, { INLAY_API_TOKEN: "two words" }), /printable ASCII/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a token file or CA that is too large is refused after a bounded read, naming the file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "inlay-target-"));
  try {
    await writeFile(join(dir, "big"), "A".repeat(64 * 1024));
    await assert.rejects(resolveTarget({ console: "https://c", tokenFile: join(dir, "big") }, {}), (e: Error & { what: string }) => e.what === "file" && e.message === `Cannot read the API token file ${join(dir, "big")}: it is larger than 4096 bytes`);
    // /dev/zero never ends: only a bounded read comes back from it.
    await assert.rejects(resolveTarget({ console: "https://c", tokenFile: "/dev/zero" }, {}), /^ConsoleTargetError: Cannot read the API token file \/dev\/zero: it is larger than 4096 bytes$/);
    await assert.rejects(resolveTarget({ console: "https://c", ca: "/dev/zero" }, { INLAY_API_TOKEN: "x" }), /^ConsoleTargetError: Cannot read the console CA \/dev\/zero: it is larger than 1048576 bytes$/);
    await writeFile(join(dir, "t"), "file-token\n");
    assert.equal((await resolveTarget({ console: "https://c", tokenFile: join(dir, "t") }, {})).token, "file-token", "negative control: a normal token file still works");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a CA file with a broken certificate block is refused, naming which one", async () => {
  const dir = await mkdtemp(join(tmpdir(), "inlay-target-"));
  try {
    const { certFile } = await makeDevCertificate(dir, { names: ["localhost"] });
    const good = await readFile(certFile, "utf8");
    const [head, body = "", tail] = good.split(/(?<=-----\n)|(?=-----END)/);
    const use = async (name: string, text: string) => {
      await writeFile(join(dir, name), text);
      return resolveTarget({ console: "https://c", ca: join(dir, name) }, { INLAY_API_TOKEN: "x" });
    };
    // Negative control: the same certificate, twice, whole.
    assert.ok((await use("two.pem", good + good)).ca);
    await assert.rejects(use("mangled.pem", good + head + body.replace(/[A-Za-z]/g, "A") + tail), /^ConsoleTargetError: Cannot use the console CA \S+mangled\.pem: certificate 2 of 2 is not a valid PEM certificate/);
    await assert.rejects(use("cut.pem", good + good.slice(0, good.length / 2)), /^ConsoleTargetError: Cannot use the console CA \S+cut\.pem: 1 of its 2 certificates has no matching END line/);
    await assert.rejects(use("none.pem", "hello\n"), /no PEM certificate in it$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
