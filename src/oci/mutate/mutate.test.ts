import { test } from "node:test";
import assert from "node:assert/strict";
import { appendLayer, removeTopLayer } from "./append-layer.js";
import { rebuildIndex } from "./rebuild-index.js";
import { patchContainerConfig } from "./set-config.js";
import type { ImageConfig } from "../v1/config.js";
import type { ImageManifest } from "../v1/manifest.js";

const d = (c: string) => `sha256:${c.repeat(64)}` as const;
const cfg: ImageConfig = {
  os: "linux",
  config: { Cmd: ["x"], Labels: { a: "1" } },
  rootfs: { type: "layers", diff_ids: [d("1")] },
  history: [{ created_by: "base" }, { created_by: "env", empty_layer: true }],
  unknown: { kept: true },
};
const man: ImageManifest = { schemaVersion: 2, config: { mediaType: "c", digest: d("c"), size: 1 }, layers: [{ mediaType: "l", digest: d("a"), size: 1 }] };

test("appendLayer keeps history and diff_ids in step and does not touch its inputs", () => {
  const before = JSON.stringify([cfg, man]);
  const r = appendLayer({ config: cfg, manifest: man }, { layer: { mediaType: "l", digest: d("b"), size: 2 }, diffId: d("2"), history: { created_by: "inlay" } });
  assert.equal(JSON.stringify([cfg, man]), before);
  assert.deepEqual(r.config.rootfs.diff_ids, [d("1"), d("2")]);
  assert.equal(r.config.history!.length, 3);
  assert.deepEqual(r.config.unknown, { kept: true });
  assert.equal(r.manifest.layers.length, 2);
  const back = removeTopLayer(r);
  assert.deepEqual(back.config.history, cfg.history);
  assert.deepEqual(back.manifest.layers, man.layers);
  // No history in the base: none is invented.
  const { history: _h, ...noHist } = cfg;
  assert.equal(appendLayer({ config: noHist, manifest: man }, { layer: man.layers[0]!, diffId: d("2"), history: {} }).config.history, undefined);
});

test("patchContainerConfig sets Entrypoint and labels and leaves Cmd alone", () => {
  const r = patchContainerConfig(cfg, { entrypoint: ["/e", "--"], labels: { b: "2", a: null } });
  assert.deepEqual(r.config, { Cmd: ["x"], Labels: { b: "2" }, Entrypoint: ["/e", "--"] });
  assert.deepEqual(cfg.config!.Labels, { a: "1" });
});

test("rebuildIndex keeps order, platform and annotations, updates digests and drops children", () => {
  const idx = {
    schemaVersion: 2 as const,
    manifests: [
      { mediaType: "m", digest: d("1"), size: 1, platform: { os: "linux", architecture: "arm64", variant: "v8" }, annotations: { k: "v" } },
      { mediaType: "m", digest: d("2"), size: 1 },
      { mediaType: "m", digest: d("3"), size: 1 },
    ],
  };
  const r = rebuildIndex(idx, new Map([[d("1"), { mediaType: "m", digest: d("9"), size: 9 }], [d("2"), null]]));
  assert.deepEqual(r.manifests, [
    { mediaType: "m", digest: d("9"), size: 9, platform: { os: "linux", architecture: "arm64", variant: "v8" }, annotations: { k: "v" } },
    { mediaType: "m", digest: d("3"), size: 1 },
  ]);
});
