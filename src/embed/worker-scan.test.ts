import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { END, makeTar, rawEntry } from "../../test/helpers/layer-tar.js";
import { DigestMismatchError } from "../oci/internal/verify.js";
import { memorySink, memorySource } from "../../test/helpers/memory-store.js";
import { LayerRejectedError } from "../scan/layer-walker.js";
import type { ImageLayers } from "./layer-streams.js";
import { createLayerScanner, scanWorkersFromEnv } from "./worker-scan.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}` as const;
const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const PLAIN = "application/vnd.oci.image.layer.v1.tar";
const ELF = Buffer.concat([Buffer.from("7f454c46", "hex"), Buffer.alloc(300_000, 7)]);

/** An image of the given tars (gzip unless `plain`), with its source. */
function image(tars: Buffer[], opts: { plain?: number[]; diffIds?: string[]; lie?: Map<number, Buffer> } = {}): ImageLayers & { blobs: Buffer[] } {
  const blobs = tars.map((t, i) => (opts.plain?.includes(i) ? t : gzipSync(t)));
  const layers = blobs.map((b, i) => ({ mediaType: opts.plain?.includes(i) ? PLAIN : GZIP, digest: sha(b), size: b.length }));
  const lie = new Map([...(opts.lie ?? new Map<number, Buffer>())].map(([i, b]) => [layers[i]!.digest, b]));
  // Small reads, so a layer crosses many batch slots.
  const source = memorySource(new Map(blobs.map((b, i) => [layers[i]!.digest, b])), { lie, chunkBytes: 10_000 });
  return { source, layers, diffIds: opts.diffIds ?? tars.map(sha), blobs };
}

/** Runs both scanners on the same image; returns each result or error. */
async function both(img: ImageLayers): Promise<[unknown, unknown]> {
  const results: unknown[] = [];
  for (const workers of [0, 2]) {
    const scanner = createLayerScanner({ workers });
    try {
      results.push(await scanner.scan(img).catch((err: unknown) => err));
    } finally {
      await scanner.close();
    }
  }
  return results as [unknown, unknown];
}

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = err; e instanceof Error && out.length < 10; e = e.cause) out.push(e);
  return out;
}

test("scan workers build the same manifest as the main thread across layers (whiteouts, links, plain and gzip layers)", async () => {
  const tars = await Promise.all([
    makeTar([
      { name: "usr/bin/tool", mode: 0o755, content: ELF },
      { name: "usr/bin/gone", mode: 0o755, content: "g" },
      { name: "opt/a/x", mode: 0o755, content: "x" },
    ]),
    makeTar([
      { name: "usr/bin/.wh.gone", content: "" },
      { name: "usr/bin/link", type: "link", linkname: "usr/bin/tool", mode: 0o755 },
      { name: "usr/bin/su", mode: 0o4755, content: ELF },
    ]),
    makeTar([{ name: "opt/a/.wh..wh..opq", content: "" }, { name: "opt/a/y", mode: 0o755, content: "y" }]),
    makeTar([{ name: "bin", type: "symlink", linkname: "usr/bin" }]),
  ]);
  const img = image(tars, { plain: [2] });
  const [main, workers] = await both(img);
  assert.ok(!(main instanceof Error), String(main));
  assert.deepEqual(workers, main);
  const m = main as { entries: { path: string }[] };
  assert.deepEqual(m.entries.map((e) => e.path), ["/opt/a/y", "/usr/bin/link", "/usr/bin/su", "/usr/bin/tool"]);
});

test("scan workers copy each missing blob to the sink, as the main thread does", async () => {
  const tars = await Promise.all([makeTar([{ name: "a", mode: 0o755, content: ELF }]), makeTar([{ name: "b", mode: 0o755, content: "b" }]), makeTar([{ name: "c", mode: 0o755, content: "c" }])]);
  const img = image(tars);
  const sink = memorySink();
  const scanner = createLayerScanner({ workers: 2 });
  try {
    const m = await scanner.scan({ ...img, sink });
    assert.deepEqual(m.entries.map((e) => e.path), ["/a", "/b", "/c"]);
  } finally {
    await scanner.close();
  }
  assert.deepEqual([...sink.stored.keys()].sort(), img.layers.map((l) => l.digest).sort());
  for (const [i, l] of img.layers.entries()) assert.deepEqual(sink.stored.get(l.digest), img.blobs[i]);
});

test("scan workers fail like the main thread: corrupt blob, wrong diff_id, hostile tar", async () => {
  const good = await makeTar([{ name: "a", mode: 0o755, content: ELF }]);
  const other = await makeTar([{ name: "b", mode: 0o755, content: ELF }]);
  const afterEnd = Buffer.concat([rawEntry({ name: "a", typeflag: "0", mode: 0o755 }, "a"), END, rawEntry({ name: "smuggled", typeflag: "0", mode: 0o755 }, "s"), END]);
  const corrupt = gzipSync(other);
  corrupt[corrupt.length - 20]! ^= 0xff; // same size, other digest
  const cases: { what: string; img: ImageLayers; check: (e: Error) => void }[] = [
    {
      what: "a blob whose bytes do not match its digest",
      img: image([good, other], { lie: new Map([[1, corrupt]]) }),
      check: (e) => {
        assert.match(e.message, /^Cannot read layer 1: /);
        assert.ok(chain(e).some((c) => c instanceof DigestMismatchError || /incorrect header check|invalid|unexpected end/i.test((c as Error).message)), e.message);
      },
    },
    {
      what: "a wrong diff_id",
      img: image([good, other], { diffIds: [sha(good), sha(Buffer.from("other"))] }),
      check: (e) => {
        assert.match(e.message, /^Cannot read layer 1: .*against its diff_id/);
        assert.ok(chain(e).some((c) => c instanceof DigestMismatchError), "DigestMismatchError in the cause chain");
      },
    },
    {
      what: "an entry after the end-of-archive block",
      img: image([good, afterEnd, good]),
      check: (e) => {
        assert.ok(e instanceof LayerRejectedError, String(e));
        assert.equal(e.message, 'Cannot apply layer 1: Cannot read tar entry "smuggled" at byte 2048: it follows an end-of-archive zero block (runtimes stop reading there)');
      },
    },
  ];
  for (const c of cases) {
    const [main, workers] = await both(c.img);
    assert.ok(main instanceof Error, `${c.what}: the main thread must refuse it`);
    assert.ok(workers instanceof Error, `${c.what}: the workers must refuse it`);
    c.check(main);
    c.check(workers);
    assert.equal(workers.message, main.message, c.what);
    assert.deepEqual(chain(workers).map((x) => (x as Error).constructor.name), chain(main).map((x) => (x as Error).constructor.name), c.what);
  }
});

test("scan workers hand records back while reading a layer larger than a batch slot: same manifest and errors as the main thread", async () => {
  // ~9 MiB of tar: several 2 MiB batch slots, so records come back in many messages.
  const files = Array.from({ length: 3000 }, (_, i) => ({ name: `usr/lib/d${i % 7}/file-${i}.so`, mode: i % 3 === 0 ? 0o755 : 0o644, content: Buffer.alloc(2500, `${i}`) }));
  const links = [
    { name: "usr/bin/l0", type: "link" as const, linkname: "usr/lib/d0/file-0.so", mode: 0o755 },
    { name: "usr/bin/l1", type: "link" as const, linkname: "usr/lib/d1/file-1.so", mode: 0o644 },
  ];
  const big = await makeTar([...files, ...links]);
  const upper = await makeTar([{ name: "usr/lib/d3/.wh..wh..opq", content: "" }, { name: "usr/lib/.wh.d4", content: "" }]);
  const [main, workers] = await both(image([big, upper], { plain: [0] }));
  assert.ok(!(main instanceof Error), String(main));
  assert.deepEqual(workers, main);
  // The executables outside the hidden directories, and the link to one of them.
  const visible = files.filter((f) => f.mode === 0o755 && !/\/d[34]\//.test(f.name)).length + 1;
  assert.equal((main as { entries: unknown[] }).entries.length, visible);

  const hostile = await makeTar([...files, { name: "usr/../../etc/x", mode: 0o755, content: "x" }, ...links]);
  // Cut inside the body of the last file (before the end blocks and the two link headers): the
  // walker applies everything before it first.
  const truncated = big.subarray(0, big.length - 1024 - 2 * 512 - 1000);
  for (const [what, tar, message] of [
    ["a refused entry after several slots", hostile, 'Cannot apply layer 0 entry "usr/../../etc/x": the name contains a ".." component'],
    ["a layer cut inside a body", truncated, /^Cannot apply layer 0: Cannot read tar entry "usr\/lib\/d3\/file-2999\.so" at byte \d+: the archive ends inside its data \(a truncated layer\)$/],
  ] as const) {
    const [m, w] = await both(image([tar], { plain: [0] }));
    assert.ok(m instanceof LayerRejectedError, `${what}: ${String(m)}`);
    assert.ok(w instanceof LayerRejectedError, `${what}: ${String(w)}`);
    if (typeof message === "string") assert.equal(m.message, message);
    else assert.match(m.message, message);
    assert.equal(w.message, m.message, what);
  }
});

test("INLAY_SCAN_WORKERS: unset is 0, a whole number up to 16 is taken, anything else is refused", () => {
  assert.equal(scanWorkersFromEnv({}), 0);
  assert.equal(scanWorkersFromEnv({ INLAY_SCAN_WORKERS: "1" }), 1);
  assert.equal(scanWorkersFromEnv({ INLAY_SCAN_WORKERS: "2" }), 2);
  assert.equal(scanWorkersFromEnv({ INLAY_SCAN_WORKERS: "16" }), 16);
  for (const bad of ["17", "-1", "two", "1.5"]) assert.throws(() => scanWorkersFromEnv({ INLAY_SCAN_WORKERS: bad }), /INLAY_SCAN_WORKERS/);
});

test("progress reports every compressed byte of each layer and loses none to the scan, with and without workers", async () => {
  const tars = await Promise.all([makeTar([{ name: "a", mode: 0o755, content: ELF }]), makeTar([{ name: "b", mode: 0o755, content: ELF }])]);
  for (const workers of [0, 2]) {
    const img = image(tars);
    const last = new Map<number, number>();
    const scanner = createLayerScanner({ workers });
    try {
      const m = await scanner.scan({ ...img, onProgress: (p) => last.set(p.layer, p.bytes) });
      assert.deepEqual(m.entries.map((e) => e.path), ["/a", "/b"], `workers=${workers}`);
    } finally {
      await scanner.close();
    }
    assert.deepEqual([...last.entries()].sort(), img.layers.map((l, i) => [i + 1, l.size]), `workers=${workers}`);
  }
});
