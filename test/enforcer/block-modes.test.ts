// Block-list entries with their own mode against the real enforcer (host): one bundle blocks
// miner-x (enforce) and audits pkg-y. miner-x is refused with a deny event; pkg-y runs and is
// reported. Negative control: the same pkg-y without the audit token is refused, so the token is
// what let it run. Then the product's default policy, compiled and written by the TypeScript side,
// reports a package manager and still refuses a miner.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chmod, copyFile, readdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { writeBundle } from "../../src/bundle/write-bundle.js";
import { compilePolicy } from "../../src/policy/compile-policy.js";
import { defaultPolicy } from "../../src/policy/default-policy.js";
import { BUILD_DIR, bundleText, eventsOf, explain, makeTargets, sha256File, type RunResult, type Target } from "../helpers/enforcer.js";

const EACCES_EXIT = 113; // exec-via exits 100 + errno when its exec is refused

function assertDenied(r: RunResult, exe: string): void {
  assert.equal(r.code, EACCES_EXIT, explain(r));
  const ev = eventsOf(r, "exec.blocked");
  assert.equal(ev.length, 1, explain(r));
  assert.equal(ev[0]!.action, "deny", explain(r));
  assert.equal(ev[0]!.mode, "enforce", explain(r));
  assert.equal(ev[0]!.rule, "blocklist.name", explain(r));
  assert.equal(ev[0]!.process?.exe, exe, explain(r));
}

function assertAlerted(r: RunResult, exe: string, rule = "blocklist.name"): void {
  assert.equal(r.code, 5, explain(r));
  const ev = eventsOf(r, "exec.blocked");
  assert.equal(ev.length, 1, explain(r));
  assert.equal(ev[0]!.action, "alert", explain(r));
  assert.equal(ev[0]!.mode, "audit", explain(r));
  assert.equal(ev[0]!.rule, rule, explain(r));
  assert.equal(ev[0]!.process?.exe, exe, explain(r));
}

describe("block-list entry modes (host)", () => {
  let t: Target;
  let cleanup: () => Promise<void>;
  let minerX: string;
  let pkgY: string;
  before(async () => {
    const made = await makeTargets(["host"]);
    t = made.targets[0]!;
    cleanup = made.dispose;
    // Copies of pid1 (which exits with the code it is given) under the names the lists use.
    for (const name of ["miner-x", "pkg-y", "apt-get", "xmrig"]) {
      await copyFile(join(BUILD_DIR, "tests", "pid1"), t.hostPath(`${t.scratch}/${name}`));
      await chmod(t.hostPath(`${t.scratch}/${name}`), 0o755);
    }
    minerX = `${t.scratch}/miner-x`;
    pkgY = `${t.scratch}/pkg-y`;
  });
  after(async () => cleanup());

  const via = (path: string) => [`${t.progs}/exec-via`, "plain", path, "exit", "5"];
  const run = async (directives: string[], path: string) =>
    t.run([t.enforcer, "--bundle", await t.writeBundle(bundleText(directives)), "--", ...via(path)]);

  test("an enforced entry is refused, an audit entry under control enforce runs and is reported", async () => {
    const mixed = ["control blocklist enforce", "block-name miner-x", "block-name pkg-y audit"];
    assertDenied(await run(mixed, minerX), minerX);
    assertAlerted(await run(mixed, pkgY), pkgY);
    // negative control: the same entry without the token takes the control's mode
    assertDenied(await run(["control blocklist enforce", "block-name miner-x", "block-name pkg-y"], pkgY), pkgY);
    // "enforce" is the same as no token
    assertDenied(await run(["control blocklist enforce", "block-name pkg-y enforce"], pkgY), pkgY);
  });

  test("the strongest matching entry wins, and the control stays the master switch", async () => {
    // pkg-y is audited by name but its content is blocked by hash: denied, by the hash rule
    const sha = await sha256File(t.hostPath(pkgY));
    const both = await run(["control blocklist enforce", "block-name pkg-y audit", `block-sha256 ${sha}`], pkgY);
    assert.equal(both.code, EACCES_EXIT, explain(both));
    assert.deepEqual(eventsOf(both, "exec.blocked").map((e) => [e.action, e.rule]), [["deny", "blocklist.sha256"]], explain(both));
    // an audit hash alone only reports
    assertAlerted(await run(["control blocklist enforce", `block-sha256 ${sha} audit`], pkgY), pkgY, "blocklist.sha256");
    // control audit: everything alerts; control off: nothing, whatever the tokens
    assertAlerted(await run(["control blocklist audit", "block-name pkg-y", "block-name miner-x audit"], pkgY), pkgY);
    const off = await run(["control blocklist off", "block-name miner-x", "block-name pkg-y audit"], minerX);
    assert.equal(off.code, 5, explain(off));
    assert.deepEqual(eventsOf(off, "exec.blocked"), [], explain(off));
  });

  test("the default policy, compiled: a package manager is reported and runs, a miner is refused", async () => {
    const manifest = [];
    for (const f of await readdir(join(BUILD_DIR, "tests"))) manifest.push({ sha256: await sha256File(join(BUILD_DIR, "tests", f)), path: `${t.progs}/${f}` });
    for (const tool of ["/bin/sh"]) {
      const real = await realpath(tool);
      manifest.push({ sha256: await sha256File(real), path: real });
    }
    const spec = compilePolicy(defaultPolicy().policy, { buildTime: new Date(), manifest });
    const bundle = await t.writeBundle(writeBundle(spec).toString("utf8"));
    const pm = await t.run([t.enforcer, "--bundle", bundle, "--", ...via(`${t.scratch}/apt-get`)]);
    assertAlerted(pm, `${t.scratch}/apt-get`);
    const miner = await t.run([t.enforcer, "--bundle", bundle, "--", ...via(`${t.scratch}/xmrig`)]);
    assertDenied(miner, `${t.scratch}/xmrig`);
  });
});
