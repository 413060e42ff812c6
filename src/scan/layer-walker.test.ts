import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { END, layersOf, makeTar, paxEntry, rawEntry, rawHeader, fixChecksum, type TarSpec } from "../../test/helpers/layer-tar.js";
import { buildExecManifest, LayerRejectedError } from "./layer-walker.js";
import type { ExecManifest } from "./exec-manifest.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const ELF = Buffer.concat([Buffer.from("7f454c46", "hex"), Buffer.from("rest-of-elf")]);

async function walk(...layers: TarSpec[][]): Promise<ExecManifest> {
  return buildExecManifest(layersOf(...(await Promise.all(layers.map(makeTar)))));
}
const paths = (m: ExecManifest) => m.entries.map((e) => e.path);
const byPath = (m: ExecManifest, p: string) => m.entries.find((e) => e.path === p);

/** Asserts a rejection that names the layer and entry, with the exact message. */
async function rejects(p: Promise<unknown>, message: string, layer: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof LayerRejectedError, `expected LayerRejectedError, got ${String(err)}`);
    assert.equal(err.message, message);
    assert.equal(err.layer, layer);
    return true;
  });
}

test("buildExecManifest records executables by the shared rule with full metadata", async () => {
  const m = await walk([
    { name: "usr/", type: "directory" },
    { name: "usr/bin/", type: "directory" },
    { name: "usr/bin/tool", mode: 0o755, content: "plain but executable", uid: 10, gid: 20 },
    { name: "usr/bin/run.sh", mode: 0o644, content: "#!/bin/sh\n" },
    { name: "usr/lib/libx.so", mode: 0o644, content: ELF },
    { name: "usr/bin/su", mode: 0o4755, content: ELF },
    { name: "usr/bin/wall", mode: 0o2711, content: "g" },
    { name: "etc/passwd", mode: 0o644, content: "root:x:0:0\n" },
    { name: "bin", type: "symlink", linkname: "usr/bin" },
  ]);
  assert.deepEqual(m, {
    entries: [
      { path: "/usr/bin/run.sh", sha256: sha("#!/bin/sh\n"), size: 10, mode: 0o644, uid: 0, gid: 0, setuid: false, setgid: false, kind: "script" },
      { path: "/usr/bin/su", sha256: sha(ELF), size: ELF.length, mode: 0o4755, uid: 0, gid: 0, setuid: true, setgid: false, kind: "elf" },
      { path: "/usr/bin/tool", sha256: sha("plain but executable"), size: 20, mode: 0o755, uid: 10, gid: 20, setuid: false, setgid: false, kind: "other" },
      { path: "/usr/bin/wall", sha256: sha("g"), size: 1, mode: 0o2711, uid: 0, gid: 0, setuid: false, setgid: true, kind: "other" },
      { path: "/usr/lib/libx.so", sha256: sha(ELF), size: ELF.length, mode: 0o644, uid: 0, gid: 0, setuid: false, setgid: false, kind: "elf" },
    ],
    symlinks: [{ path: "/bin", target: "usr/bin" }],
  });
});

test("buildExecManifest: a whiteout deletes the lower subtree, and only lower entries", async () => {
  const base: TarSpec[] = [
    { name: "opt/keep", mode: 0o755, content: "k" },
    { name: "opt/gone/deep/x", mode: 0o755, content: "x" },
    { name: "opt/replaced", mode: 0o755, content: "old" },
  ];
  assert.deepEqual(paths(await walk(base)), ["/opt/gone/deep/x", "/opt/keep", "/opt/replaced"]);
  const m = await walk(base, [
    { name: "opt/.wh.gone", content: "" },
    { name: "opt/.wh.replaced", content: "" },
    { name: "opt/replaced", mode: 0o755, content: "new" },
  ]);
  assert.deepEqual(paths(m), ["/opt/keep", "/opt/replaced"]);
  assert.equal(byPath(m, "/opt/replaced")!.sha256, sha("new"));
  // The same-layer entry also survives when it comes before its whiteout.
  const m2 = await walk(base, [
    { name: "opt/replaced", mode: 0o755, content: "new" },
    { name: "opt/.wh.replaced", content: "" },
  ]);
  assert.equal(byPath(m2, "/opt/replaced")!.sha256, sha("new"));
  // Whiteouts never appear, and one for a missing name is harmless.
  const m3 = await walk(base, [{ name: "opt/.wh.nothing", mode: 0o755, content: "" }]);
  assert.deepEqual(paths(m3), ["/opt/gone/deep/x", "/opt/keep", "/opt/replaced"]);
});

test("buildExecManifest: an opaque directory hides lower children; same-layer entries survive in any order", async () => {
  const base: TarSpec[] = [
    { name: "d/a", mode: 0o755, content: "a" },
    { name: "d/sub/b", mode: 0o755, content: "b" },
    { name: "other/c", mode: 0o755, content: "c" },
  ];
  const m = await walk(base, [
    { name: "d/before", mode: 0o755, content: "1" },
    { name: "d/sub/y", mode: 0o755, content: "y" },
    { name: "d/.wh..wh..opq", content: "" },
    { name: "d/after", mode: 0o755, content: "2" },
  ]);
  assert.deepEqual(paths(m), ["/d/after", "/d/before", "/d/sub/y", "/other/c"]);
  const opaqueFirst = await walk(base, [
    { name: "d/.wh..wh..opq", content: "" },
    { name: "d/sub/y", mode: 0o755, content: "y" },
    { name: "d/after", mode: 0o755, content: "2" },
    { name: "d/before", mode: 0o755, content: "1" },
  ]);
  assert.deepEqual(opaqueFirst, m);
});

test("buildExecManifest: a non-directory over a directory removes the subtree; directory over directory keeps it", async () => {
  const base: TarSpec[] = [
    { name: "x/tool", mode: 0o755, content: "t" },
    { name: "d/tool", mode: 0o755, content: "d" },
    { name: "f", mode: 0o755, content: "f" },
  ];
  const m = await walk(base, [
    { name: "x", mode: 0o755, content: "now a file" },
    { name: "d/", type: "directory", mode: 0o700 },
    { name: "f/", type: "directory" },
    { name: "f/inner", mode: 0o755, content: "i" },
  ]);
  assert.deepEqual(paths(m), ["/d/tool", "/f/inner", "/x"]);
  assert.equal(byPath(m, "/x")!.sha256, sha("now a file"));
  // A symlink or device over a directory removes it too.
  const m2 = await walk(base, [
    { name: "x", type: "symlink", linkname: "/elsewhere" },
    { name: "d", type: "fifo" },
  ]);
  assert.deepEqual(paths(m2), ["/f"]);
  assert.deepEqual(m2.symlinks, [{ path: "/x", target: "/elsewhere" }]);
});

test("buildExecManifest: hard links take the target's content as of their layer, also across layers", async () => {
  const m = await walk(
    [
      { name: "bin/a", mode: 0o755, content: "A-content" },
      { name: "bin/c", type: "link", linkname: "bin/a", mode: 0o755 },
    ],
    [{ name: "bin/b", type: "link", linkname: "/bin/a", mode: 0o755 }],
    [{ name: "bin/a", mode: 0o755, content: "C-content" }],
  );
  assert.deepEqual(
    m.entries.map((e) => [e.path, e.sha256]),
    [
      ["/bin/a", sha("C-content")],
      ["/bin/b", sha("A-content")],
      ["/bin/c", sha("A-content")],
    ],
    "replacing a keeps the old content under its other names",
  );
  // A link's xattrs land on the inode it shares with its target; a lower-layer target is copied
  // up first, so the target's other lower names keep the old inode.
  const caps = Buffer.from("01000002802000000000000000000000", "hex");
  const withCaps = Buffer.concat([paxEntry([["SCHILY.xattr.security.capability", caps]]), rawHeader({ name: "bin/b", typeflag: "1", linkname: "bin/a", mode: 0o755 }), END]);
  const layer0 = await makeTar([
    { name: "bin/a", mode: 0o755, content: "A" },
    { name: "bin/c", type: "link", linkname: "bin/a", mode: 0o755 },
  ]);
  const copied = await buildExecManifest(layersOf(layer0, withCaps));
  assert.deepEqual(
    copied.entries.map((e) => [e.path, e.capabilities]),
    [
      ["/bin/a", caps.toString("hex")],
      ["/bin/b", caps.toString("hex")],
      ["/bin/c", undefined],
    ],
  );
  // A link to a symlink is a symlink with the same target.
  const toLink = await walk([
    { name: "s", type: "symlink", linkname: "/target" },
    { name: "t", type: "link", linkname: "s" },
  ]);
  assert.deepEqual(toLink.symlinks, [{ path: "/s", target: "/target" }, { path: "/t", target: "/target" }]);
  // A link that declares another mode than its target's is refused.
  await rejects(
    walk([
      { name: "a", mode: 0o644, content: "data" },
      { name: "b", type: "link", linkname: "a", mode: 0o4755 },
    ]),
    'Cannot apply layer 0 entry "b": hard link declares mode 4755 owner 0:0 but its target "a" has mode 0644 owner 0:0; runtimes disagree on which applies',
    0,
  );
});

test("buildExecManifest resolves parent symlinks inside the root", async () => {
  const m = await walk(
    [
      { name: "usr/bin/", type: "directory" },
      { name: "bin", type: "symlink", linkname: "usr/bin" },
      { name: "lib", type: "symlink", linkname: "/usr/lib" },
      { name: "escape", type: "symlink", linkname: "../../../../../tmp" },
      { name: "usr/local", type: "symlink", linkname: "../../../../opt" },
      { name: "usr/share/abs", type: "symlink", linkname: "/srv" },
    ],
    [
      { name: "bin/foo", mode: 0o755, content: "foo" },
      { name: "lib/ld.so", mode: 0o644, content: ELF },
      { name: "escape/x", mode: 0o755, content: "x" },
      { name: "usr/local/bin/y", mode: 0o755, content: "y" },
      { name: "usr/share/abs/z", mode: 0o755, content: "z" },
    ],
  );
  assert.deepEqual(paths(m), ["/opt/bin/y", "/srv/z", "/tmp/x", "/usr/bin/foo", "/usr/lib/ld.so"]);
  await rejects(
    walk([
      { name: "a", type: "symlink", linkname: "b" },
      { name: "b", type: "symlink", linkname: "a" },
      { name: "a/x", content: "loop" },
    ]),
    'Cannot apply layer 0 entry "a/x": more than 255 symlinks while resolving a parent directory',
    0,
  );
  await rejects(
    walk([{ name: "file", content: "f" }], [{ name: "file/x", content: "x" }]),
    'Cannot apply layer 1 entry "file/x": a parent component (file) is not a directory',
    1,
  );
});

test("buildExecManifest reads PAX paths, GNU long names, base-256 numbers, PAX uid/gid/size and capabilities", async () => {
  const longDir = "a/" + "very-long-directory-name/".repeat(6);
  const paxLong = `${longDir}pax-tool`;
  const gnuLong = `${longDir}gnu-tool`;
  const caps = Buffer.from("0100000280200000000000000000000000000000", "hex"); // bytes ≥ 0x80 on purpose
  const tar = Buffer.concat([
    await makeTar([{ name: paxLong, mode: 0o755, content: "pax" }]).then((b) => b.subarray(0, b.length - 1024)),
    rawEntry({ name: "././@LongLink", typeflag: "L" }, gnuLong + "\0"),
    rawEntry({ name: gnuLong.slice(0, 99), typeflag: "0", mode: 0o755 }, "gnu"),
    rawEntry({ name: "big-ids", typeflag: "0", mode: 0o755, uid: 3_000_000_000, gid: 70_000, base256: ["uid", "gid", "size"] }, "b256"),
    paxEntry([["uid", "4000000000"], ["gid", "5"], ["size", "3"], ["SCHILY.xattr.security.capability", caps]]),
    rawEntry({ name: "ping", typeflag: "0", mode: 0o755, size: 0 }, "png"),
    END,
  ]);
  const m = await buildExecManifest(layersOf(tar));
  assert.deepEqual(
    m.entries.map((e) => [e.path, e.sha256, e.uid, e.gid, e.capabilities]),
    [
      [`/${gnuLong}`, sha("gnu"), 0, 0, undefined],
      [`/${paxLong}`, sha("pax"), 0, 0, undefined],
      ["/big-ids", sha("b256"), 3_000_000_000, 70_000, undefined],
      ["/ping", sha("png"), 4_000_000_000, 5, caps.toString("hex")],
    ],
  );
});

test("buildExecManifest follows Go's reader where tar readers disagree", async () => {
  // A PAX global header never renames later entries (a reader that merged it into the
  // next entry's own PAX header).
  const globalPath = Buffer.concat([
    paxEntry([["path", "evil"], ["comment", "x"]], "g"),
    paxEntry([["mtime", "1"]]),
    rawEntry({ name: "good", typeflag: "0", mode: 0o755 }, "g"),
    END,
  ]);
  assert.deepEqual(paths(await buildExecManifest(layersOf(globalPath))), ["/good"]);
  // A GNU long name wins over a PAX path.
  const both = Buffer.concat([
    paxEntry([["path", "from-pax"]]),
    rawEntry({ name: "././@LongLink", typeflag: "L" }, "from-gnu\0"),
    rawEntry({ name: "short", typeflag: "0", mode: 0o755 }, "x"),
    END,
  ]);
  assert.deepEqual(paths(await buildExecManifest(layersOf(both))), ["/from-gnu"]);
  // Typeflag '0' with a trailing slash is an (empty) file; the old NUL typeflag with one is a
  // directory (so it merges with a lower directory instead of replacing it).
  const slash = Buffer.concat([rawEntry({ name: "d/", typeflag: "0", mode: 0o755 }), END]);
  assert.deepEqual(paths(await buildExecManifest(layersOf(slash))), ["/d"]);
  const lower = Buffer.concat([rawEntry({ name: "d/tool", typeflag: "0", mode: 0o755 }, "t"), END]);
  const nulDir = Buffer.concat([rawEntry({ name: "d/", typeflag: "\0", mode: 0o755 }), END]);
  assert.deepEqual(paths(await buildExecManifest(layersOf(lower, nulDir))), ["/d/tool"]);
  const nulDirWithData = Buffer.concat([rawEntry({ name: "d/", typeflag: "\0", mode: 0o755 }, "x"), END]);
  await rejects(
    buildExecManifest(layersOf(nulDirWithData)),
    'Cannot apply layer 0: Cannot read tar entry "d/" at byte 0: a directory entry declares 1 data bytes; tar readers disagree on where the next header starts',
    0,
  );
});

test("buildExecManifest normalises absolute and dotted names, keeps the last duplicate and ignores the root", async () => {
  const m = await walk([
    { name: "./", type: "directory" },
    { name: "/usr/bin/abs", mode: 0o755, content: "abs" },
    { name: "./usr//bin/./dot", mode: 0o755, content: "dot" },
    { name: "dup", mode: 0o755, content: "first" },
    { name: "dup", mode: 0o755, content: "second" },
  ]);
  assert.deepEqual(m.entries.map((e) => [e.path, e.sha256]), [["/dup", sha("second")], ["/usr/bin/abs", sha("abs")], ["/usr/bin/dot", sha("dot")]]);
});

test("buildExecManifest treats devices and FIFOs as names, never as executables", async () => {
  const m = await walk(
    [{ name: "dev/tool", mode: 0o755, content: "t" }],
    [
      { name: "dev/tool", type: "character-device", mode: 0o6777 },
      { name: "dev/blk", type: "block-device", mode: 0o755 },
    ],
  );
  assert.deepEqual(m, { entries: [], symlinks: [] });
});

test("buildExecManifest rejects hostile layers with the layer and entry named", async () => {
  await rejects(walk([{ name: "ok", content: "" }], [{ name: "a/../../etc/x", mode: 0o755, content: "x" }]), 'Cannot apply layer 1 entry "a/../../etc/x": the name contains a ".." component', 1);
  await rejects(walk([{ name: "b", type: "link", linkname: "missing" }]), 'Cannot apply layer 0 entry "b": hard link target "missing" does not exist', 0);
  await rejects(walk([{ name: "d/", type: "directory" }, { name: "b", type: "link", linkname: "d" }]), 'Cannot apply layer 0 entry "b": hard link target "d" is a directory', 0);
  await rejects(walk([{ name: "b", type: "link", linkname: "../x" }]), 'Cannot apply layer 0 entry "b": the hard link target contains a ".." component', 0);
  await rejects(walk([{ name: "a", content: "a" }, { name: "a", type: "link", linkname: "a" }]), 'Cannot apply layer 0 entry "a": hard link target "a" does not exist', 0);
  await rejects(walk([{ name: "x/.wh..wh.plnk", content: "" }]), 'Cannot apply layer 0 entry "x/.wh..wh.plnk": reserved whiteout name .wh..wh.plnk', 0);
  await rejects(walk([{ name: "x/.wh..", content: "" }]), 'Cannot apply layer 0 entry "x/.wh..": invalid whiteout name .wh..', 0);

  const huge = Buffer.concat([rawHeader({ name: "huge", typeflag: "0", mode: 0o755, size: 0o77777777777 }), Buffer.alloc(512)]);
  await rejects(buildExecManifest(layersOf(huge), { maxEntrySize: 1024 ** 3 }), 'Cannot apply layer 0 entry "huge": size 8589934591 exceeds the limit of 1073741824 bytes (maxEntrySize)', 0);
  await rejects(buildExecManifest(layersOf(huge)), 'Cannot apply layer 0: Cannot read tar entry "huge" at byte 0: the archive ends inside its data (a truncated layer)', 0);

  const paxHuge = Buffer.concat([paxEntry([["size", "9999999999999999"]]), rawEntry({ name: "h", typeflag: "0", mode: 0o755 }), END]);
  await rejects(buildExecManifest(layersOf(paxHuge)), 'Cannot apply layer 0: Cannot read tar entry "h" at byte 1024: invalid size 10000000000000000', 0);
  const negative = rawHeader({ name: "n", typeflag: "0", mode: 0o755 });
  negative.fill(0xff, 124, 136);
  await rejects(buildExecManifest(layersOf(Buffer.concat([fixChecksum(negative), END]))), 'Cannot apply layer 0: Cannot read tar entry "n" at byte 0: negative size field', 0);

  // Go trims NULs and spaces on both sides of "\0 12" (size 10); a reader that stops at the first NUL
  // reads 0, so the data block below would become a header for it.
  const oddSize = rawHeader({ name: "o", typeflag: "0", mode: 0o755 });
  oddSize.write("\0 000000012\0", 124, 12, "latin1");
  const hiddenHeader = rawHeader({ name: "smuggled", typeflag: "0", mode: 0o755 });
  await rejects(
    buildExecManifest(layersOf(Buffer.concat([fixChecksum(oddSize), hiddenHeader, END]))),
    'Cannot apply layer 0: Cannot read tar entry "o" at byte 0: its header has a malformed size field (tar readers disagree on its value)',
    0,
  );
  const oddPax = rawEntry({ name: "p", typeflag: "x" }, "11 uid=1\n");
  oddPax.write("\0 000000013\0", 124, 12, "latin1");
  await rejects(
    buildExecManifest(layersOf(Buffer.concat([fixChecksum(oddPax.subarray(0, 512)), oddPax.subarray(512), rawEntry({ name: "q", typeflag: "0" }), END]))),
    'Cannot apply layer 0: Cannot read tar entry "p" at byte 0: its header has a malformed size field (tar readers disagree on its value)',
    0,
  );

  const corrupt = await makeTar([{ name: "a", mode: 0o755, content: "a" }]);
  corrupt[148] = corrupt[148]! ^ 1;
  await rejects(buildExecManifest(layersOf(corrupt)), "Cannot apply layer 0: Cannot read tar header at byte 0: its checksum does not match (a corrupt layer, or not a tar archive)", 0);

  const symlinkWithData = Buffer.concat([rawHeader({ name: "s", typeflag: "2", linkname: "t", size: 512 }), rawHeader({ name: "hidden", typeflag: "0", mode: 0o755 }), END]);
  await rejects(buildExecManifest(layersOf(symlinkWithData)), 'Cannot apply layer 0: Cannot read tar entry "s" at byte 0: a symlink entry declares 512 data bytes; tar readers disagree on where the next header starts', 0);

  const afterEnd = Buffer.concat([rawEntry({ name: "a", typeflag: "0", mode: 0o755 }, "a"), END, rawEntry({ name: "smuggled", typeflag: "0", mode: 0o755 }, "s"), END]);
  await rejects(buildExecManifest(layersOf(afterEnd)), 'Cannot apply layer 0: Cannot read tar entry "smuggled" at byte 2048: it follows an end-of-archive zero block (runtimes stop reading there)', 0);

  const sparse = Buffer.concat([rawEntry({ name: "sp", typeflag: "S", mode: 0o755 }, "x"), END]);
  await rejects(buildExecManifest(layersOf(sparse)), `Cannot apply layer 0: Cannot read tar entry "sp" at byte 0: unsupported entry type "S"; only files, directories, links, devices and FIFOs are allowed in layers`, 0);
  const paxSparse = Buffer.concat([paxEntry([["GNU.sparse.major", "1"]]), rawEntry({ name: "sp", typeflag: "0" }, "x"), END]);
  await rejects(buildExecManifest(layersOf(paxSparse)), 'Cannot apply layer 0: Cannot read tar entry "sp" at byte 1024: sparse files are not supported', 0);

  const badName = rawHeader({ name: "ok", typeflag: "0", mode: 0o755 });
  badName[0] = 0xff;
  const notUtf8 = Buffer.concat([fixChecksum(badName), END]);
  await rejects(buildExecManifest(layersOf(notUtf8)), 'Cannot apply layer 0: Cannot read tar entry "\uFFFDk" at byte 0: a name is not valid UTF-8', 0);

  const star = rawHeader({ name: "s", typeflag: "0", mode: 0o755 });
  star.write("tar\0", 508, "latin1");
  await rejects(
    buildExecManifest(layersOf(Buffer.concat([fixChecksum(star), END]))),
    'Cannot apply layer 0: Cannot read tar entry "s" at byte 0: STAR-format headers are not supported (readers disagree on their name prefix)',
    0,
  );

  const badPax = Buffer.concat([rawEntry({ name: "p", typeflag: "x" }, "99 path=x\n"), rawEntry({ name: "a", typeflag: "0" }), END]);
  await rejects(buildExecManifest(layersOf(badPax)), "Cannot apply layer 0: Cannot read tar header at byte 0: Cannot parse PAX header: record at byte 0 overruns or lacks its newline", 0);

  const many = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, content: "" }));
  await rejects(buildExecManifest(layersOf(await makeTar(many)), { maxEntries: 4 }), 'Cannot apply layer 0 entry "f4": the image has more than 4 entries (maxEntries)', 0);
});

test("buildExecManifest reports a failing source stream as a read error of that layer", async () => {
  const good = await makeTar([{ name: "a", mode: 0o755, content: "a" }]);
  async function* layers(): AsyncIterable<Readable> {
    yield Readable.from([good]);
    yield new Readable({
      read() {
        this.destroy(new Error("digest mismatch for sha256:abc"));
      },
    });
  }
  await assert.rejects(buildExecManifest(layers()), (err: unknown) => {
    assert.ok(!(err instanceof LayerRejectedError));
    assert.match((err as Error).message, /^Cannot read layer 1: .*digest mismatch for sha256:abc$/);
    return true;
  });
});

test("buildExecManifest is deterministic: same layers, same manifest; entry order within a layer does not matter", async () => {
  const layer: TarSpec[] = [
    { name: "usr/bin/b", mode: 0o755, content: "b" },
    { name: "usr/bin/a", mode: 0o755, content: "a" },
    { name: "lib", type: "symlink", linkname: "usr/lib" },
    { name: "usr/lib/x.so", content: ELF },
  ];
  const one = await walk(layer);
  const two = await walk(layer);
  const reversed = await walk([...layer].reverse());
  assert.equal(JSON.stringify(one), JSON.stringify(two));
  assert.equal(JSON.stringify(one), JSON.stringify(reversed));
  assert.deepEqual(paths(one), ["/usr/bin/a", "/usr/bin/b", "/usr/lib/x.so"]);
});

test("buildExecManifest skips root-level AUFS metadata but not look-alikes elsewhere", async () => {
  const m = await walk([
    { name: ".wh..wh.plnk/123.456", mode: 0o755, content: "aufs" },
    { name: ".wh..wh.aufs", mode: 0o755, content: "" },
    { name: "real", mode: 0o755, content: "r" },
  ]);
  assert.deepEqual(paths(m), ["/real"]);
  await rejects(walk([{ name: "b", type: "link", linkname: ".wh..wh.plnk/123.456" }]), 'Cannot apply layer 0 entry "b": hard link target ".wh..wh.plnk/123.456" does not exist', 0);
});

test("buildExecManifest refuses a header block with a valid checksum and nothing else (some readers take it for the end, Go for an entry)", async () => {
  const fake = Buffer.alloc(512);
  fake.write("0000400\0", 148, "latin1"); // a checksum field but no header: Go fails here
  const tar = Buffer.concat([rawEntry({ name: "a", typeflag: "0", mode: 0o755 }, "a"), fake, rawEntry({ name: "b", typeflag: "0", mode: 0o755 }, "b"), END]);
  await rejects(buildExecManifest(layersOf(tar)), 'Cannot apply layer 0: Cannot read tar entry "" at byte 1024: the entry has an empty name', 0);
});

test("buildExecManifest applies records as they are read: a refused entry ends the layer without waiting for the rest", async () => {
  const head = await makeTar([
    { name: "ok", mode: 0o755, content: "fine" },
    { name: "a/../../etc/x", mode: 0o755, content: "x" },
  ]);
  // The tar's end never comes: a walker that read the whole layer before applying it would hang.
  let destroyed = false;
  const endless = new Readable({
    read() {
      if (this.readableLength === 0 && !this.readableEnded) this.push(head.subarray(0, head.length - 1024));
      this.push = () => true; // after the first chunk: nothing more, ever
    },
    destroy(err, cb) {
      destroyed = true;
      cb(err);
    },
  });
  async function* layers(): AsyncIterable<Readable> {
    yield endless;
  }
  await rejects(buildExecManifest(layers()), 'Cannot apply layer 0 entry "a/../../etc/x": the name contains a ".." component', 0);
  assert.ok(destroyed, "the layer stream is destroyed once its entry is refused");
});

test("buildExecManifest: a hard link to a data file copies it up, so it survives an opaque directory of the link's layer", async () => {
  const base: TarSpec[] = [
    { name: "d/a", mode: 0o644, content: "data" },
    { name: "d/e", mode: 0o755, content: "exec" },
  ];
  // Layer 1 links both lower files, then makes d opaque: the copied-up targets stay.
  const upper: TarSpec[] = [
    { name: "d/b", type: "link", linkname: "d/a", mode: 0o644 },
    { name: "d/f", type: "link", linkname: "d/e", mode: 0o755 },
    { name: "d/.wh..wh..opq", content: "" },
  ];
  // d/a is still there (a link in layer 2 finds it), and still a file (nothing goes beneath it).
  await rejects(
    walk(base, upper, [
      { name: "c", type: "link", linkname: "d/a", mode: 0o644 },
      { name: "d/a/under", content: "" },
    ]),
    'Cannot apply layer 2 entry "d/a/under": a parent component (a) is not a directory',
    2,
  );
  const ok = await walk(base, upper, [{ name: "c", type: "link", linkname: "d/a", mode: 0o644 }]);
  assert.deepEqual(paths(ok), ["/d/e", "/d/f"], "data files and their links never appear; the executable and its link do");
  // With the opaque marker first, the lower file is hidden before the link looks for it.
  await rejects(walk(base, [upper[2]!, upper[0]!]), 'Cannot apply layer 1 entry "d/b": hard link target "d/a" does not exist', 1);
  // Without the link, the opaque directory hides the lower data file.
  await rejects(walk(base, [{ name: "d/.wh..wh..opq", content: "" }], [{ name: "c", type: "link", linkname: "d/a", mode: 0o644 }]), 'Cannot apply layer 2 entry "c": hard link target "d/a" does not exist', 2);
  // A link to a data file keeps its owner checks, whichever the layer.
  await rejects(walk(base, [{ name: "c", type: "link", linkname: "d/a", mode: 0o644, uid: 5 }]), 'Cannot apply layer 1 entry "c": hard link declares mode 0644 owner 5:0 but its target "d/a" has mode 0644 owner 0:0; runtimes disagree on which applies', 1);
  // Replacing a linked data file leaves the other name a data file: the link can still be linked.
  const m2 = await walk(
    [{ name: "a", mode: 0o644, content: "data" }, { name: "b", type: "link", linkname: "a", mode: 0o644 }],
    [{ name: "a", mode: 0o755, content: "now exec" }, { name: "c", type: "link", linkname: "b", mode: 0o644 }],
  );
  assert.deepEqual(paths(m2), ["/a"]);
});
