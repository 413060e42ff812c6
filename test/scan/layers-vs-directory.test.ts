/**
 * Cross-check of the two scanners: layers written by the system `tar` from a real directory,
 * walked by buildExecManifest, must give exactly the manifest scanDirectory gives for the directory
 * those layers describe (built on disk by making the same changes).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, copyFile, link, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../helpers/temp-dir.js";
import { layersOf } from "../helpers/layer-tar.js";
import { buildExecManifest } from "../../src/scan/layer-walker.js";
import { scanDirectory } from "../../src/scan/scan-directory.js";

const longDir = "usr/share/" + "a-rather-long-directory-name-for-tar/".repeat(4);

function tar(args: string[]): Buffer {
  return execFileSync("tar", args, { maxBuffer: 256 * 1024 * 1024 });
}

test("buildExecManifest on system-tar layers equals scanDirectory on the directory they describe", async () => {
  const tmp = await makeTempDir();
  try {
    const root = join(tmp.path, "rootfs");
    const upper = join(tmp.path, "upper");
    const w = async (base: string, rel: string, content: string | Buffer, mode: number) => {
      await mkdir(join(base, rel, ".."), { recursive: true });
      await writeFile(join(base, rel), content);
      await chmod(join(base, rel), mode);
    };

    // Base layer: a small but varied root filesystem.
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await copyFile("/bin/busybox", join(root, "usr/bin/busybox"));
    await chmod(join(root, "usr/bin/busybox"), 0o755);
    await link(join(root, "usr/bin/busybox"), join(root, "usr/bin/bb-link"));
    await symlink("busybox", join(root, "usr/bin/sh"));
    await symlink("usr/bin", join(root, "bin"));
    await w(root, "usr/lib/libfake.so", Buffer.concat([Buffer.from("7f454c46", "hex"), Buffer.alloc(3000, 7)]), 0o644);
    await w(root, "usr/sbin/suid", "setuid tool", 0o4755);
    await w(root, "usr/bin/script.sh", "#!/bin/sh\necho hi\n", 0o644);
    await w(root, "usr/bin/old-tool", "to be deleted", 0o755);
    await w(root, "etc/data", "not executable", 0o644);
    await w(root, "opt/app/bin/run", "app runner", 0o755);
    await w(root, "var/lib/plugins/p1", "plugin 1", 0o755);
    await w(root, "var/lib/plugins/p2/inner", "plugin 2", 0o755);
    await w(root, `${longDir}long-named-tool`, "long", 0o750);
    await w(root, "home/user/tool", "owned", 0o700);
    execFileSync("chown", ["-R", "1234:5678", join(root, "home/user")]);
    execFileSync("mkfifo", [join(root, "etc/fifo")]);
    const layer0 = tar(["--format=gnu", "-C", root, "-cf", "-", "."]);

    // Second layer: the same changes made on disk and recorded the way a layer records them.
    await rm(join(root, "usr/bin/old-tool"));
    await w(upper, "usr/bin/.wh.old-tool", "", 0o644);

    await rm(join(root, "opt/app"), { recursive: true });
    await w(root, "opt/app", "app is a file now", 0o755);
    await w(upper, "opt/app", "app is a file now", 0o755);

    await rm(join(root, "var/lib/plugins"), { recursive: true });
    await w(root, "var/lib/plugins/p3", "plugin 3", 0o755);
    await w(upper, "var/lib/plugins/.wh..wh..opq", "", 0o644);
    await w(upper, "var/lib/plugins/p3", "plugin 3", 0o755);

    // Replacing a hard-linked file leaves the other name with the old content.
    await rm(join(root, "usr/bin/busybox"));
    await w(root, "usr/bin/busybox", "#!/bin/sh\necho replaced\n", 0o755);
    await w(upper, "usr/bin/busybox", "#!/bin/sh\necho replaced\n", 0o755);

    await chmod(join(root, "usr/sbin/suid"), 0o755);
    await w(upper, "usr/sbin/suid", "setuid tool", 0o755);

    // Written through the `bin → usr/bin` symlink of the lower layer.
    await w(root, "usr/bin/newtool", "new", 0o755);
    await w(upper, "bin/newtool", "new", 0o755);

    const upperPaths = ["usr/bin/.wh.old-tool", "opt/app", "var/lib/plugins/.wh..wh..opq", "var/lib/plugins/p3", "usr/bin/busybox", "usr/sbin/suid", "bin/newtool"];
    const layer1 = tar(["--format=pax", "-C", upper, "-cf", "-", ...upperPaths]);

    const fromLayers = await buildExecManifest(layersOf(layer0, layer1));
    const fromDisk = await scanDirectory(root);
    assert.deepEqual(fromLayers, fromDisk);

    // The comparison covers what it claims to: spot-check the interesting paths.
    const paths = fromDisk.entries.map((e) => e.path);
    for (const p of ["/usr/bin/newtool", "/usr/bin/bb-link", "/var/lib/plugins/p3", "/opt/app", `/${longDir}long-named-tool`]) assert.ok(paths.includes(p), p);
    for (const p of ["/usr/bin/old-tool", "/var/lib/plugins/p1", "/opt/app/bin/run", "/bin/newtool"]) assert.ok(!paths.includes(p), p);
    assert.notEqual(fromDisk.entries.find((e) => e.path === "/usr/bin/bb-link")!.sha256, fromDisk.entries.find((e) => e.path === "/usr/bin/busybox")!.sha256);
    assert.equal(fromDisk.entries.find((e) => e.path === "/home/user/tool")!.uid, 1234);

    // Negative control: the base layer alone describes a different tree.
    assert.notDeepEqual(await buildExecManifest(layersOf(layer0)), fromDisk);
  } finally {
    await tmp.dispose();
  }
});
