/**
 * Builds small OCI image layouts from scratch for tests (no daemon, no network): each platform is
 * one or more layers of given files, a config with Entrypoint/Cmd, optionally wrapped in an index.
 * Written independently of src/oci so the library is tested against inputs it did not produce.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { pack } from "tar-stream";

export interface FileSpec {
  path: string;
  data?: Buffer | string;
  mode?: number;
  type?: "file" | "directory" | "symlink";
  linkname?: string;
}

export interface PlatformSpec {
  architecture: string;
  variant?: string;
  os?: string;
  layers: FileSpec[][];
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  /** Extra top-level config fields (to prove unknown fields survive). */
  extraConfig?: Record<string, unknown>;
  compression?: "gzip" | "zstd" | "none";
  /** Rewrites each compressed layer blob after its diff_id was taken (a broken image whose digests still match). */
  mangleBlob?: (blob: Buffer, layer: number) => Buffer;
}

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

export async function tarOf(files: FileSpec[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => void chunks.push(c as Buffer));
  const end = new Promise<void>((r) => p.on("end", () => r()));
  for (const f of files) {
    const data = f.data === undefined ? Buffer.alloc(0) : Buffer.from(f.data);
    const type = f.type ?? "file";
    const header = { name: f.path, type, mode: f.mode ?? (type === "directory" ? 0o755 : 0o644), mtime: new Date(1000), uid: 0, gid: 0, ...(f.linkname ? { linkname: f.linkname } : {}) };
    await new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null): void => (e ? reject(e) : resolve());
      if (type === "file") p.entry(header, data, cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await end;
  return Buffer.concat(chunks);
}

async function putBlob(dir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const hex = sha(data);
  await writeFile(join(dir, "blobs", "sha256", hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** Writes an OCI layout at `dir` with `tag`; one platform → a manifest, several → an index. */
export async function writeTestLayout(dir: string, tag: string, platforms: PlatformSpec[], opts: { forceIndex?: boolean; indexExtras?: object[] } = {}): Promise<{ digest: string }> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const descs: object[] = [];
  for (const p of platforms) {
    const layers: object[] = [];
    const diffIds: string[] = [];
    for (const files of p.layers) {
      const tar = await tarOf(files);
      diffIds.push(`sha256:${sha(tar)}`);
      const c = p.compression ?? "gzip";
      const packed = c === "gzip" ? gzipSync(tar) : c === "zstd" ? execFileSync("zstd", ["-q", "-c"], { input: tar, maxBuffer: 1 << 30 }) : tar;
      const blob = p.mangleBlob ? p.mangleBlob(packed, layers.length) : packed;
      const mt = c === "gzip" ? "application/vnd.oci.image.layer.v1.tar+gzip" : c === "zstd" ? "application/vnd.oci.image.layer.v1.tar+zstd" : "application/vnd.oci.image.layer.v1.tar";
      layers.push({ mediaType: mt, ...(await putBlob(dir, blob)) });
    }
    const cfg: Record<string, unknown> = {
      architecture: p.architecture,
      os: p.os ?? "linux",
      ...(p.variant ? { variant: p.variant } : {}),
      config: {
        Env: ["PATH=/bin"],
        ...(p.entrypoint !== undefined ? { Entrypoint: p.entrypoint } : {}),
        ...(p.cmd !== undefined ? { Cmd: p.cmd } : {}),
        Labels: { "test.label": "kept" },
      },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map((_, i) => ({ created_by: `test layer ${i}` })),
      ...p.extraConfig,
    };
    const config = { mediaType: "application/vnd.oci.image.config.v1+json", ...(await putBlob(dir, Buffer.from(JSON.stringify(cfg)))) };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers }));
    descs.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...(await putBlob(dir, manifest)),
      platform: { os: p.os ?? "linux", architecture: p.architecture, ...(p.variant ? { variant: p.variant } : {}) },
    });
  }
  let root: { mediaType: string; digest: string; size: number };
  if (descs.length === 1 && !opts.forceIndex) {
    const { platform: _p, ...d } = descs[0] as { platform: unknown; mediaType: string; digest: string; size: number };
    root = d;
  } else {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [...descs, ...(opts.indexExtras ?? [])] }));
    root = { mediaType: "application/vnd.oci.image.index.v1+json", ...(await putBlob(dir, index)) };
  }
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ ...root, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
  );
  return { digest: root.digest };
}

/** A small busybox root filesystem layer (static busybox from the host, a few applet links). */
export async function busyboxFiles(): Promise<FileSpec[]> {
  const { readFile } = await import("node:fs/promises");
  const bb = await readFile("/bin/busybox");
  return [
    { path: "bin/", type: "directory" },
    { path: "bin/busybox", data: bb, mode: 0o755 },
    ...["sh", "cp", "true", "echo", "cat", "ls", "sleep"].map((n) => ({ path: `bin/${n}`, type: "symlink" as const, linkname: "busybox" })),
    { path: "tmp/", type: "directory", mode: 0o1777 },
  ];
}
