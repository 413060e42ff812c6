import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmod, copyFile, link, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../../test/helpers/temp-dir.js";
import { scanDirectory } from "./scan-directory.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

test("scanDirectory records executables by x bit, setuid, ELF magic and #!, and never follows symlinks", async () => {
  const tmp = await makeTempDir();
  const outside = await makeTempDir();
  try {
    const root = tmp.path;
    await writeFile(join(outside.path, "secret-tool"), "#!/bin/sh\necho outside\n", { mode: 0o755 });
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await mkdir(join(root, "etc"));
    // An ELF without any x bit still counts (shared objects are mapped without one).
    await copyFile("/bin/busybox", join(root, "usr/bin/busybox"));
    await chmod(join(root, "usr/bin/busybox"), 0o644);
    await writeFile(join(root, "usr/bin/hello.sh"), "#!/bin/sh\necho hi\n", { mode: 0o644 });
    await writeFile(join(root, "usr/bin/su"), "setuid payload", { mode: 0o755 });
    await chmod(join(root, "usr/bin/su"), 0o4755);
    await writeFile(join(root, "usr/bin/wall"), "setgid, no x", { mode: 0o644 });
    await chmod(join(root, "usr/bin/wall"), 0o2640);
    await writeFile(join(root, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n", { mode: 0o644 });
    await link(join(root, "usr/bin/hello.sh"), join(root, "usr/bin/hello-again"));
    await symlink("usr/bin", join(root, "bin"));
    await symlink("/usr/bin/busybox", join(root, "usr/bin/sh"));
    await symlink(outside.path, join(root, "escape"));
    await symlink("../../../../../../..", join(root, "etc/up"));
    execFileSync("mkfifo", [join(root, "etc/fifo")]);

    const m = await scanDirectory(root);
    const busybox = await readFile("/bin/busybox");
    assert.deepEqual(
      m.entries.map((e) => [e.path, e.kind, e.mode.toString(8), e.setuid, e.setgid]),
      [
        ["/usr/bin/busybox", "elf", "644", false, false],
        ["/usr/bin/hello-again", "script", "644", false, false],
        ["/usr/bin/hello.sh", "script", "644", false, false],
        ["/usr/bin/su", "other", "4755", true, false],
        ["/usr/bin/wall", "other", "2640", false, true],
      ],
    );
    const bb = m.entries[0]!;
    assert.equal(bb.sha256, sha(busybox));
    assert.equal(bb.size, busybox.length);
    assert.equal(bb.uid, process.getuid!());
    assert.equal(m.entries[2]!.sha256, sha("#!/bin/sh\necho hi\n"));
    assert.deepEqual(m.symlinks, [
      { path: "/bin", target: "usr/bin" },
      { path: "/escape", target: outside.path },
      { path: "/etc/up", target: "../../../../../../.." },
      { path: "/usr/bin/sh", target: "/usr/bin/busybox" },
    ]);
    // The file behind the escaping symlink was not read: no entry anywhere mentions it.
    assert.ok(!JSON.stringify(m).includes("secret-tool"));
    // Same tree, same manifest.
    assert.deepEqual(await scanDirectory(root), m);
  } finally {
    await tmp.dispose();
    await outside.dispose();
  }
});

test("scanDirectory records owner ids and fails clearly on a missing directory", async () => {
  const tmp = await makeTempDir();
  try {
    await writeFile(join(tmp.path, "tool"), "x", { mode: 0o755 });
    if (process.getuid!() === 0) execFileSync("chown", ["123:456", join(tmp.path, "tool")]);
    const m = await scanDirectory(tmp.path);
    assert.equal(m.entries.length, 1);
    if (process.getuid!() === 0) assert.deepEqual([m.entries[0]!.uid, m.entries[0]!.gid], [123, 456]);
    await assert.rejects(scanDirectory(join(tmp.path, "nope")), /^Error: Cannot scan directory .*nope: ENOENT/);
    await assert.rejects(scanDirectory(join(tmp.path, "tool")), /Cannot scan directory .*tool: not a directory/);
  } finally {
    await tmp.dispose();
  }
});
