// End to end: an image built from scratch (static busybox) is pushed to a registry, embedded by
// `inlay embed docker://… docker://…` with the default policy, pulled and run by podman (runc).
// The original command runs under the enforcer; a binary dropped at run time is refused with an
// exec.drift event in the container's output. Negative control: the same image without Inlay
// runs the dropped binary.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startPodman } from "../helpers/podman.js";
import { startRegistry } from "../helpers/registry.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { runInlay } from "../helpers/run-inlay.js";

const execFileP = promisify(execFile);

const inlay = (args: string[]) => runInlay(args);

// The dropped binary is busybox plus one byte: still a runnable ELF, but its content is not in the
// image (an identical copy would match the manifest and rightly run).
const DROP = "cp /bin/busybox /tmp/true && echo >> /tmp/true && /tmp/true; echo dropped-rc=$?";

test("an embedded image runs its command under the enforcer and blocks a binary dropped at run time; without Inlay it runs", async () => {
  const tmp = await makeTempDir("inlay-e2e-");
  const reg = await startRegistry();
  const podman = await startPodman({ insecureRegistries: [reg.host] });
  try {
    const layout = join(tmp.path, "src");
    await writeTestLayout(layout, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], entrypoint: ["/bin/sh", "-c"], cmd: ["echo original-ran"] }]);
    await execFileP("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${reg.host}/app:v1`]);
    const e = await inlay(["embed", `docker://${reg.host}/app:v1`, `docker://${reg.host}/app:inlay`]);
    assert.equal(e.code, 0, e.stderr);

    await podman.ok(["pull", "--tls-verify=false", `${reg.host}/app:inlay`], { timeoutMs: 120_000 });
    await podman.ok(["pull", "--tls-verify=false", `${reg.host}/app:v1`], { timeoutMs: 120_000 });

    const orig = await podman.run(["run", "--rm", "--network=none", `${reg.host}/app:inlay`]);
    assert.equal(orig.code, 0, orig.stderr);
    assert.equal(orig.stdout, "original-ran\n");

    const blocked = await podman.run(["run", "--rm", "--network=none", `${reg.host}/app:inlay`, DROP]);
    assert.match(blocked.stdout, /dropped-rc=126/, `stdout: ${blocked.stdout}\nstderr: ${blocked.stderr}`);
    const events = blocked.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { kind?: string; [k: string]: unknown });
    const drift = events.find((ev) => ev.kind === "exec.drift");
    assert.ok(drift, `an exec.drift event in the container output: ${blocked.stderr}`);
    assert.match(JSON.stringify(drift), /"exe":"\/tmp\/true"/);

    // Negative control: the same image without Inlay runs the dropped binary.
    const control = await podman.run(["run", "--rm", "--network=none", `${reg.host}/app:v1`, DROP]);
    assert.match(control.stdout, /dropped-rc=0/, control.stderr);
    assert.doesNotMatch(control.stderr, /exec\.drift/);
  } finally {
    await podman.dispose();
    await reg.dispose();
    await tmp.dispose();
  }
});
