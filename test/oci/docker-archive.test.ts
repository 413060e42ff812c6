import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { embedImage } from "../../src/embed/embed-image.js";
import { openDockerArchiveSink } from "../../src/oci/docker-archive/sink.js";
import { openDockerArchiveSource } from "../../src/oci/docker-archive/source.js";
import { openLayoutSource } from "../../src/oci/layout/source.js";
import { openLayoutSink } from "../../src/oci/layout/sink.js";
import { ImageNotFoundError } from "../../src/oci/errors.js";
import { startPodman } from "../helpers/podman.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { jsonBundle, listExecutables } from "../helpers/embed-doubles.js";
import { makeTempDir } from "../helpers/temp-dir.js";

const execFileP = promisify(execFile);
const opts = (baseName: string) => ({ bundleFor: jsonBundle, scan: listExecutables, baseName });

test("embed into a docker-archive (hybrid form): podman load accepts it with the new Entrypoint and Cmd", async () => {
  const tmp = await makeTempDir("inlay-archive-");
  const podman = await startPodman();
  try {
    const src = join(tmp.path, "src");
    await writeTestLayout(src, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], entrypoint: ["/bin/sh", "-c"], cmd: ["echo hi"] }]);
    const file = join(tmp.path, "out.tar");
    const r = await embedImage(openLayoutSource(src, { tag: "v1" }), openDockerArchiveSink(file, { tag: "localhost/app:inlay" }), opts("oci:src:v1"));
    const { stdout: names } = await execFileP("tar", ["-tf", file]);
    for (const n of ["oci-layout", "index.json", "manifest.json", "repositories"]) assert.ok(names.split("\n").includes(n), `${n} in the archive`);
    await podman.ok(["load", "-i", file]);
    const inspect = JSON.parse(await podman.ok(["image", "inspect", "localhost/app:inlay"])) as { Config: { Entrypoint: string[]; Cmd: string[] }; Digest: string }[];
    assert.deepEqual(inspect[0]!.Config.Entrypoint, ["/.inlay/inlay-enforcer", "--", "/bin/sh", "-c"]);
    assert.deepEqual(inspect[0]!.Config.Cmd, ["echo hi"]);
    // Read back through our own source: the archive round-trips to the same manifest digest.
    const back = await embedImage(openDockerArchiveSource(file, { tag: "localhost/app:inlay" }), openLayoutSink(join(tmp.path, "again"), { tag: "x" }), opts("oci:src:v1"));
    assert.equal(back.platforms[0]!.replacedInlayLayer, true);
    assert.equal(back.digest, r.digest);
  } finally {
    await podman.dispose();
    await tmp.dispose();
  }
});

test("the docker-archive source reads the older form that skopeo writes (manifest.json + layer tars)", async () => {
  const tmp = await makeTempDir("inlay-archive-");
  try {
    const src = join(tmp.path, "src");
    await writeTestLayout(src, "v1", [{ architecture: "amd64", layers: [await busyboxFiles(), [{ path: "app", data: "#!/bin/sh\n", mode: 0o755 }]], cmd: ["/app"] }]);
    const file = join(tmp.path, "legacy.tar");
    await execFileP("skopeo", ["copy", `oci:${src}:v1`, `docker-archive:${file}:example/app:v1`]);
    const { stdout: names } = await execFileP("tar", ["-tf", file]);
    assert.ok(!names.split("\n").includes("index.json"), "skopeo wrote the older form");
    const out = join(tmp.path, "out.tar");
    const r = await embedImage(openDockerArchiveSource(file, { tag: "example/app:v1" }), openDockerArchiveSink(out, { tag: "localhost/legacy:inlay" }), opts("docker-archive"));
    assert.equal(r.mediaType, "application/vnd.docker.distribution.manifest.v2+json");
    assert.equal(r.platforms[0]!.executables, 3);
    // podman re-reads the Docker-family result (skopeo's oci: reader accepts OCI manifests only).
    const podman = await startPodman();
    try {
      await podman.ok(["load", "-i", out]);
      const inspect = JSON.parse(await podman.ok(["image", "inspect", "localhost/legacy:inlay"])) as { Config: { Entrypoint: string[]; Cmd: string[] }; RootFS: { Layers: string[] } }[];
      assert.deepEqual(inspect[0]!.Config.Entrypoint, ["/.inlay/inlay-enforcer", "--"]);
      assert.deepEqual(inspect[0]!.Config.Cmd, ["/app"]);
      assert.equal(inspect[0]!.RootFS.Layers.length, 3);
    } finally {
      await podman.dispose();
    }
    await assert.rejects(embedImage(openDockerArchiveSource(file, { tag: "example/other:v9" }), openLayoutSink(join(tmp.path, "o2")), opts("x")), ImageNotFoundError);
  } finally {
    await tmp.dispose();
  }
});

test("the docker-archive source refuses a broken archive with a message naming the archive and the member", async () => {
  const tmp = await makeTempDir("inlay-archive-bad-");
  try {
    const { mkdir, writeFile } = await import("node:fs/promises");
    const archive = async (name: string, members: Record<string, string>): Promise<string> => {
      const dir = join(tmp.path, `${name}.d`);
      await mkdir(dir);
      for (const [m, body] of Object.entries(members)) await writeFile(join(dir, m), body);
      const file = join(tmp.path, `${name}.tar`);
      await execFileP("tar", ["-cf", file, "-C", dir, ...Object.keys(members)]);
      return file;
    };
    const cases: [string, RegExp, (e: unknown) => boolean][] = [
      [await archive("notjson", { "manifest.json": "{oops" }), /Cannot parse manifest\.json of docker archive .*notjson\.tar: not JSON/, (e) => e instanceof SyntaxError],
      [await archive("noconfig", { "manifest.json": JSON.stringify([{ Config: "../../etc/passwd", RepoTags: ["a:b"], Layers: [] }]) }), /docker archive .*noconfig\.tar: manifest\.json names config \.\.\/\.\.\/etc\/passwd, which the archive lacks/, (e) => e instanceof SyntaxError],
      [await archive("neither", { "hello.txt": "hi" }), /docker archive .*neither\.tar: it has neither index\.json nor manifest\.json/, (e) => e instanceof ImageNotFoundError],
    ];
    // A truncated archive: a member's body runs past the end of the file.
    const whole = await archive("whole", { "manifest.json": "[]".padEnd(5000, " ") });
    const { readFile: rf } = await import("node:fs/promises");
    const cut = join(tmp.path, "cut.tar");
    await writeFile(cut, (await rf(whole)).subarray(0, 2048));
    cases.push([cut, /Cannot index tar .*cut\.tar: member at byte 0 runs past the end of the file/, (e) => e instanceof SyntaxError]);
    for (const [file, pattern, cls] of cases) {
      await assert.rejects(openDockerArchiveSource(file).resolve(), (err: unknown) => {
        assert.ok(cls(err), String(err));
        assert.match((err as Error).message, pattern);
        return true;
      });
    }
  } finally {
    await tmp.dispose();
  }
});
