// The enforcer's command line: options, the default bundle next to the binary, --check-bundle
// and the configuration exit code 124.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BUILD_DIR, bundleText, eventsOf, explain, makeTargets, type Target } from "../helpers/enforcer.js";
import { makeTempDir } from "../helpers/temp-dir.js";

describe("enforcer command line (host)", () => {
  let t: Target;
  let cleanup: () => Promise<void>;
  before(async () => {
    const made = await makeTargets(["host"]);
    t = made.targets[0]!;
    cleanup = made.dispose;
  });
  after(async () => cleanup());

  test("--version and --help print to stdout and exit 0", async () => {
    const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
    const v = await t.run([t.enforcer, "--version"]);
    assert.equal(v.code, 0);
    assert.equal(v.stdout, `inlay-enforcer ${pkg.version}\n`);
    const h = await t.run([t.enforcer, "--help"]);
    assert.equal(h.code, 0);
    for (const opt of ["--bundle", "--events", "--fail-open", "--pgroup", "--check-bundle", "124", "125", "126", "127"]) assert.ok(h.stdout.includes(opt), opt);
  });

  test("--check-bundle prints the bundle id (sha256 of the file) or the error with its line", async () => {
    const text = bundleText(["control drift enforce", "exe " + "a".repeat(64) + " /bin/x"]);
    const good = await t.writeBundle(text);
    const r = await t.run([t.enforcer, "--check-bundle", good]);
    assert.equal(r.code, 0, explain(r));
    assert.equal(r.stdout, `sha256:${createHash("sha256").update(text).digest("hex")}\n`);
    const bad = await t.writeBundle("inlay-bundle 1\ncontrol drift sometimes\nend\n");
    const e = await t.run([t.enforcer, "--check-bundle", bad]);
    assert.equal(e.code, 124, explain(e));
    assert.match(e.stderr, /line 2/);
  });

  test("bad configuration exits 124 with a message and never runs the workload", async () => {
    const b = await t.writeBundle(bundleText(["control drift off"]));
    const cases: [string[], RegExp][] = [
      [[t.enforcer, "--bogus", "--", "/bin/true"], /unknown option --bogus/],
      [[t.enforcer, "--bundle", b], /no program to run/],
      [[t.enforcer, "--bundle"], /--bundle needs a value/],
      [[t.enforcer, "--bundle", `${t.scratch}/missing`, "--", "/bin/sh", "-c", "echo ran"], /missing/],
      [[t.enforcer, "--bundle", b, "--events", "carrier-pigeon", "--", "/bin/sh", "-c", "echo ran"], /event sink/],
      [[t.enforcer, "--bundle", b, "--events", "fd:x", "--", "/bin/sh", "-c", "echo ran"], /fd:N/],
      // a descriptor the enforcer did not inherit is a bad sink (124), not a set-up failure (125)
      [[t.enforcer, "--bundle", b, "--events", "fd:57", "--", "/bin/sh", "-c", "echo ran"], /event sink "fd:57": descriptor 57 is not open/],
    ];
    for (const [argv, message] of cases) {
      const r = await t.run(argv);
      assert.equal(r.code, 124, explain(r));
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    }
  });

  test("the default bundle is 'bundle' next to the binary; without it the enforcer refuses (124)", async () => {
    const dir = await makeTempDir("inlay-enf-bin-");
    try {
      const exe = join(dir.path, "inlay-enforcer");
      await copyFile(join(BUILD_DIR, "inlay-enforcer"), exe);
      await chmod(exe, 0o755);
      const missing = await t.run([exe, "--", "/bin/sh", "-c", "echo ran"]);
      assert.equal(missing.code, 124, explain(missing));
      assert.match(missing.stderr, new RegExp(`no bundle at ${dir.path}/bundle`));
      assert.equal(missing.stdout, "");
      await writeFile(join(dir.path, "bundle"), bundleText(["report-execs on"]));
      const ok = await t.run([exe, "--", "/bin/sh", "-c", "echo ran"]);
      assert.equal(ok.code, 0, explain(ok));
      assert.equal(ok.stdout, "ran\n");
      assert.ok(eventsOf(ok, "process.exec").length >= 1);
    } finally {
      await dir.dispose();
    }
  });

  test("--events file:PATH and stdout put the events there", async () => {
    const b = await t.writeBundle(bundleText(["control drift off"]));
    const r = await t.run([t.enforcer, "--bundle", b, "--events", `file:${t.scratch}/ev.ndjson`, "--", "/bin/true"]);
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual(r.events, []);
    const lines = (await readFile(`${t.scratch}/ev.ndjson`, "utf8")).trim().split("\n");
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { kind: string }).kind), ["enforcer.start", "enforcer.exit"]);
    const s = await t.run([t.enforcer, "--bundle", b, "--events", "stdout", "--", "/bin/true"]);
    assert.match(s.stdout, /"kind":"enforcer.start"/);
  });

  test("a file sink on a full file system keeps going once there is space again, and counts what it lost", { skip: process.getuid?.() !== 0 && "needs root to mount a tmpfs" }, async () => {
    const b = await t.writeBundle(bundleText(["control drift off", "report-execs on"]));
    const mnt = join(t.scratch, "full");
    await mkdir(mnt);
    const mount = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]);
    assert.equal(mount.status, 0, String(mount.stderr));
    try {
      const run = async (fill: boolean) => {
        if (fill) await assert.rejects(writeFile(join(mnt, "fill"), Buffer.alloc(128 * 1024)), { code: "ENOSPC" });
        const ev = join(mnt, fill ? "ev-full" : "ev-room");
        // 1 + 3 execs while full; rm frees the space; sleep, true and the exit after it
        const r = await t.run([t.enforcer, "--bundle", b, "--events", `file:${ev}`, "--", "/bin/sh", "-c",
          `for i in 1 2 3; do /bin/true; done; /bin/rm -f ${mnt}/fill; sleep 1.2; /bin/true; exit 2`]);
        assert.equal(r.code, 2, explain(r));
        return (await readFile(ev, "utf8")).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { kind: string; detail?: { dropped?: number; status?: number } });
      };
      // control: with room, every event is there and nothing is reported dropped
      const room = await run(false);
      assert.equal(room.filter((e) => e.kind === "enforcer.dropped").length, 0);
      const all = room.length;
      // Before the fix the first ENOSPC marked the sink dead for good: the file stayed empty and
      // nothing ever told what was lost.
      const full = await run(true);
      const dropped = full.filter((e) => e.kind === "enforcer.dropped");
      assert.equal(dropped.length, 1, JSON.stringify(full.map((e) => e.kind)));
      assert.ok((dropped[0]!.detail?.dropped ?? 0) >= 5, JSON.stringify(dropped));
      assert.deepEqual(full.at(-1), { ...full.at(-1), kind: "enforcer.exit", detail: { status: 2 } });
      // every event is either in the file or in the count
      assert.equal(full.length - 1 + dropped[0]!.detail!.dropped!, all);
    } finally {
      spawnSync("umount", [mnt]);
    }
  });
});
