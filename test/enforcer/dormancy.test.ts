// Dormancy: with a dormancy signal, or `activation serverless` off a recognised serverless
// platform, the enforcer reports `enforcer.dormant` and executes the workload in its own place
// (nothing of it stays in the process tree: the workload is untraced and, in a container, PID 1).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { access, mkdir } from "node:fs/promises";
import { ALL_TARGETS, bundleText, eventsOf, explain, makeTargets, pct, type RunResult, type Target } from "../helpers/enforcer.js";
import { startSilentConsole } from "./silent-console.js";

/** The workload prints its tracer and pid. */
const PROBE = ["/bin/sh", "-c", "grep TracerPid /proc/$$/status; echo pid=$$"];

for (const kind of ALL_TARGETS) {
  describe(`enforcer dormancy (${kind})`, () => {
    let t: Target;
    let cleanup: () => Promise<void>;
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
    });
    after(async () => cleanup());

    function assertDormant(r: RunResult, signal: string): void {
      assert.equal(r.code, 0, explain(r));
      assert.match(r.stdout, /TracerPid:\s+0\n/, explain(r));
      if (kind !== "host") assert.match(r.stdout, /^pid=1$/m, "the workload replaced the enforcer as PID 1");
      assert.deepEqual(r.events.map((e) => e.kind), ["enforcer.dormant"], explain(r));
      assert.deepEqual(r.events[0]!.detail, { signal });
    }

    function assertProtected(r: RunResult): void {
      assert.equal(r.code, 0, explain(r));
      assert.doesNotMatch(r.stdout, /TracerPid:\s+0\n/, explain(r));
      assert.equal(eventsOf(r, "enforcer.start").length, 1, explain(r));
      assert.deepEqual(eventsOf(r, "enforcer.dormant"), []);
    }

    const run = async (directives: string[], env: Record<string, string> = {}) =>
      t.run([t.enforcer, "--bundle", await t.writeBundle(bundleText(directives)), "--", ...PROBE], { env });

    test("dormant-env NAME: dormant when set and non-empty", async () => {
      assertDormant(await run(["dormant-env INLAY_HOST_ENFORCER"], { INLAY_HOST_ENFORCER: "1" }), "env:INLAY_HOST_ENFORCER");
      assertProtected(await run(["dormant-env INLAY_HOST_ENFORCER"], { INLAY_HOST_ENFORCER: "" }));
      assertProtected(await run(["dormant-env INLAY_HOST_ENFORCER"]));
    });

    test("dormant-env NAME=VALUE: dormant only on that value", async () => {
      assertDormant(await run(["dormant-env MODE=host"], { MODE: "host" }), "env:MODE=host");
      assertProtected(await run(["dormant-env MODE=host"], { MODE: "hostile" }));
    });

    test("dormant-path: dormant when the path exists", async () => {
      const p = `${t.scratch}/host-agent.d`;
      assertProtected(await run([`dormant-path ${pct(p)}`]));
      await mkdir(t.hostPath(p), { recursive: true });
      assertDormant(await run([`dormant-path ${pct(p)}`]), `path:${p}`);
    });

    test("activation serverless: dormant off the recognised platforms, active on each of them", async () => {
      assertDormant(await run(["activation serverless"]), "activation:serverless");
      // the metadata endpoint alone does not tell the launch type: AWS_EXECUTION_ENV decides
      assertDormant(await run(["activation serverless"], { ECS_CONTAINER_METADATA_URI_V4: "http://169.254.170.2/v4/x" }), "activation:serverless");
      assertDormant(await run(["activation serverless"], { AWS_EXECUTION_ENV: "AWS_ECS_EC2" }), "activation:serverless");
      assertDormant(await run(["activation serverless"], { KUBERNETES_SERVICE_HOST: "10.0.0.1", INLAY_NODE_NAME: "ip-10-0-0-1" }), "activation:serverless");
      assertDormant(await run(["activation serverless"], { K_SERVICE: "svc" }), "activation:serverless");
      const platforms: Record<string, string>[] = [
        { AWS_EXECUTION_ENV: "AWS_ECS_FARGATE" },
        { KUBERNETES_SERVICE_HOST: "10.0.0.1", INLAY_NODE_NAME: "fargate-ip-10-0-0-1.ec2.internal" },
        { Fabric_ApplicationName: "caas-0123", Fabric_CodePackageName: "app" },
        { K_SERVICE: "svc", K_REVISION: "svc-00001", K_CONFIGURATION: "svc" },
        { CLOUD_RUN_JOB: "job", CLOUD_RUN_EXECUTION: "job-abc" },
      ];
      for (const env of platforms) assertProtected(await run(["activation serverless"], env));
      // a dormancy signal wins over a recognised platform
      assertDormant(await run(["activation serverless", "dormant-env HOSTED"], { HOSTED: "1", AWS_EXECUTION_ENV: "AWS_ECS_FARGATE" }), "env:HOSTED");
    });

    test("a stop request (SIGTERM) during the dormant registration ends it: 143, enforcer.exit, the workload is not executed", async () => {
      // Before the fix the TERM stayed pending through the registration and the execve; as PID 1
      // the workload (no handler) never saw it and ran on.
      const console_ = await startSilentConsole();
      try {
        const b = await t.writeBundle(bundleText(["dormant-env HOSTED", `console ${console_.url}`, "enrol-token abc"]));
        const marker = `${t.scratch}/dormant-started`;
        const running = t.start([t.enforcer, "--bundle", b, "--", "/bin/sh", "-c", `touch ${marker}; exec sleep 10`], {
          env: { HOSTED: "1" },
          podmanArgs: ["--network=host"],
        });
        await console_.connected;
        await running.signal("SIGTERM");
        const r = await running.result;
        assert.equal(r.code, 143, explain(r));
        assert.deepEqual(r.events.map((e) => e.kind), ["enforcer.dormant", "enforcer.exit"], explain(r));
        assert.deepEqual(r.events[1]!.detail, { stopped_by: 15, phase: "dormancy" });
        assert.equal(await access(t.hostPath(marker)).then(() => true, () => false), false, "the workload ran");
      } finally {
        await console_.close();
      }
    });
  });
}
