import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { startRegistry } from "../helpers/registry.js";
import { htpasswdAuth } from "../helpers/registry-auth.js";
import { startRegistryProxy } from "../helpers/registry-proxy.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { makeTempDir } from "../helpers/temp-dir.js";
import { runInlay, runInlayToFullDisk } from "../helpers/run-inlay.js";

const execFileP = promisify(execFile);

const inlay = runInlay;

test("inlay embed / inlay scan exit codes: each failure has one message naming what and where", async () => {
  const tmp = await makeTempDir("inlay-cli-");
  const reg = await startRegistry();
  const authTmp = await makeTempDir("inlay-cli-auth-");
  const authReg = await startRegistry({ authYaml: await htpasswdAuth(authTmp.path, { user: "u", password: "p" }) });
  try {
    const ok = join(tmp.path, "ok");
    await writeTestLayout(ok, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    await execFileP("skopeo", ["copy", "--dest-tls-verify=false", `oci:${ok}:v1`, `docker://${reg.host}/app:v1`]);

    // 0 with --json: digests, platforms, counts.
    const r0 = await inlay(["embed", "--json", `docker://${reg.host}/app:v1`, `docker://${reg.host}/app:inlay`]);
    assert.equal(r0.code, 0, r0.stderr);
    const doc = JSON.parse(r0.stdout) as { digest: string; platforms: { platform: string; executables: number }[] };
    assert.match(doc.digest, /^sha256:[a-f0-9]{64}$/);
    assert.equal(doc.platforms[0]!.platform, "linux/amd64");
    assert.ok(doc.platforms[0]!.executables >= 2);
    // A destination may pin the result's digest (embedding is reproducible); another result is
    // an integrity failure (5) and nothing is written.
    const pinned = await inlay(["embed", `docker://${reg.host}/app:v1`, `docker://${reg.host}/pinned@${doc.digest}`]);
    assert.equal(pinned.code, 0, pinned.stderr);
    const zero = `sha256:${"0".repeat(64)}`;
    const wrongPin = await inlay(["embed", `docker://${reg.host}/app:v1`, `docker://${reg.host}/pinned2@${zero}`]);
    assert.equal(wrongPin.code, 5, wrongPin.stderr);
    assert.match(wrongPin.stderr, new RegExp(`the destination names its digest\\): content has digest ${doc.digest}, the descriptor says ${zero} \\(aborted; nothing was written`));
    assert.equal((await fetch(`${reg.url}/v2/pinned2/manifests/${doc.digest}`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } })).status, 404);

    // scan: summary, and the full manifest with --json.
    const s = await inlay(["scan", `docker://${reg.host}/app:inlay`]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /linux\/amd64/);
    const sj = await inlay(["scan", "--json", `oci:${ok}:v1`]);
    assert.equal(sj.code, 0, sj.stderr);
    const m = JSON.parse(sj.stdout) as { entries: { path: string; kind: string }[] };
    assert.deepEqual(m.entries.map((e) => [e.path, e.kind]), [["/bin/busybox", "elf"]]);
    // Several platforms: keyed by platform; two images of one platform keep both, by digest.
    const multi = join(tmp.path, "multi");
    const busybox = await busyboxFiles();
    await writeTestLayout(multi, "v1", [
      { architecture: "amd64", layers: [busybox], cmd: ["/bin/sh"] },
      { architecture: "amd64", layers: [busybox, [{ path: "bin/extra", data: "#!/bin/sh\n", mode: 0o755 }]], cmd: ["/bin/sh"] },
      { architecture: "arm64", layers: [busybox], cmd: ["/bin/sh"] },
    ]);
    const mj = await inlay(["scan", "--json", `oci:${multi}:v1`]);
    assert.equal(mj.code, 0, mj.stderr);
    const byKey = JSON.parse(mj.stdout) as Record<string, { entries: { path: string }[] }>;
    const keys = Object.keys(byKey);
    assert.equal(keys.length, 3, keys.join(", "));
    assert.ok(keys.includes("linux/arm64"));
    const amd = keys.filter((k) => /^linux\/amd64@sha256:[0-9a-f]{64}$/.test(k));
    assert.equal(amd.length, 2, keys.join(", "));
    assert.deepEqual(amd.map((k) => byKey[k]!.entries.length).sort(), [1, 2]);

    // 3: missing tag.
    const r3 = await inlay(["embed", `docker://${reg.host}/app:nope`, `docker://${reg.host}/app:x`]);
    assert.equal(r3.code, 3, r3.stderr);
    assert.match(r3.stderr, new RegExp(`tag nope in repository app on registry ${reg.host}`));

    // 4: failed authentication names the registry and the credential source.
    const cfgDir = join(tmp.path, "docker");
    await mkdir(cfgDir);
    await writeFile(join(cfgDir, "config.json"), JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from("u:wrong").toString("base64") } } }));
    const r4 = await inlay(["embed", `docker://${authReg.host}/app:v1`, `docker://${authReg.host}/app:x`], { ...process.env, DOCKER_CONFIG: cfgDir, REGISTRY_AUTH_FILE: join(cfgDir, "none.json") });
    assert.equal(r4.code, 4, r4.stderr);
    assert.match(r4.stderr, new RegExp(`registry ${authReg.host}.*credential source: ${join(cfgDir, "config.json")}`));

    // 5: digest mismatch aborts and nothing is tagged.
    const raw = JSON.parse((await execFileP("skopeo", ["inspect", "--tls-verify=false", "--raw", `docker://${reg.host}/app:v1`])).stdout) as { layers: { digest: string }[] };
    const proxy = await startRegistryProxy(reg.url, { corruptBlob: raw.layers[0]!.digest });
    try {
      const r5 = await inlay(["embed", `docker://${proxy.host}/app:v1`, `docker://${reg.host}/lied:v1`]);
      assert.equal(r5.code, 5, r5.stderr);
      assert.match(r5.stderr, new RegExp(`${raw.layers[0]!.digest}.*nothing was written`));
      assert.equal((await fetch(`${reg.url}/v2/lied/manifests/v1`, { method: "HEAD" })).status, 404);
    } finally {
      await proxy.dispose();
    }

    // 6: unsupported layer media type.
    const weird = join(tmp.path, "weird");
    await writeTestLayout(weird, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    const idx = JSON.parse(await readFile(join(weird, "index.json"), "utf8"));
    const mPath = join(weird, "blobs/sha256", idx.manifests[0].digest.slice(7));
    const man = JSON.parse(await readFile(mPath, "utf8"));
    man.layers[0].mediaType = "application/vnd.example.layer.v1+squashfs";
    const mb = Buffer.from(JSON.stringify(man));
    const { createHash } = await import("node:crypto");
    const hex = createHash("sha256").update(mb).digest("hex");
    await writeFile(join(weird, "blobs/sha256", hex), mb);
    idx.manifests[0] = { ...idx.manifests[0], digest: `sha256:${hex}`, size: mb.length };
    await writeFile(join(weird, "index.json"), JSON.stringify(idx));
    const r6 = await inlay(["embed", `oci:${weird}:v1`, `oci:${join(tmp.path, "o6")}:x`]);
    assert.equal(r6.code, 6, r6.stderr);
    assert.match(r6.stderr, /unsupported layer media type application\/vnd\.example\.layer\.v1\+squashfs/);

    // 7: neither Entrypoint nor Cmd.
    const nocmd = join(tmp.path, "nocmd");
    await writeTestLayout(nocmd, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()] }]);
    const r7 = await inlay(["embed", `oci:${nocmd}:v1`, `oci:${join(tmp.path, "o7")}:x`]);
    assert.equal(r7.code, 7, r7.stderr);
    assert.match(r7.stderr, /neither Entrypoint nor Cmd/);

    // 8: Windows refused.
    const win = join(tmp.path, "win");
    await writeTestLayout(win, "v1", [{ architecture: "amd64", os: "windows", layers: [[{ path: "x.exe", data: "MZ" }]], cmd: ["x.exe"] }]);
    const r8 = await inlay(["embed", `oci:${win}:v1`, `oci:${join(tmp.path, "o8")}:x`]);
    assert.equal(r8.code, 8, r8.stderr);
    assert.match(r8.stderr, /Windows image/);

    // 13: no usable enforcer for the platform (here the arm64 build where the amd64 one belongs):
    // named, refused before anything is written.
    const wrongDir = join(tmp.path, "wrong-enforcers");
    await mkdir(join(wrongDir, "x86_64"), { recursive: true });
    await writeFile(join(wrongDir, "x86_64", "inlay-enforcer"), await readFile("enforcer/build/aarch64/inlay-enforcer"));
    const o13 = join(tmp.path, "o13");
    const r13 = await inlay(["embed", "--enforcer-dir", wrongDir, `oci:${ok}:v1`, `oci:${o13}:x`]);
    assert.equal(r13.code, 13, r13.stderr);
    assert.match(r13.stderr, /x86_64\/inlay-enforcer as the enforcer for linux\/amd64: it is an ELF executable for machine 183, not x86_64/);
    assert.doesNotMatch(r13.stderr, /internal error/);
    await assert.rejects(readFile(join(o13, "index.json")), { code: "ENOENT" });
    const r13m = await inlay(["embed", "--enforcer-dir", join(tmp.path, "none"), `docker://${reg.host}/app:v1`, `docker://${reg.host}/app:e13`]);
    assert.equal(r13m.code, 13, r13m.stderr);
    assert.match(r13m.stderr, /Cannot read the enforcer for linux\/amd64 at .*none\/x86_64\/inlay-enforcer: ENOENT/);
    const tag13 = await fetch(`http://${reg.host}/v2/app/manifests/e13`, { method: "HEAD", headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    assert.equal(tag13.status, 404, "nothing is pushed under the destination tag");

    // 10: a config whose diff_ids do not match the manifest's layers is a malformed image.
    const uneven = join(tmp.path, "uneven");
    await writeTestLayout(uneven, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"], extraConfig: { rootfs: { type: "layers", diff_ids: [] } } }]);
    for (const cmd of [["embed", `oci:${uneven}:v1`, `oci:${join(tmp.path, "o10")}:x`], ["scan", `oci:${uneven}:v1`]]) {
      const r10 = await inlay(cmd);
      assert.equal(r10.code, 10, r10.stderr);
      assert.match(r10.stderr, /the manifest lists 1 layers, the config 0 diff_ids/);
    }
    // The config is named once, by its digest.
    const badCfg = join(tmp.path, "badcfg");
    await writeTestLayout(badCfg, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"], extraConfig: { rootfs: "layers" } }]);
    const r10c = await inlay(["embed", `oci:${badCfg}:v1`, `oci:${join(tmp.path, "o10c")}:x`]);
    assert.equal(r10c.code, 10, r10c.stderr);
    assert.match(r10c.stderr, /Cannot parse image config sha256:[0-9a-f]{64} of OCI layout .*badcfg:v1: rootfs:/);

    // 11: an invalid policy names the file; a valid inline bundle spec is baked in and the enforcer accepts it.
    const badPolicy = join(tmp.path, "bad-policy.yaml");
    await writeFile(badPolicy, "apiVersion: inlay.dev/v1\nkind: RuntimePolicy\nmetadata: {name: bad}\nspec: {executables: {drift: {mode: sometimes}}}\n");
    const r11 = await inlay(["embed", "--policy", badPolicy, `oci:${ok}:v1`, `oci:${join(tmp.path, "o11")}:x`]);
    assert.equal(r11.code, 11, r11.stderr);
    assert.match(r11.stderr, new RegExp(`${badPolicy}:4`));
    const spec = { failMode: "open", activation: "always", dormancy: { env: [], paths: [] }, controls: { drift: "audit", fileless: "audit", loader: "off", blocklist: "off", allowlist: "off" }, enforceAfter: {}, driftSource: "manifest", reportExecs: true, blockList: { names: [], pathGlobs: [], sha256: [] }, allowList: { names: [], pathGlobs: [], sha256: [] } };
    const rs = await inlay(["embed", "--json", "--bundle-spec", JSON.stringify(spec), `oci:${ok}:v1`, `oci:${join(tmp.path, "os")}:x`]);
    assert.equal(rs.code, 0, rs.stderr);
    const bundleDigest = (JSON.parse(rs.stdout) as { platforms: { bundleDigest: string }[] }).platforms[0]!.bundleDigest;
    await execFileP("umoci", ["unpack", "--rootless", "--image", `${join(tmp.path, "os")}:x`, join(tmp.path, "os-b")]);
    const bundleFile = join(tmp.path, "os-b/rootfs/.inlay/bundle");
    const { stdout: checked } = await execFileP("enforcer/build/x86_64/inlay-enforcer", ["--check-bundle", bundleFile]);
    assert.match(checked, /sha256:[a-f0-9]{64}/);
    const { createHash: h } = await import("node:crypto");
    assert.equal(`sha256:${h("sha256").update(await readFile(bundleFile)).digest("hex")}`, bundleDigest);
    assert.match(await readFile(bundleFile, "utf8"), /\/bin\/busybox/);

    // 2: a malformed location is a usage error.
    const r2 = await inlay(["embed", "/not/a/location", `oci:${join(tmp.path, "o2")}`]);
    assert.equal(r2.code, 2, r2.stderr);
    // 2: so is a heap policy the CLI does not know; V8's own policy (the opt-out) embeds as the default does.
    const r2h = await inlay(["embed", `oci:${ok}:v1`, `oci:${join(tmp.path, "o2h")}:x`], { ...process.env, INLAY_HEAP_GROWTH: "off" });
    assert.equal(r2h.code, 2, r2h.stderr);
    assert.match(r2h.stderr, /INLAY_HEAP_GROWTH="off": expected "relaxed" \(the default\) or "v8"/);
    const r0v8 = await inlay(["embed", "--json", `oci:${ok}:v1`, `oci:${join(tmp.path, "o0v8")}:x`], { ...process.env, INLAY_HEAP_GROWTH: "v8" });
    assert.equal(r0v8.code, 0, r0v8.stderr);
    const r0d = await inlay(["embed", "--json", `oci:${ok}:v1`, `oci:${join(tmp.path, "o0d")}:x`]);
    assert.equal(r0d.code, 0, r0d.stderr);
    assert.equal((JSON.parse(r0v8.stdout) as { digest: string }).digest, (JSON.parse(r0d.stdout) as { digest: string }).digest, "the heap policy never changes the result");
  } finally {
    await authReg.dispose();
    await authTmp.dispose();
    await reg.dispose();
    await tmp.dispose();
  }
});

test("inlay embed / inlay scan exit 12: corrupt layer data and hostile tar entries are refused, in-process and in a scan worker", async () => {
  const tmp = await makeTempDir("inlay-cli-corrupt-");
  try {
    const files = await busyboxFiles();
    const layout = async (name: string, spec: { mangleBlob?: (b: Buffer) => Buffer; compression?: "gzip" | "zstd"; layers?: typeof files[] }): Promise<string> => {
      const dir = join(tmp.path, name);
      await writeTestLayout(dir, "v1", [{ architecture: "amd64", layers: spec.layers ?? [files], cmd: ["/bin/sh"], ...(spec.compression ? { compression: spec.compression } : {}), ...(spec.mangleBlob ? { mangleBlob: spec.mangleBlob } : {}) }]);
      return dir;
    };
    // Each blob matches its digest; what is wrong is inside it.
    const cases: { name: string; dir: string; code: number; pattern: RegExp }[] = [
      { name: "truncated gzip", dir: await layout("trunc", { mangleBlob: (b) => b.subarray(0, b.length - 100) }), code: 12, pattern: /Cannot decompress layer 0 \(sha256:[0-9a-f]{64}\) of OCI layout .*trunc:v1: the deflate data is corrupt: unexpected end of file \(gzip member 1, which starts at compressed byte 0\)/ },
      { name: "gzip without its trailer", dir: await layout("notrailer", { mangleBlob: (b) => b.subarray(0, b.length - 8) }), code: 12, pattern: /the data ends before the member's trailer \(gzip member 1, at compressed byte \d+\)/ },
      { name: "bytes after the gzip member", dir: await layout("garbage", { mangleBlob: (b) => Buffer.concat([b, Buffer.from("garbage")]) }), code: 12, pattern: /the bytes after gzip member 1 \(from compressed byte \d+\) are not another gzip member/ },
      { name: "not gzip at all", dir: await layout("notgz", { mangleBlob: () => Buffer.from("a tar+gzip layer that is neither") }), code: 12, pattern: /not gzip data \(no gzip magic number at the start\)/ },
      { name: "corrupt zstd", dir: await layout("zstd", { compression: "zstd", mangleBlob: (b) => b.subarray(0, b.length - 10) }), code: 12, pattern: /Cannot decompress layer 0 .*: the zstd data is corrupt/ },
      // Valid deflate whose bytes changed: gzip's CRC-32 is not read, the diff_id catches it.
      { name: "changed bytes in a stored block", dir: await layout("flipped", { layers: [[{ path: "bin/blob", data: randomBytes(64 * 1024), mode: 0o755 }, ...files]], mangleBlob: (b) => { const c = Buffer.from(b); c[20_000] = c[20_000]! ^ 0xff; return c; } }), code: 5, pattern: /Cannot verify layer 0 .*\(uncompressed, against its diff_id\): content has digest sha256:[0-9a-f]{64}, the descriptor says/ },
      { name: "a hostile tar entry", dir: await layout("dotdot", { layers: [[...files, { path: "../escape", data: "x" }]] }), code: 12, pattern: /Cannot apply layer 0 entry "..\/escape": .*contains a ".." component/ },
    ];
    for (const c of cases) {
      for (const env of [{}, { INLAY_SCAN_WORKERS: "1" }]) {
        const out = join(tmp.path, `out-${c.name.replace(/\W/g, "")}`);
        const r = await inlay(["embed", `oci:${c.dir}:v1`, `oci:${out}:x`], { ...process.env, ...env });
        assert.equal(r.code, c.code, `${c.name} ${JSON.stringify(env)}: ${r.stderr}`);
        assert.match(r.stderr, c.pattern, c.name);
        assert.doesNotMatch(r.stderr, /internal error/, c.name);
        await assert.rejects(readFile(join(out, "index.json")), { code: "ENOENT" }, `${c.name}: nothing written`);
      }
      const s = await inlay(["scan", `oci:${c.dir}:v1`]);
      assert.equal(s.code, c.code, `scan ${c.name}: ${s.stderr}`);
      assert.match(s.stderr, c.pattern, `scan ${c.name}`);
    }
  } finally {
    await tmp.dispose();
  }
});

test("inlay embed exit 14: a destination that cannot be written is named, quickly, and nothing is left under its name", async (t) => {
  const tmp = await makeTempDir("inlay-cli-dest-");
  try {
    const ok = join(tmp.path, "ok");
    await writeTestLayout(ok, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    const file = join(tmp.path, "a-file");
    await writeFile(file, "in the way");
    const cases: [string, RegExp][] = [
      [`oci:${file}:x`, /Cannot write OCI layout .*a-file:x: ENOTDIR: not a directory, mkdir/],
      [`oci:${join(file, "sub")}:x`, /Cannot write OCI layout .*a-file\/sub:x: ENOTDIR: not a directory, mkdir/],
      // Node's own recursive mkdir never returns here.
      ["oci:/proc/inlay-test-layout:x", /Cannot write OCI layout \/proc\/inlay-test-layout:x: ENOENT: no such file or directory, mkdir '\/proc\/inlay-test-layout'/],
      [`docker-archive:${join(tmp.path, "no-dir", "x.tar")}:app:v1`, /Cannot write docker archive .*no-dir\/x\.tar: ENOENT: no such file or directory, open/],
    ];
    for (const [dst, pattern] of cases) {
      const r = await inlay(["embed", `oci:${ok}:v1`, dst]);
      assert.equal(r.code, 14, `${dst}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /internal error|Unhandled/);
    }
    assert.equal(await readFile(file, "utf8"), "in the way");

    // The image is written but its result cannot be printed: say both, and fail.
    const printed = await runInlayToFullDisk(["embed", "--json", `oci:${ok}:v1`, `oci:${join(tmp.path, "printed")}:x`]);
    assert.equal(printed.code, 1, printed.stderr);
    assert.match(printed.stderr, /^inlay: Embedded oci:.*printed:x sha256:[0-9a-f]{64}, but cannot print the result to standard output: ENOSPC/);
    assert.doesNotMatch(printed.stderr, /Unhandled/);
    assert.match(await readFile(join(tmp.path, "printed", "index.json"), "utf8"), /"org\.opencontainers\.image\.ref\.name":"x"/);

    // A full disk: the write fails part-way, and no tag, archive or temp file is left.
    const full = join(tmp.path, "full");
    await mkdir(full);
    try {
      await execFileP("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", full]);
    } catch (err) {
      t.skip(`cannot mount a small tmpfs for the full-disk case: ${(err as Error).message}`);
      return;
    }
    try {
      const rl = await inlay(["embed", `oci:${ok}:v1`, `oci:${join(full, "layout")}:x`]);
      assert.equal(rl.code, 14, rl.stderr);
      assert.match(rl.stderr, /Cannot write OCI layout .*full\/layout:x: ENOSPC: no space left on device/);
      await assert.rejects(readFile(join(full, "layout", "index.json")), { code: "ENOENT" });
      const ra = await inlay(["embed", `oci:${ok}:v1`, `docker-archive:${join(full, "x.tar")}:app:v1`]);
      assert.equal(ra.code, 14, ra.stderr);
      assert.match(ra.stderr, /Cannot write docker archive .*full\/x\.tar: ENOSPC: no space left on device/);
      const { readdir } = await import("node:fs/promises");
      const left = [...(await readdir(full)), ...(await readdir(join(full, "layout", "blobs", "sha256")))];
      assert.deepEqual(left.filter((n) => n.includes("x.tar") || n.includes(".tmp-")), [], "no archive and no temp file is left");
    } finally {
      await execFileP("umount", [full]);
    }
  } finally {
    await tmp.dispose();
  }
});
