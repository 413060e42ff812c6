// Platform metadata on every event without a console (the stdout/file sinks that a log driver
// such as awslogs ships): the environment's part from the first event, the ECS task metadata
// endpoint's part once the enforcer's fetch thread has it, and the workload never waits for the
// endpoint. The ECS endpoint is the loopback metadata server of the reporter suite. Negative
// control: without the metadata environment no ECS field appears and nothing is fetched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { InlayEvent } from "../../src/events/event-schema.js";
import { extractEvents } from "../../src/events/event-schema.js";
import { bundleText, explain, makeTargets, type RunResult, type Target, type TargetKind } from "../helpers/enforcer.js";
import { startMetadataServer, type MetadataServer } from "./metadata-server.js";

/** What the ECS documents of the metadata server say, as the `platform` object of an event. */
const ECS_PLATFORM = {
  platform: "ecs-fargate",
  cloud: "aws",
  account: "111122223333",
  region: "eu-west-1",
  cluster: "prod",
  service: "api-service",
  task: "arn:aws:ecs:eu-west-1:111122223333:task/prod/158d1c8083dd49d6b527399fd6414f5c",
  container: "api",
};
/** What the environment alone tells on ECS (AWS_EXECUTION_ENV). */
const ECS_ENV_ONLY = { platform: "ecs-fargate", cloud: "aws" };
const ECS_ONLY_KEYS = ["account", "region", "cluster", "service", "task", "container"];

/** The events the enforcer wrote to stdout (`--events stdout`), in order. */
function stdoutEvents(r: RunResult): InlayEvent[] {
  return extractEvents(r.stdout).events;
}

for (const kind of ["host", "podman-default"] as TargetKind[]) {
  describe(`platform metadata on events without a console (${kind})`, () => {
    let t: Target;
    let meta: MetadataServer;
    let cleanup: () => Promise<void>;
    const NET = ["--network=host"]; // the metadata server listens on the host's loopback
    before(async () => {
      const made = await makeTargets([kind]);
      t = made.targets[0]!;
      cleanup = made.dispose;
      meta = await startMetadataServer();
    });
    after(async () => {
      meta.release();
      await meta.close();
      await cleanup();
    });

    test("stdout events carry the ECS task metadata once fetched, and the environment's part from the first event", async () => {
      const b = await t.writeBundle(bundleText(["control drift off", "report-execs on"]));
      // exec events keep coming until the test has seen the fetched fields on one
      const loop = `while :; do ${t.progs}/pid1 exit 0; sleep 0.05; done`;
      const env = { ECS_CONTAINER_METADATA_URI_V4: `${meta.url}/v4/0f1e2d3c-api`, AWS_EXECUTION_ENV: "AWS_ECS_FARGATE" };
      const running = t.start([t.enforcer, "--bundle", b, "--events", "stdout", "--", "/bin/sh", "-c", loop], { env, podmanArgs: NET, timeoutMs: 30_000 });
      await running.waitFor('"cluster":"prod"');
      await running.signal("SIGTERM");
      const r = await running.result;
      const events = stdoutEvents(r);
      assert.equal(r.code, 143, explain(r));
      assert.equal(events.filter((e) => e.kind === "enforcer.start").length, 1, explain(r));
      assert.equal(events.at(-1)?.kind, "enforcer.exit", explain(r));
      // every event carries a platform; the first ones at least what the environment tells
      const first = events.findIndex((e) => e.platform?.cluster === "prod");
      assert.ok(first >= 0, explain(r));
      for (const [i, e] of events.entries()) {
        assert.deepEqual(e.platform, i < first ? ECS_ENV_ONLY : ECS_PLATFORM, `event ${i} (${e.kind}): ${explain(r)}`);
      }
      assert.ok(meta.requests.some((q) => q.path === "/v4/0f1e2d3c-api/task"), "the task document was fetched");
      assert.deepEqual(r.events, [], "nothing on stderr: the sink is stdout");
    });

    test("the workload runs while the metadata endpoint has not answered, and the enforcer does not wait for it at exit", async () => {
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const env = { ECS_CONTAINER_METADATA_URI_V4: `${meta.url}/v4/held-api`, AWS_EXECUTION_ENV: "AWS_ECS_FARGATE" };
      const running = t.start([t.enforcer, "--bundle", b, "--events", "stdout", "--", `${t.progs}/pid1`, "wait-signal"], { env, podmanArgs: NET, timeoutMs: 30_000 });
      await running.waitFor("ready");
      await meta.received("/v4/held-api");
      assert.equal(meta.held, 1, "the container document request is pending");
      await running.signal("SIGTERM");
      const r = await running.result;
      assert.equal(r.code, 15, explain(r));
      assert.equal(meta.held, 1, "the enforcer exited without the answer");
      const events = stdoutEvents(r);
      assert.deepEqual(events.map((e) => e.kind), ["enforcer.start", "enforcer.exit"], explain(r));
      for (const e of events) assert.deepEqual(e.platform, ECS_ENV_ONLY, explain(r));
    });

    test("the Kubernetes downward-API environment is on every event from the first", async () => {
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", INLAY_POD_NAME: "api-7d9f-x2x", INLAY_POD_NAMESPACE: "shop", INLAY_CLUSTER_NAME: "eks-prod", INLAY_CONTAINER_NAME: "api" };
      const r = await t.run([t.enforcer, "--bundle", b, "--events", "stdout", "--", `${t.progs}/pid1`, "exit", "3"], { env, podmanArgs: NET });
      assert.equal(r.code, 3, explain(r));
      const events = stdoutEvents(r);
      assert.equal(events.length, 2, explain(r));
      for (const e of events) {
        assert.deepEqual(e.platform, { platform: "kubernetes", cluster: "eks-prod", task: "api-7d9f-x2x", container: "api" }, explain(r));
      }
    });

    test("negative control: without the metadata environment no ECS field appears and nothing is fetched", async () => {
      const before_ = meta.requests.length;
      const b = await t.writeBundle(bundleText(["control drift off"]));
      const r = await t.run([t.enforcer, "--bundle", b, "--events", "stdout", "--", `${t.progs}/pid1`, "exit", "3"], { podmanArgs: NET });
      assert.equal(r.code, 3, explain(r));
      const events = stdoutEvents(r);
      assert.equal(events.length, 2, explain(r));
      for (const e of events) {
        assert.equal(e.platform?.platform, "container", explain(r));
        for (const k of ["cloud", ...ECS_ONLY_KEYS]) assert.equal(e.platform?.[k], undefined, `${k}: ${explain(r)}`);
      }
      assert.equal(meta.requests.length, before_, "no metadata request");
    });
  });
}
