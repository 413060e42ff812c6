/**
 * Cross-check of the two scanners: layers written by the system `tar` from a real directory,
 * walked by buildExecManifest, must give exactly the manifest scanDirectory gives for the directory
 * those layers describe (built on disk by making the same changes), and what umoci (an independent
 * OCI unpacker) makes of the same layers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, copyFile, link, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../helpers/temp-dir.js";
import { layersOf, makeTar } from "../helpers/layer-tar.js";
import { buildExecManifest } from "../../src/scan/layer-walker.js";
import { scanDirectory } from "../../src/scan/scan-directory.js";

const longDir = "usr/share/" + "a-rather-long-directory-name-for-tar/".repeat(4);

function tar(args: string[]): Buffer {
  return execFileSync("tar", args, { maxBuffer: 256 * 1024 * 1024 });
}

/**
 * Builds a varied root filesystem under `base/rootfs`, tars it with the system tar (GNU format) as
 * layer 0, then makes a second set of changes on disk and records them as layer 1 (PAX format) the
 * way a layer records them. Afterwards `root` holds the tree the two layers describe.
 */
async function makeFixture(base: string): Promise<{ root: string; layer0: Buffer; layer1: Buffer }> {
  const root = join(base, "rootfs");
  const upper = join(base, "upper");
  const w = async (dir: string, rel: string, content: string | Buffer, mode: number) => {
    await mkdir(join(dir, rel, ".."), { recursive: true });
    await writeFile(join(dir, rel), content);
    await chmod(join(dir, rel), mode);
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

  return { root, layer0, layer1 };
}

test("buildExecManifest on system-tar layers equals scanDirectory on the directory they describe", async () => {
  const tmp = await makeTempDir();
  try {
    const { root, layer0, layer1 } = await makeFixture(tmp.path);
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

/** Writes an OCI image layout holding one image made of `layers` (uncompressed), tagged `latest`. */
async function writeLayout(dir: string, layers: Buffer[]): Promise<void> {
  const put = async (data: Buffer | string): Promise<{ digest: string; size: number }> => {
    const bytes = Buffer.from(data);
    const hex = createHash("sha256").update(bytes).digest("hex");
    await writeFile(join(dir, "blobs/sha256", hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  await mkdir(join(dir, "blobs/sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const descs = [];
  for (const l of layers) descs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...(await put(l)) });
  const config = await put(
    JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: descs.map((d) => d.digest) } }),
  );
  const manifest = await put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: descs,
    }),
  );
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "latest" } }],
    }),
  );
}

test("buildExecManifest equals scanDirectory on the rootfs umoci unpacks from the same layers", async (t) => {
  try {
    execFileSync("umoci", ["--version"], { stdio: "ignore" });
  } catch {
    t.skip("umoci is not installed (scripts/setup.sh installs it)");
    return;
  }
  const tmp = await makeTempDir();
  try {
    const { layer0, layer1 } = await makeFixture(tmp.path);
    const layout = join(tmp.path, "layout");
    await writeLayout(layout, [layer0, layer1]);
    execFileSync("umoci", ["unpack", "--image", `${layout}:latest`, join(tmp.path, "bundle")], { stdio: ["ignore", "ignore", "pipe"] });
    const unpacked = await scanDirectory(join(tmp.path, "bundle/rootfs"));
    const walked = await buildExecManifest(layersOf(layer0, layer1));
    assert.deepEqual(walked, unpacked);
    assert.ok(walked.entries.length >= 8, `only ${walked.entries.length} entries: the fixture is not exercised`);
  } finally {
    await tmp.dispose();
  }
});

test("buildExecManifest agrees with umoci on the layer rules (symlinked parents, escapes, links across layers, opaque, replacement)", async (t) => {
  try {
    execFileSync("umoci", ["--version"], { stdio: "ignore" });
  } catch {
    t.skip("umoci is not installed (scripts/setup.sh installs it)");
    return;
  }
  const elf = Buffer.from("7f454c46aaaa", "hex");
  const layers = [
    await makeTar([
      { name: "usr/", type: "directory" },
      { name: "usr/bin/", type: "directory" },
      { name: "bin", type: "symlink", linkname: "usr/bin" },
      { name: "escape", type: "symlink", linkname: "../../../../tmp" },
      { name: "abs", type: "symlink", linkname: "/usr/lib" },
      { name: "usr/bin/a", mode: 0o755, content: "A" },
      { name: "usr/bin/c", type: "link", linkname: "usr/bin/a", mode: 0o755 },
      { name: "d/", type: "directory" },
      { name: "d/x", mode: 0o755, content: "x" },
      { name: "d/sub/", type: "directory" },
      { name: "d/sub/y", mode: 0o755, content: "y" },
      { name: "w/", type: "directory" },
      { name: "w/gone/", type: "directory" },
      { name: "w/gone/z", mode: 0o755, content: "z" },
      { name: "t/", type: "directory" },
      { name: "t/inner", mode: 0o755, content: "i" },
      { name: "k/", type: "directory" },
      { name: "k/kept", mode: 0o755, content: "k" },
    ]),
    await makeTar([
      { name: "usr/bin/b", type: "link", linkname: "usr/bin/a", mode: 0o755 },
      { name: "bin/viasym", mode: 0o755, content: "v" },
      { name: "escape/esc", mode: 0o755, content: "e" },
      { name: "abs/lib.so", mode: 0o644, content: elf },
      { name: "d/", type: "directory" },
      { name: "d/new", mode: 0o755, content: "n" },
      { name: "d/.wh..wh..opq", content: "" },
      { name: "d/later", mode: 0o755, content: "l" },
      { name: "w/", type: "directory" },
      { name: "w/.wh.gone", content: "" },
      { name: "t", mode: 0o755, content: "t is a file now" },
      { name: "k/", type: "directory", mode: 0o700 },
    ]),
    await makeTar([
      { name: "usr/bin/", type: "directory" },
      { name: "usr/bin/a", mode: 0o755, content: "C" },
    ]),
  ];
  const tmp = await makeTempDir();
  try {
    const layout = join(tmp.path, "layout");
    await writeLayout(layout, layers);
    execFileSync("umoci", ["unpack", "--image", `${layout}:latest`, join(tmp.path, "bundle")], { stdio: ["ignore", "ignore", "pipe"] });
    const unpacked = await scanDirectory(join(tmp.path, "bundle/rootfs"));
    const walked = await buildExecManifest(layersOf(...layers));
    assert.deepEqual(walked, unpacked);
    assert.deepEqual(walked.entries.map((e) => e.path), [
      "/d/later",
      "/d/new",
      "/k/kept",
      "/t",
      "/tmp/esc",
      "/usr/bin/a",
      "/usr/bin/b",
      "/usr/bin/c",
      "/usr/bin/viasym",
      "/usr/lib/lib.so",
    ]);
  } finally {
    await tmp.dispose();
  }
});
