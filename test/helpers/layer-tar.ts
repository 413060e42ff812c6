/**
 * Builds layer tars for tests: well-formed ones through tar-stream's packer, and raw header blocks
 * for the hostile cases a well-behaved packer refuses to write.
 * @module
 */
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import tarStream, { type Header } from "tar-stream";

export interface TarSpec {
  name: string;
  type?: Header["type"];
  mode?: number;
  uid?: number;
  gid?: number;
  content?: string | Buffer;
  linkname?: string;
}

/** A well-formed tar (ustar, PAX for long names) of `entries`, in order. */
export async function makeTar(entries: TarSpec[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const done = buffer(pack as unknown as AsyncIterable<Buffer>);
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = type === "file" ? Buffer.from(e.content ?? "") : undefined;
    await new Promise<void>((resolve, reject) => {
      const header: Partial<Header> & { name: string } = {
        name: e.name,
        type,
        mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: new Date(0),
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
        ...(body ? { size: body.length } : {}),
      };
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) pack.entry(header, body, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  return done;
}

/** Feeds buffers as a layer sequence. */
export async function* layersOf(...tars: Buffer[]): AsyncIterable<Readable> {
  for (const t of tars) yield Readable.from([t]);
}

export interface RawHeader {
  name: string;
  /** Typeflag character, e.g. "0", "5", "x", "L", or "\0". */
  typeflag: string;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  /** Encode these numeric fields in base-256 instead of octal. */
  base256?: ("size" | "uid" | "gid")[];
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(value.toString(8).padStart(length - 1, "0") + "\0", offset, length, "latin1");
}

function base256(buf: Buffer, offset: number, length: number, value: number): void {
  buf[offset] = 0x80;
  for (let i = length - 1; i > 0; i--) {
    buf[offset + i] = value % 256;
    value = Math.floor(value / 256);
  }
}

/** Recomputes a header block's checksum in place (after tests edit bytes). */
export function fixChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "latin1");
  return block;
}

/** One 512-byte ustar header block. */
export function rawHeader(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from(h.name, "latin1").copy(b, 0, 0, 100);
  octal(b, 100, 8, h.mode ?? 0o644);
  for (const [field, off, len] of [["uid", 108, 8], ["gid", 116, 8], ["size", 124, 12]] as const) {
    const v = h[field] ?? 0;
    if (h.base256?.includes(field)) base256(b, off, len, v);
    else octal(b, off, len, v);
  }
  octal(b, 136, 12, 0);
  b.write(h.typeflag, 156, 1, "latin1");
  if (h.linkname) Buffer.from(h.linkname, "latin1").copy(b, 157, 0, 100);
  b.write("ustar\u000000", 257, 8, "latin1");
  return fixChecksum(b);
}

/** Pads data to whole blocks. */
export function padded(data: Buffer | string): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([d, Buffer.alloc((512 - (d.length % 512)) % 512)]);
}

/** A header plus its padded data. */
export function rawEntry(h: RawHeader, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const d = Buffer.from(data);
  return Buffer.concat([rawHeader({ ...h, size: h.size ?? d.length }), padded(d)]);
}

/** A PAX extended header ('x', or 'g' for global) carrying `records`, byte-exact. */
export function paxEntry(records: [string, Buffer | string][], typeflag: "x" | "g" = "x"): Buffer {
  const parts = records.map(([k, v]) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from("\n")]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  });
  return rawEntry({ name: "PaxHeaders/x", typeflag }, Buffer.concat(parts));
}

/** The two zero blocks that end an archive. */
export const END = Buffer.alloc(1024);
