// Fail mode, with the real thing: a container whose seccomp profile refuses ptrace (as on EKS
// Fargate, where SYS_PTRACE cannot be granted) or seccomp(2). Fail-closed (the default) refuses
// to start the workload with exit 125; fail-open runs it unprotected with a critical
// `enforcer.degraded` event.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bundleText, eventsOf, explain, makeTargets, type Target } from "../helpers/enforcer.js";
import { makeTempDir } from "../helpers/temp-dir.js";

interface SeccompProfile {
  defaultAction: string;
  syscalls: { names: string[]; action: string; errnoRet?: number }[];
}

/** The stock container profile with `syscall` refused (EPERM) instead of allowed. */
async function profileDenying(syscall: string, dir: string): Promise<string> {
  const stock = JSON.parse(await readFile("/usr/share/containers/seccomp.json", "utf8")) as SeccompProfile;
  for (const rule of stock.syscalls) rule.names = rule.names.filter((n) => n !== syscall);
  stock.syscalls = stock.syscalls.filter((r) => r.names.length > 0);
  stock.syscalls.push({ names: [syscall], action: "SCMP_ACT_ERRNO", errnoRet: 1 });
  const path = join(dir, `deny-${syscall}.json`);
  await writeFile(path, JSON.stringify(stock));
  return path;
}

for (const kind of ["podman-default", "podman-user"] as const) {
  describe(`enforcer fail mode (${kind})`, () => {
    let t: Target;
    let cleanup: () => Promise<void>;
    let profiles: { dispose(): Promise<void>; path: string };
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
      profiles = await makeTempDir("inlay-seccomp-");
    });
    after(async () => {
      await cleanup();
      await profiles.dispose();
    });

    const workload = ["/bin/sh", "-c", "echo workload-ran"];

    for (const denied of ["ptrace", "seccomp"]) {
      test(`without ${denied}: fail-closed refuses to start the workload (125)`, async () => {
        const profile = await profileDenying(denied, profiles.path);
        const b = await t.writeBundle(bundleText(["control drift off"]));
        const r = await t.run([t.enforcer, "--bundle", b, "--", ...workload], { podmanArgs: ["--security-opt", `seccomp=${profile}`] });
        assert.equal(r.code, 125, explain(r));
        assert.equal(r.stdout, "", "the workload never ran");
        assert.match(r.stderr, new RegExp(`cannot protect the workload: ${denied} unavailable`));
        const refused = eventsOf(r, "enforcer.refused");
        assert.equal(refused.length, 1, explain(r));
        assert.equal(refused[0]!.severity, "critical");
        assert.match(String((refused[0]!.detail as { cause: string }).cause), new RegExp(`^${denied} unavailable`));
        assert.deepEqual(r.events.filter((e) => e.kind !== "enforcer.refused"), [], "no claim of protection, no exit event");
      });

      test(`without ${denied}: fail-open (bundle or option) runs it unprotected with a critical event`, async () => {
        const profile = await profileDenying(denied, profiles.path);
        const open = await t.writeBundle(bundleText(["fail-mode open"]));
        const closed = await t.writeBundle(bundleText(["fail-mode closed"]));
        for (const argv of [[t.enforcer, "--bundle", open, "--", ...workload], [t.enforcer, "--bundle", closed, "--fail-open", "--", ...workload]]) {
          const r = await t.run(argv, { podmanArgs: ["--security-opt", `seccomp=${profile}`] });
          assert.equal(r.code, 0, explain(r));
          assert.equal(r.stdout, "workload-ran\n");
          const degraded = eventsOf(r, "enforcer.degraded");
          assert.equal(degraded.length, 1, explain(r));
          assert.equal(degraded[0]!.severity, "critical");
          assert.match(String((degraded[0]!.detail as { cause: string }).cause), new RegExp(`^${denied} unavailable`));
          assert.deepEqual(eventsOf(r, "enforcer.start"), [], "no claim of protection");
          assert.deepEqual(eventsOf(r, "enforcer.exit").map((e) => e.detail), [{ status: 0 }]);
        }
      });
    }

    test("negative control: the stock profile lets the enforcer protect", async () => {
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const r = await t.run([t.enforcer, "--bundle", b, "--", ...workload]);
      assert.equal(r.code, 0, explain(r));
      assert.equal(eventsOf(r, "enforcer.start").length, 1, explain(r));
    });
  });
}
