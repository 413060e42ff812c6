import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { deflateRawSync, gunzipSync, gzipSync } from "node:zlib";
import { CorruptLayerError } from "../errors.js";
import { GunzipStream } from "./gunzip-stream.js";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface MemberOpts {
  name?: string;
  comment?: string;
  extra?: Buffer;
  hcrc?: boolean;
  /** Overrides the trailer's ISIZE. */
  isize?: number;
}

/** One gzip member built field by field (RFC 1952), so every header flag can be exercised. */
function member(data: Buffer, o: MemberOpts = {}): Buffer {
  const flags = (o.hcrc ? 2 : 0) | (o.extra ? 4 : 0) | (o.name !== undefined ? 8 : 0) | (o.comment !== undefined ? 16 : 0);
  const parts: Buffer[] = [Buffer.from([0x1f, 0x8b, 8, flags, 1, 2, 3, 4, 0, 3])];
  if (o.extra) {
    const xlen = Buffer.alloc(2);
    xlen.writeUInt16LE(o.extra.length);
    parts.push(xlen, o.extra);
  }
  if (o.name !== undefined) parts.push(Buffer.from(`${o.name}\0`, "latin1"));
  if (o.comment !== undefined) parts.push(Buffer.from(`${o.comment}\0`, "latin1"));
  if (o.hcrc) {
    const h = Buffer.alloc(2);
    h.writeUInt16LE(crc32(Buffer.concat(parts)) & 0xffff);
    parts.push(h);
  }
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data), 0);
  trailer.writeUInt32LE(o.isize ?? data.length % 2 ** 32, 4);
  return Buffer.concat([...parts, deflateRawSync(data, { level: 1 }), trailer]);
}

/** Feeds `chunks` one write at a time (each after the previous callback) and collects the output. */
async function decode(chunks: Buffer[], chunkSize = 16 * 1024): Promise<Buffer> {
  const g = new GunzipStream({ what: "layer L", chunkSize, inflatedAhead: 2 * chunkSize });
  const out: Buffer[] = [];
  const read = (async () => {
    for await (const c of g) out.push(c as Buffer);
  })();
  try {
    for (const c of chunks) await new Promise<void>((resolve, reject) => g.write(c, (err) => (err ? reject(err) : resolve())));
    g.end();
    await read;
  } catch (err) {
    await read.catch(() => undefined);
    throw err;
  }
  return Buffer.concat(out);
}

/** `b` cut at the given offsets. */
function cut(b: Buffer, at: number[]): Buffer[] {
  const points = [0, ...at.filter((x) => x > 0 && x < b.length).sort((x, y) => x - y), b.length];
  return points.slice(1).map((end, i) => b.subarray(points[i], end));
}

/** Deterministic uneven chunks of 1..max bytes. */
function uneven(b: Buffer, max: number, seed: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, k = seed; at < b.length; k++) {
    const n = 1 + ((k * 7919 + seed) % max);
    out.push(b.subarray(at, at + n));
    at += n;
  }
  return out;
}

const mixed = Buffer.concat([randomBytes(700_000), Buffer.alloc(900_000, "layer text ")]);
const datas = [Buffer.alloc(0), Buffer.from("x"), Buffer.alloc(1000, "ab"), randomBytes(70_000), mixed];
const headers: MemberOpts[] = [{}, { name: "layer.tar" }, { comment: "made by a test" }, { extra: randomBytes(300) }, { extra: Buffer.alloc(0) }, { hcrc: true }, { name: "n", comment: "c", extra: Buffer.from("AB\x02\x00hi"), hcrc: true }];

test("GunzipStream: every header flag, one to three members, any chunking, the same bytes as zlib's gunzip", async () => {
  let cases = 0;
  for (const [i, data] of datas.entries()) {
    for (const [j, h] of headers.entries()) {
      const members = [member(data, h), member(datas[(i + 1) % datas.length]!, headers[(j + 2) % headers.length]), member(data.subarray(0, 123), {})].slice(0, 1 + ((i + j) % 3));
      const gz = Buffer.concat(members);
      const expected = gunzipSync(gz);
      const boundaries = members.reduce<number[]>((acc, m) => [...acc, (acc.at(-1) ?? 0) + m.length], []);
      const chunkings = [[gz], uneven(gz, 70_000, i + j), cut(gz, boundaries), cut(gz, boundaries.flatMap((b) => [b - 9, b - 8, b - 1, b + 1, b + 10]))];
      if (gz.length < 20_000) chunkings.push(uneven(gz, 1, 0));
      for (const chunks of chunkings) {
        const got = await decode(chunks);
        assert.ok(got.equals(expected), `data ${i}, header ${j}, ${members.length} members, ${chunks.length} chunks`);
        cases++;
      }
    }
  }
  assert.ok(cases >= 140);
});

test("GunzipStream: gzipSync output and a reused write buffer", async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const gz = gzipSync(data, { level: 1 });
  const g = new GunzipStream({ what: "layer L", chunkSize: 64 * 1024, inflatedAhead: 128 * 1024 });
  const out: Buffer[] = [];
  const read = (async () => {
    for await (const c of g) out.push(c as Buffer);
  })();
  // One buffer for every write, overwritten as soon as the callback says it was consumed.
  const buf = Buffer.alloc(100_000);
  for (let at = 0; at < gz.length; at += buf.length) {
    const n = gz.copy(buf, 0, at, at + buf.length);
    await new Promise<void>((resolve, reject) => g.write(buf.subarray(0, n), (err) => (err ? reject(err) : resolve())));
    buf.fill(0xa5);
  }
  g.end();
  await read;
  assert.ok(Buffer.concat(out).equals(data));
});

test("GunzipStream: a slow reader gets every byte, and zlib is not drained far ahead of it", async () => {
  const data = Buffer.alloc(4 * 1024 * 1024, "slow reader ");
  const gz = gzipSync(data);
  const chunkSize = 16 * 1024;
  const g = new GunzipStream({ what: "layer L", chunkSize, inflatedAhead: 2 * chunkSize });
  const writing = new Promise<void>((resolve, reject) => {
    g.on("error", reject);
    g.end(gz, () => resolve());
  });
  let total = 0;
  let maxAhead = 0;
  for await (const c of g) {
    total += (c as Buffer).length;
    // The iterator's read() takes all that is buffered: a chunk's size is what this stream held.
    maxAhead = Math.max(maxAhead, (c as Buffer).length);
    // Slower than zlib: without back-pressure the output would pile up here.
    await new Promise((r) => setTimeout(r, 1));
  }
  await writing;
  assert.equal(total, data.length);
  assert.ok(maxAhead <= 4 * chunkSize, `this stream held ${maxAhead} bytes ahead of its reader`);
});

test("GunzipStream refuses what is not a whole gzip stream, naming the layer and the byte", async () => {
  const data = Buffer.alloc(50_000, "refuse ");
  const good = member(data, { name: "x" });
  const headerLen = 10 + 2;
  const cases: [string, Buffer, RegExp][] = [
    ["empty", Buffer.alloc(0), /the data is empty \(gzip member 1, at compressed byte 0\)/],
    ["not gzip", Buffer.from("plain tar bytes"), /not gzip data \(no gzip magic number at the start\) \(gzip member 1, at compressed byte 0\)/],
    ["one byte", good.subarray(0, 1), /the data ends inside a member header \(gzip member 1, at compressed byte 1\)/],
    ["inside the name", good.subarray(0, headerLen - 1), /ends inside a member header/],
    ["method", Buffer.concat([Buffer.from([0x1f, 0x8b, 7]), good.subarray(3)]), /compression method 7 is not deflate \(8\) \(gzip member 1, at compressed byte 2\)/],
    ["reserved flags", Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x28]), good.subarray(4)]), /reserved header flags are set \(0x28\) \(gzip member 1, at compressed byte 3\)/],
    ["deflate cut short", good.subarray(0, good.length - 20), /the deflate data is corrupt: unexpected end of file/],
    ["no trailer", good.subarray(0, good.length - 8), new RegExp(`the data ends before the member's trailer \\(gzip member 1, at compressed byte ${good.length - 8}\\)`)],
    ["half a trailer", good.subarray(0, good.length - 3), /the data ends inside the member's trailer/],
    ["ISIZE", member(data, { isize: 7 }), /the trailer says 7 bytes \(mod 2\^32\), the member inflated to 50000/],
    ["trailing garbage", Buffer.concat([good, Buffer.from("garbage")]), new RegExp(`the bytes after gzip member 1 \\(from compressed byte ${good.length}\\) are not another gzip member`)],
    ["trailing zeros", Buffer.concat([good, Buffer.alloc(512)]), /are not another gzip member/],
    ["second member cut", Buffer.concat([good, good.subarray(0, 5)]), /ends inside a member header \(gzip member 2/],
    ["corrupt deflate", Buffer.concat([good.subarray(0, headerLen), Buffer.from([0xff, 0xff, 0xff]), good.subarray(headerLen + 3)]), /the deflate data is corrupt: invalid block type/],
  ];
  for (const [label, bytes, pattern] of cases) {
    for (const chunks of [[bytes], uneven(bytes, 4096, 3)]) {
      await assert.rejects(decode(chunks), (err: unknown) => {
        assert.ok(err instanceof CorruptLayerError, `${label}: ${String(err)}`);
        assert.match(err.message, /^Cannot decompress layer L: /, label);
        assert.match(err.message, pattern, label);
        return true;
      });
    }
  }
});

test("GunzipStream against zlib's gunzip on 1,500 mutated streams: the same bytes or a CorruptLayerError, never a hang", async () => {
  const base = [member(Buffer.alloc(20_000, "mutant "), { name: "a", hcrc: true }), member(randomBytes(3000), { extra: Buffer.from("xy") })];
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const outcomes = { same: 0, refused: 0, crcOnly: 0 };
  for (let k = 0; k < 1500; k++) {
    const m = Buffer.from(Buffer.concat(base.slice(0, 1 + (k % 2))));
    const kind = k % 4;
    let bytes: Buffer;
    if (kind === 0) {
      for (let f = 0; f <= rnd(3); f++) m[rnd(m.length)] = rnd(256);
      bytes = m;
    } else if (kind === 1) {
      bytes = m.subarray(0, rnd(m.length));
    } else if (kind === 2) {
      const at = rnd(m.length);
      bytes = Buffer.concat([m.subarray(0, at), randomBytes(1 + rnd(8)), m.subarray(at)]);
    } else {
      // Mutations in the framing, where this parser (not zlib) decides.
      const at = rnd(40);
      m[at] = rnd(256);
      bytes = m;
    }
    let ours: Buffer | Error;
    try {
      ours = await decode(uneven(bytes, 2048, k));
    } catch (err) {
      ours = err as Error;
    }
    let theirs: Buffer | Error;
    try {
      theirs = gunzipSync(bytes);
    } catch (err) {
      theirs = err as Error;
    }
    if (ours instanceof Error) {
      assert.ok(ours instanceof CorruptLayerError, `mutant ${k}: ${String(ours)}`);
      // Where zlib decodes a stream this refuses, the difference is bytes after the last member
      // (zlib drops them) or a trailer zlib never reads (it stops at the first non-member).
      if (!(theirs instanceof Error)) assert.match(ours.message, /are not another gzip member|ends inside a member header \(gzip member [2-9]/, `mutant ${k}`);
      outcomes.refused++;
    } else if (theirs instanceof Error) {
      // Decoded here but not by zlib: only the checksums this stream leaves to the diff_id differ.
      assert.match(theirs.message, /incorrect data check|header crc mismatch/, `mutant ${k}: zlib said ${theirs.message}`);
      outcomes.crcOnly++;
    } else {
      assert.ok(ours.equals(theirs), `mutant ${k}: different bytes`);
      outcomes.same++;
    }
  }
  assert.ok(outcomes.refused > 300 && outcomes.same > 50 && outcomes.crcOnly > 10, JSON.stringify(outcomes));
});
