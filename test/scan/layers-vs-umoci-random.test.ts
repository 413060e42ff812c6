/**
 * Differential test: random small layer sets (seeded, so every run checks the same cases) applied
 * by buildExecManifest and by umoci unpack must give the same manifest, or both must refuse.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir } from "../helpers/temp-dir.js";
import { layersOf, makeTar, type TarSpec } from "../helpers/layer-tar.js";
import { buildExecManifest } from "../../src/scan/layer-walker.js";
import { scanDirectory } from "../../src/scan/scan-directory.js";
import type { ExecManifest } from "../../src/scan/exec-manifest.js";

const CASES = 40;

/** A small linear congruential generator: deterministic across runs and platforms. */
function makeRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function makeLayerSpecs(rnd: () => number): TarSpec[][] {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // Three names, three levels: small enough that entries collide, shadow and link to each other.
  const path = () => Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(["a", "b", "c"])).join("/");
  const withBase = (p: string, base: string) => [...p.split("/").slice(0, -1), base].join("/");
  const layer = (): TarSpec[] =>
    Array.from({ length: 1 + Math.floor(rnd() * 6) }, (): TarSpec => {
      const p = path();
      const r = rnd();
      if (r < 0.35) return { name: p, mode: pick([0o755, 0o644]), content: `c${Math.floor(rnd() * 3)}` };
      if (r < 0.5) return { name: `${p}/`, type: "directory" };
      if (r < 0.62) return { name: p, type: "symlink", linkname: pick([path(), `/${path()}`, `../${path()}`, ".."]) };
      if (r < 0.66) return { name: p, type: "link", linkname: path(), mode: 0o755 };
      if (r < 0.88) return { name: withBase(p, `.wh.${p.split("/").pop()}`), content: "" };
      return { name: withBase(p, ".wh..wh..opq"), content: "" };
    });
  return Array.from({ length: 1 + Math.floor(rnd() * 3) }, layer);
}

async function unpackWithUmoci(dir: string, layers: Buffer[]): Promise<ExecManifest | Error> {
  const layout = join(dir, "layout");
  await mkdir(join(layout, "blobs/sha256"), { recursive: true });
  const put = async (data: Buffer | string) => {
    const bytes = Buffer.from(data);
    const hex = createHash("sha256").update(bytes).digest("hex");
    await writeFile(join(layout, "blobs/sha256", hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const descs = [];
  for (const l of layers) descs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...(await put(l)) });
  const config = await put(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: descs.map((d) => d.digest) } }));
  const manifest = await put(
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: descs }),
  );
  await writeFile(
    join(layout, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": "latest" } }] }),
  );
  try {
    execFileSync("umoci", ["unpack", "--image", `${layout}:latest`, join(dir, "bundle")], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    return new Error(String((err as { stderr?: Buffer }).stderr ?? err));
  }
  return scanDirectory(join(dir, "bundle/rootfs"));
}

test(`buildExecManifest and umoci agree on ${CASES} random layer sets`, async (t) => {
  try {
    execFileSync("umoci", ["--version"], { stdio: "ignore" });
  } catch {
    t.skip("umoci is not installed (scripts/setup.sh installs it)");
    return;
  }
  const rnd = makeRandom(20261128);
  let agreed = 0;
  for (let i = 0; i < CASES; i++) {
    const specs = makeLayerSpecs(rnd);
    const layers = await Promise.all(specs.map(makeTar));
    const ours = await buildExecManifest(layersOf(...layers)).catch((err: Error) => err);
    const tmp = await makeTempDir();
    let theirs: ExecManifest | Error;
    try {
      theirs = await unpackWithUmoci(tmp.path, layers);
    } finally {
      await tmp.dispose();
    }
    const where = `case ${i}: ${JSON.stringify(specs)}`;
    if (ours instanceof Error || theirs instanceof Error) {
      assert.ok(ours instanceof Error && theirs instanceof Error, `${where}\nours: ${String(ours instanceof Error ? ours.message : "a manifest")}\numoci: ${theirs instanceof Error ? theirs.message : "a manifest"}`);
      continue;
    }
    assert.deepEqual(ours, theirs, where);
    agreed++;
  }
  // Not vacuous: most cases must produce a tree both sides accept.
  assert.ok(agreed >= CASES / 3, `only ${agreed} of ${CASES} cases produced a manifest`);
});
