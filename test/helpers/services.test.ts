import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, copyFile, symlink, chmod } from "node:fs/promises";
import { join } from "node:path";
import { startPodman } from "./podman.js";
import { startRegistry } from "./registry.js";
import { makeTempDir } from "./temp-dir.js";

// Proves the harness itself: later suites depend on both services working on a fresh machine.
test("startRegistry serves the distribution API on loopback and stops cleanly", async () => {
  const reg = await startRegistry();
  try {
    const res = await fetch(`${reg.url}/v2/_catalog`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { repositories: [] });
  } finally {
    await reg.dispose();
  }
  await assert.rejects(fetch(`${reg.url}/v2/`));
});

test("startPodman runs a busybox rootfs with runc and reports the exit code", async () => {
  const podman = await startPodman();
  const rootfs = await makeTempDir("inlay-rootfs-");
  try {
    await mkdir(join(rootfs.path, "bin"), { recursive: true });
    await copyFile("/bin/busybox", join(rootfs.path, "bin/busybox"));
    await chmod(join(rootfs.path, "bin/busybox"), 0o755);
    await symlink("busybox", join(rootfs.path, "bin/sh"));
    const r = await podman.run(["run", "--rm", "--network=none", "--rootfs", rootfs.path, "/bin/sh", "-c", "echo hi; exit 7"]);
    assert.equal(r.stdout, "hi\n", r.stderr);
    assert.equal(r.code, 7);
  } finally {
    await podman.dispose();
    await rootfs.dispose();
  }
});
