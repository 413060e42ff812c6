/**
 * Real-world scale for the layer reader: a copy of this host's /usr/sbin and /usr/libexec (tens of
 * MiB of ELF binaries, scripts, symlinks), tarred by GNU tar and compressed by GNU gzip, read the
 * way embed reads a layer (gzip framing, raw inflate, diff_id check, tar walk) must give exactly the
 * manifest scanDirectory gives for the directory itself (itself checked against umoci in
 * layers-vs-directory.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { makeTempDir } from "../helpers/temp-dir.js";
import { uncompressedLayer } from "../../src/oci/internal/decompress.js";
import { buildExecManifest } from "../../src/scan/layer-walker.js";
import { scanDirectory } from "../../src/scan/scan-directory.js";

test("a GNU tar + GNU gzip layer of the host's /usr/sbin and /usr/libexec gives the manifest of the directory", async () => {
  const tmp = await makeTempDir("inlay-host-tree-");
  try {
    const root = join(tmp.path, "rootfs");
    await mkdir(join(root, "usr"), { recursive: true });
    const dirs = ["/usr/sbin", "/usr/libexec"].filter((d) => existsSync(d));
    execFileSync("cp", ["-a", ...dirs, join(root, "usr")]);
    const tar = execFileSync("tar", ["--format=gnu", "-C", root, "-cf", "-", "."], { maxBuffer: 1 << 30 });
    const gz = execFileSync("gzip", ["-c", "-6"], { input: tar, maxBuffer: 1 << 30 });
    const diffId = `sha256:${createHash("sha256").update(tar).digest("hex")}`;
    // Socket-sized chunks, as a registry download delivers them.
    const chunks: Buffer[] = [];
    for (let at = 0; at < gz.length; at += 65536) chunks.push(gz.subarray(at, at + 65536));
    const fromLayer = await buildExecManifest(
      (async function* () {
        yield uncompressedLayer(Readable.from(chunks), { compression: "gzip", diffId, what: "host layer" });
      })(),
    );
    const fromDir = await scanDirectory(root);
    assert.ok(fromDir.entries.length > 50, `only ${fromDir.entries.length} executables on this host`);
    assert.ok(fromDir.symlinks.length > 0);
    assert.deepEqual(fromLayer.entries, fromDir.entries);
    assert.deepEqual(fromLayer.symlinks, fromDir.symlinks);
  } finally {
    await tmp.dispose();
  }
});
