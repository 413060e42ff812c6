/**
 * TLS with the development certificate made by `inlay console dev-cert`, and the CLI's
 * fail-closed checks on its listen address.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { X509Certificate } from "node:crypto";
import { startConsole } from "../../src/console/server.js";
import { httpCall } from "../helpers/http-call.js";
import { SimulatedEnforcer } from "../helpers/simulated-enforcer.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { BOOTSTRAP_SECRET } from "./console-fixture.js";
import { MAIN, spawnConsole } from "./console-process.js";
import { jsonCall } from "../helpers/http-call.js";

const run = promisify(execFile);

test("console dev-cert makes a certificate an enforcer can pin, and the console serves TLS with it", async () => {
  const tmp = await makeTempDir("inlay-tls-");
  try {
    const { stdout } = await run(process.execPath, [MAIN, "console", "dev-cert", "--out-dir", tmp.path, "--name", "console.internal"]);
    assert.match(stdout, /console-dev\.crt/);
    const certFile = join(tmp.path, "console-dev.crt");
    const keyFile = join(tmp.path, "console-dev.key");
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600, "the private key is readable by its owner only");
    const ca = await readFile(certFile, "utf8");
    const x = new X509Certificate(ca);
    assert.match(x.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
    assert.match(x.subjectAltName ?? "", /DNS:console\.internal/);

    const proc = await spawnConsole(["--database", join(tmp.path, "c.sqlite"), "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile], {
      INLAY_CONSOLE_BOOTSTRAP_TOKEN: BOOTSTRAP_SECRET,
    });
    try {
      assert.match(proc.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const admin = (await jsonCall(`${proc.url}/api/v1/bootstrap`, null, "POST", { secret: BOOTSTRAP_SECRET, username: "admin", password: "admin-password-1" }, { ca })).json().token;
      const g = (await jsonCall(`${proc.url}/api/v1/groups`, admin, "POST", { name: "tls" }, { ca })).json().id;
      const enrol = (await jsonCall(`${proc.url}/api/v1/groups/${g}/enrolment-tokens`, admin, "POST", undefined, { ca })).json().token;
      const e = new SimulatedEnforcer({ baseUrl: proc.url, enrolmentToken: enrol, ca });
      await e.register();
      e.record();
      assert.equal(await e.flush(), 200);

      await assert.rejects(httpCall(`${proc.url}/healthz`), /self-signed|certificate/, "negative control: without the pinned CA verification fails");
      await assert.rejects(httpCall(proc.url.replace("https:", "http:") + "/healthz", { timeoutMs: 3000 }), "plain HTTP to the TLS port gets no answer");
    } finally {
      await proc.kill();
    }
  } finally {
    await tmp.dispose();
  }
});

test("startConsole names an unreadable TLS key", async () => {
  await assert.rejects(
    startConsole({ database: "/nonexistent/never", listen: "127.0.0.1:0", tls: { certFile: "/nonexistent/c.crt", keyFile: "/nonexistent/c.key" } }),
    /Cannot read the TLS certificate or key: .*\/nonexistent\/c\.crt/,
  );
});

test("inlay console refuses plain HTTP on a non-loopback address, and half a TLS pair", async () => {
  const a = await run(process.execPath, [MAIN, "console", "--listen", "0.0.0.0:0"]).catch((e: { code: number; stderr: string }) => e);
  assert.equal((a as { code: number }).code, 2);
  assert.match((a as { stderr: string }).stderr, /Refusing plain HTTP on 0\.0\.0\.0:0/);
  const b = await run(process.execPath, [MAIN, "console", "--tls-cert", "x.crt"]).catch((e: { code: number; stderr: string }) => e);
  assert.equal((b as { code: number }).code, 2);
  assert.match((b as { stderr: string }).stderr, /--tls-cert and --tls-key go together/);
  const c = await run(process.execPath, [MAIN, "console", "--listen", "nonsense"]).catch((e: { code: number; stderr: string }) => e);
  assert.match((c as { stderr: string }).stderr, /Cannot use listen address nonsense/);
});
