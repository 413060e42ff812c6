/**
 * `inlay console` first-run bootstrap through the real command: the secret is printed once, works
 * once, is never printed again, and the environment can replace a lost one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { jsonCall } from "../helpers/http-call.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { MAIN, spawnConsole, type ConsoleProcess } from "./console-process.js";

const bootstrap = (url: string, secret: string) => jsonCall(`${url}/api/v1/bootstrap`, null, "POST", { secret, username: "admin", password: "admin-password-1" });

test("inlay console prints a bootstrap secret once; it creates the admin once and is not shown again", async () => {
  const tmp = await makeTempDir("inlay-cli-");
  const args = ["--database", join(tmp.path, "c.sqlite"), "--listen", "127.0.0.1:0"];
  const env = { INLAY_CONSOLE_BOOTSTRAP_TOKEN: "" };
  const procs: ConsoleProcess[] = [];
  const start = async (e: Record<string, string>) => {
    const p = await spawnConsole(args, e);
    procs.push(p);
    return p;
  };
  try {
    const first = await start(env);
    const secret = /"secret":"(inlay_boot_[A-Za-z0-9_-]+)"/.exec(first.output())?.[1];
    assert.ok(secret !== undefined, `the first start prints the secret:\n${first.output()}`);
    await first.kill();

    const second = await start(env);
    assert.doesNotMatch(second.output(), /inlay_boot_/, "a restart does not print a secret again");
    assert.match(second.output(), /no administrator yet/);
    assert.equal((await bootstrap(second.url, "inlay_boot_wrong")).status, 403, "negative control: a wrong secret is refused");
    assert.equal((await bootstrap(second.url, secret)).status, 201, "the secret printed earlier still works after a restart");
    assert.equal((await bootstrap(second.url, secret)).status, 403, "and only once");
    await second.kill();

    const third = await start(env);
    assert.doesNotMatch(third.output(), /first run/);
    await third.kill();
  } finally {
    for (const p of procs) await p.kill();
    await tmp.dispose();
  }
});

test("INLAY_CONSOLE_BOOTSTRAP_TOKEN replaces a lost bootstrap secret", async () => {
  const tmp = await makeTempDir("inlay-cli-");
  const args = ["--database", join(tmp.path, "c.sqlite"), "--listen", "127.0.0.1:0"];
  let first: ConsoleProcess | undefined;
  try {
    first = await spawnConsole(args, { INLAY_CONSOLE_BOOTSTRAP_TOKEN: "" });
    const lost = /"secret":"(inlay_boot_[A-Za-z0-9_-]+)"/.exec(first.output())?.[1];
    assert.ok(lost !== undefined, first.output());
    await first.kill();
    const second = await spawnConsole(args, { INLAY_CONSOLE_BOOTSTRAP_TOKEN: "operator-chosen-secret-123" });
    try {
      assert.doesNotMatch(second.output(), /operator-chosen/, "the console never echoes the secret it was given");
      assert.equal((await bootstrap(second.url, lost)).status, 403);
      assert.equal((await bootstrap(second.url, "operator-chosen-secret-123")).status, 201);
    } finally {
      await second.kill();
    }
  } finally {
    await first?.kill();
    await tmp.dispose();
  }
});

test("inlay console fails to start with one message and exits: bad TLS files, a database path it cannot make", async () => {
  const { execFile } = await import("node:child_process");
  const { writeFile } = await import("node:fs/promises");
  const tmp = await makeTempDir("inlay-cli-");
  try {
    const bad = join(tmp.path, "bad.pem");
    await writeFile(bad, "not a PEM file\n");
    const run = (args: string[]): Promise<{ code: number | null; stderr: string; killed: boolean }> =>
      new Promise((resolve) => {
        // A console that fails yet keeps running (a timer or thread left behind) is killed here and fails the test.
        execFile(process.execPath, [MAIN, "console", "--listen", "127.0.0.1:0", ...args], { timeout: 15_000 }, (err, _out, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr, killed: (err as { killed?: boolean } | null)?.killed === true });
        });
      });
    const tls = await run(["--database", join(tmp.path, "t.sqlite"), "--tls-cert", bad, "--tls-key", bad]);
    assert.equal(tls.killed, false, "the console exits after failing to start");
    assert.equal(tls.code, 1, tls.stderr);
    assert.match(tls.stderr, /^inlay: Cannot start the console on 127\.0\.0\.1:0: .*PEM/);
    // Node's own recursive mkdir spins for ever on a path under /proc.
    const db = await run(["--database", "/proc/inlay-no-such-dir/c.sqlite"]);
    assert.equal(db.killed, false, "the console exits after failing to open its database");
    assert.equal(db.code, 1, db.stderr);
    assert.match(db.stderr, /^inlay: Cannot open the console database \/proc\/inlay-no-such-dir\/c\.sqlite: ENOENT: no such file or directory, mkdir '\/proc\/inlay-no-such-dir'/);
  } finally {
    await tmp.dispose();
  }
});
