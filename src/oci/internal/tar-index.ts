/**
 * Finds the members of a tar file without reading their contents, so an archive source can stream
 * any member by offset. Understands ustar, PAX `path`/`size` records and GNU long names; anything
 * malformed is an error naming the offset.
 * @module
 */
import { open } from "node:fs/promises";

export interface TarMember {
  name: string;
  /** Offset of the first content byte. */
  offset: number;
  size: number;
  type: string;
}

function parseNumber(field: Buffer, what: string): number {
  if (field[0]! & 0x80) {
    // base-256 (GNU): big-endian, first byte's top bit is the marker.
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n)) throw new SyntaxError(`Cannot index tar: ${what} is out of range`);
    return n;
  }
  const s = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new SyntaxError(`Cannot index tar: ${what} is not octal (${JSON.stringify(s)})`);
  return Number.parseInt(s, 8);
}

function cstr(b: Buffer): string {
  const z = b.indexOf(0);
  return b.subarray(0, z < 0 ? b.length : z).toString("utf8");
}

function parsePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number.parseInt(buf.subarray(i, sp).toString("ascii"), 10);
    if (!Number.isFinite(len) || len <= 0 || i + len > buf.length) throw new SyntaxError(`Cannot index tar: malformed PAX record at byte ${i}`);
    const rec = buf.subarray(sp + 1, i + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Lists the members of the tar file at `path` (names normalised without a leading `./`). */
export async function indexTar(path: string): Promise<Map<string, TarMember>> {
  const fh = await open(path, "r");
  const members = new Map<string, TarMember>();
  try {
    const { size: fileSize } = await fh.stat();
    const hdr = Buffer.alloc(512);
    let pos = 0;
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    while (pos + 512 <= fileSize) {
      const { bytesRead } = await fh.read(hdr, 0, 512, pos);
      if (bytesRead !== 512) throw new SyntaxError(`Cannot index tar ${path}: short header at byte ${pos}`);
      if (hdr.every((b) => b === 0)) break;
      const sum = parseNumber(hdr.subarray(148, 156), `checksum at byte ${pos}`);
      let calc = 0;
      for (let i = 0; i < 512; i++) calc += i >= 148 && i < 156 ? 32 : hdr[i]!;
      if (sum !== calc) throw new SyntaxError(`Cannot index tar ${path}: bad header checksum at byte ${pos}`);
      const type = String.fromCharCode(hdr[156] || 0x30);
      let size = parseNumber(hdr.subarray(124, 136), `size at byte ${pos}`);
      if (pax.size !== undefined) size = Number(pax.size);
      const dataStart = pos + 512;
      if (dataStart + size > fileSize) throw new SyntaxError(`Cannot index tar ${path}: member at byte ${pos} runs past the end of the file (truncated?)`);
      if (type === "x" || type === "L") {
        const data = Buffer.alloc(size);
        await fh.read(data, 0, size, dataStart);
        if (type === "x") pax = parsePax(data);
        else longName = cstr(data);
      } else if (type === "g") {
        /* global PAX headers carry nothing this index needs */
      } else {
        const prefix = cstr(hdr.subarray(345, 500));
        let name = pax.path ?? longName ?? (prefix ? `${prefix}/${cstr(hdr.subarray(0, 100))}` : cstr(hdr.subarray(0, 100)));
        name = name.replace(/^(\.\/)+/, "").replace(/^\/+/, "");
        members.set(name, { name, offset: dataStart, size, type });
        pax = {};
        longName = undefined;
      }
      pos = dataStart + Math.ceil(size / 512) * 512;
    }
  } finally {
    await fh.close();
  }
  return members;
}
