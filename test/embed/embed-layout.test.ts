import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, stat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { embedImage } from "../../src/embed/embed-image.js";
import { openLayoutSink } from "../../src/oci/layout/sink.js";
import { openLayoutSource } from "../../src/oci/layout/source.js";
import { busyboxFiles, writeTestLayout } from "../helpers/oci-image.js";
import { jsonBundle, listExecutables } from "../helpers/embed-doubles.js";
import { makeTempDir } from "../helpers/temp-dir.js";

const execFileP = promisify(execFile);

async function readIndexRoot(dir: string, tag: string): Promise<{ digest: string; mediaType: string }> {
  const idx = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] };
  const e = idx.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  assert.ok(e, `tag ${tag} in ${dir}/index.json`);
  return e;
}

async function blobJson(dir: string, digest: string): Promise<any> {
  return JSON.parse(await readFile(join(dir, "blobs/sha256", digest.slice(7)), "utf8"));
}

const opts = (baseName: string) => ({ bundleFor: jsonBundle, scan: listExecutables, baseName });

test("embedImage into an OCI layout: Entrypoint prefixed, Cmd kept, history and diff_ids in step, unknown fields kept; umoci unpacks it", async () => {
  const tmp = await makeTempDir("inlay-embed-layout-");
  try {
    const src = join(tmp.path, "src");
    const dst = join(tmp.path, "dst");
    await writeTestLayout(src, "v1", [
      { architecture: "amd64", layers: [await busyboxFiles(), [{ path: "app/run.sh", data: "#!/bin/sh\necho hi\n", mode: 0o755 }]], entrypoint: ["/bin/sh"], cmd: ["-c", "echo hi"], extraConfig: { "x-unknown": { keep: [1, 2] } } },
    ]);
    const r = await embedImage(openLayoutSource(src, { tag: "v1" }), openLayoutSink(dst, { tag: "v1-inlay" }), opts("oci:src:v1"));
    const root = await readIndexRoot(dst, "v1-inlay");
    assert.equal(root.digest, r.digest);
    const m = await blobJson(dst, root.digest);
    assert.equal(m.layers.length, 3);
    assert.equal(m.layers[2].mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert.equal(m.annotations["org.opencontainers.image.base.name"], "oci:src:v1");
    const cfg = await blobJson(dst, m.config.digest);
    assert.deepEqual(cfg.config.Entrypoint, ["/.inlay/inlay-enforcer", "--", "/bin/sh"]);
    assert.deepEqual(cfg.config.Cmd, ["-c", "echo hi"]);
    assert.deepEqual(cfg["x-unknown"], { keep: [1, 2] });
    assert.equal(cfg.config.Labels["test.label"], "kept");
    assert.equal(cfg.rootfs.diff_ids.length, 3);
    assert.equal(cfg.history.filter((h: { empty_layer?: boolean }) => !h.empty_layer).length, 3);
    assert.equal(cfg.config.Labels["dev.inlay.layer.diff-id"], cfg.rootfs.diff_ids[2]);
    assert.equal(r.platforms[0]!.executables, 3, "busybox, run.sh and the enforcer");

    // An independent reader: umoci unpacks the result and finds the enforcer 0755 root-owned.
    const bundleDir = join(tmp.path, "unpacked");
    await execFileP("umoci", ["unpack", "--rootless", "--image", `${dst}:v1-inlay`, bundleDir]);
    const st = await stat(join(bundleDir, "rootfs/.inlay/inlay-enforcer"));
    assert.equal(st.mode & 0o7777, 0o755);
    const enforcer = await readFile(join(bundleDir, "rootfs/.inlay/inlay-enforcer"));
    assert.deepEqual(enforcer, await readFile("enforcer/build/x86_64/inlay-enforcer"));
    const bundle = JSON.parse(await readFile(join(bundleDir, "rootfs/.inlay/bundle"), "utf8")) as { manifest: { path: string }[] };
    assert.deepEqual(bundle.manifest.map((e) => e.path), ["/.inlay/inlay-enforcer", "/app/run.sh", "/bin/busybox"]);
    assert.ok((await readdir(join(bundleDir, "rootfs/bin"))).includes("busybox"));
  } finally {
    await tmp.dispose();
  }
});

test("embedImage is reproducible and a re-embed replaces the Inlay layer instead of stacking one", async () => {
  const tmp = await makeTempDir("inlay-embed-repro-");
  try {
    const src = join(tmp.path, "src");
    await writeTestLayout(src, "v1", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
    const a = await embedImage(openLayoutSource(src, { tag: "v1" }), openLayoutSink(join(tmp.path, "a"), { tag: "x" }), opts("base"));
    const b = await embedImage(openLayoutSource(src, { tag: "v1" }), openLayoutSink(join(tmp.path, "b"), { tag: "x" }), opts("base"));
    assert.equal(a.digest, b.digest);
    const again = await embedImage(openLayoutSource(join(tmp.path, "a"), { tag: "x" }), openLayoutSink(join(tmp.path, "c"), { tag: "x" }), opts("other-name"));
    assert.equal(again.platforms[0]!.replacedInlayLayer, true);
    assert.equal(again.digest, a.digest, "re-embedding with the same inputs gives the same image");
    const m = await blobJson(join(tmp.path, "c"), again.digest);
    assert.equal(m.layers.length, 2);
    const cfg = await blobJson(join(tmp.path, "c"), m.config.digest);
    assert.deepEqual(cfg.config.Entrypoint, ["/.inlay/inlay-enforcer", "--"]);
    assert.deepEqual(cfg.config.Cmd, ["/bin/sh"]);
  } finally {
    await tmp.dispose();
  }
});

test("embedImage reads zstd and uncompressed layers and adds a gzip layer", async () => {
  const tmp = await makeTempDir("inlay-embed-zstd-");
  try {
    for (const compression of ["zstd", "none"] as const) {
      const src = join(tmp.path, `src-${compression}`);
      await writeTestLayout(src, "v1", [{ architecture: "amd64", compression, layers: [await busyboxFiles()], cmd: ["/bin/sh"] }]);
      const dst = join(tmp.path, `dst-${compression}`);
      const r = await embedImage(openLayoutSource(src, { tag: "v1" }), openLayoutSink(dst, { tag: "x" }), opts("z"));
      assert.equal(r.platforms[0]!.executables, 2);
      const m = await blobJson(dst, r.digest);
      assert.equal(m.layers[0].mediaType, compression === "zstd" ? "application/vnd.oci.image.layer.v1.tar+zstd" : "application/vnd.oci.image.layer.v1.tar");
      assert.equal(m.layers[1].mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    }
  } finally {
    await tmp.dispose();
  }
});

test("embedImage patches a nested index and copies an artifact child unchanged", async () => {
  const tmp = await makeTempDir("inlay-embed-nested-");
  try {
    const src = join(tmp.path, "src");
    await writeTestLayout(src, "inner", [{ architecture: "amd64", layers: [await busyboxFiles()], cmd: ["/bin/sh"] }], { forceIndex: true });
    const { createHash } = await import("node:crypto");
    const { writeFile } = await import("node:fs/promises");
    const put = async (b: Buffer): Promise<string> => {
      const hex = createHash("sha256").update(b).digest("hex");
      await writeFile(join(src, "blobs/sha256", hex), b);
      return `sha256:${hex}`;
    };
    const inner = await readIndexRoot(src, "inner");
    const innerSize = (await readFile(join(src, "blobs/sha256", inner.digest.slice(7)))).length;
    const emptyCfg = Buffer.from("{}");
    const artifact = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.sbom",
      config: { mediaType: "application/vnd.oci.empty.v1+json", digest: await put(emptyCfg), size: 2 },
      layers: [],
    }));
    const outer = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.index.v1+json", digest: inner.digest, size: innerSize, annotations: { nested: "yes" } },
        { mediaType: "application/vnd.example.artifact+json", artifactType: "application/vnd.example.sbom", digest: await put(artifact), size: artifact.length },
      ],
    }));
    const outerDigest = await put(outer);
    await writeFile(join(src, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: outerDigest, size: outer.length, annotations: { "org.opencontainers.image.ref.name": "outer" } }] }));

    const dst = join(tmp.path, "dst");
    const r = await embedImage(openLayoutSource(src, { tag: "outer" }), openLayoutSink(dst, { tag: "x" }), opts("nested"));
    assert.deepEqual(r.dropped, []);
    assert.equal(r.platforms.length, 1);
    const out = await blobJson(dst, r.digest);
    assert.equal(out.manifests.length, 2);
    assert.notEqual(out.manifests[0].digest, inner.digest, "the nested index was rewritten");
    assert.deepEqual(out.manifests[0].annotations, { nested: "yes" });
    assert.equal(out.manifests[1].digest, `sha256:${createHash("sha256").update(artifact).digest("hex")}`, "the artifact is unchanged");
    const nested = await blobJson(dst, out.manifests[0].digest);
    assert.equal(nested.manifests[0].digest, r.platforms[0]!.digest);
    // Every blob the result references is present in the destination.
    await stat(join(dst, "blobs/sha256", out.manifests[1].digest.slice(7)));
    await stat(join(dst, "blobs/sha256", createHash("sha256").update(emptyCfg).digest("hex")));
  } finally {
    await tmp.dispose();
  }
});
