import { test } from "node:test";
import assert from "node:assert/strict";
import { formatLocation, parseLocation } from "./transport.js";

test("parseLocation accepts the three transports as skopeo writes them", () => {
  assert.deepEqual(parseLocation("oci:/tmp/x:v1"), { transport: "oci", dir: "/tmp/x", tag: "v1" });
  assert.deepEqual(parseLocation("oci:/tmp/x"), { transport: "oci", dir: "/tmp/x" });
  assert.deepEqual(parseLocation("docker-archive:/a.tar:example/app:v1"), { transport: "docker-archive", file: "/a.tar", tag: "example/app:v1" });
  const l = parseLocation("docker://127.0.0.1:5000/app:v1");
  assert.equal(formatLocation(l), "docker://127.0.0.1:5000/app:v1");
  assert.throws(() => parseLocation("/tmp/x"), /use docker:\/\/HOST\/REPO:TAG/);
  assert.throws(() => parseLocation("oci:"), /expected oci:DIR/);
});
