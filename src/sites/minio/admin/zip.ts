/**
 * Just enough ZIP for MinIO's bulk admin endpoints: `export-iam` and `export-bucket-metadata`
 * answer a zip of small JSON/XML files, `import-iam` and `import-bucket-metadata` take one.
 *
 * Reading goes through the central directory (Go's archive/zip streams entries with data
 * descriptors, so local headers carry no sizes), supports stored and deflated entries and ZIP64
 * records. Writing produces deflated entries with sizes in the local headers, no ZIP64.
 *
 * A zip comes from a site, which may be hostile. Before anything is inflated, the declared sizes
 * are held against a cap per entry and a cap on their total, and entries whose bytes overlap
 * are refused: the non-recursive zip bomb points many entries at one highly compressed payload.
 * Inflating then stops at the declared size, so no entry ever produces more than it declared.
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

import { formatBytes } from '../../response-limits.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const FLAG_UTF8 = 0x0800;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const ZIP64_EXTRA_ID = 0x0001;
/** Made by Unix (3), spec 2.0: the external attributes then carry a Unix mode. */
const VERSION_MADE_BY_UNIX = (3 << 8) | 20;
/** Regular file, mode 0600, in the high 16 bits of the external attributes (as MinIO writes). */
const EXTERNAL_ATTRS = 0o100600 * 0x10000;
/** Default caps of `readZip` (MinIO's exports pass their own, see response-limits.ts). */
const DEFAULT_MAX_ENTRY_BYTES = 32 * 1024 * 1024;
const DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Entry names in error messages: printable ASCII, cut short (a name is site content). */
const MAX_NAME_IN_MESSAGE = 80;

export class ZipError extends Error {
  override readonly name: string = 'ZipError';
}

/** The zip would expand past a cap. `limit` is the cap that was hit. */
export class ZipTooLargeError extends ZipError {
  override readonly name = 'ZipTooLargeError';
  constructor(
    message: string,
    readonly limit: number,
  ) {
    super(message);
  }
}

export interface ReadZipLimits {
  /** Largest decompressed size of one entry. Default 32 MiB. */
  readonly maxEntryBytes?: number | undefined;
  /** Largest decompressed size of all entries together. Default 64 MiB. */
  readonly maxTotalBytes?: number | undefined;
}

export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

interface CentralEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** An entry's name as an error message may quote it. */
function label(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > MAX_NAME_IN_MESSAGE ? `${clean.slice(0, MAX_NAME_IN_MESSAGE)}…` : clean;
}

/** `what` names the part in the error; a function when naming it costs (only called on error). */
function need(buf: Buffer, offset: number, length: number, what: string | (() => string)): void {
  if (offset < 0 || offset + length > buf.length) {
    throw new ZipError(`truncated zip: ${typeof what === 'string' ? what : what()}`);
  }
}

function findEocd(buf: Buffer): number {
  const lowest = Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT);
  for (let i = buf.length - EOCD_SIZE; i >= lowest; i--) {
    if (buf.readUInt32LE(i) === SIG_EOCD) return i;
  }
  throw new ZipError('not a zip: no end of central directory record');
}

interface Directory {
  count: number;
  offset: number;
}

function readDirectory(buf: Buffer): Directory {
  const eocd = findEocd(buf);
  const count = buf.readUInt16LE(eocd + 10);
  const offset = buf.readUInt32LE(eocd + 16);
  if (count !== U16_MAX && offset !== U32_MAX) return { count, offset };
  const locator = eocd - 20;
  need(buf, locator, 20, 'zip64 locator');
  if (buf.readUInt32LE(locator) !== SIG_ZIP64_LOCATOR) return { count, offset };
  const z64 = Number(buf.readBigUInt64LE(locator + 8));
  need(buf, z64, 56, 'zip64 end of central directory');
  if (buf.readUInt32LE(z64) !== SIG_ZIP64_EOCD) throw new ZipError('bad zip64 end record');
  return {
    count: Number(buf.readBigUInt64LE(z64 + 32)),
    offset: Number(buf.readBigUInt64LE(z64 + 48)),
  };
}

/** Applies a ZIP64 extra field to the 32-bit fields that overflowed. */
function applyZip64Extra(entry: CentralEntry, extra: Buffer): void {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === ZIP64_EXTRA_ID) {
      let q = p + 4;
      const take = (): number => {
        need(extra, q, 8, 'zip64 extra field');
        const v = Number(extra.readBigUInt64LE(q));
        q += 8;
        return v;
      };
      if (entry.size === U32_MAX) entry.size = take();
      if (entry.compressedSize === U32_MAX) entry.compressedSize = take();
      if (entry.localOffset === U32_MAX) entry.localOffset = take();
      return;
    }
    p += 4 + len;
  }
}

function readCentralEntry(buf: Buffer, p: number): { entry: CentralEntry; next: number } {
  need(buf, p, CENTRAL_SIZE, 'central directory');
  if (buf.readUInt32LE(p) !== SIG_CENTRAL) throw new ZipError('bad central directory entry');
  const nameLen = buf.readUInt16LE(p + 28);
  const extraLen = buf.readUInt16LE(p + 30);
  const commentLen = buf.readUInt16LE(p + 32);
  need(buf, p + CENTRAL_SIZE, nameLen + extraLen, 'central directory name');
  const entry: CentralEntry = {
    name: buf.toString('utf8', p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen),
    method: buf.readUInt16LE(p + 10),
    crc: buf.readUInt32LE(p + 16),
    compressedSize: buf.readUInt32LE(p + 20),
    size: buf.readUInt32LE(p + 24),
    localOffset: buf.readUInt32LE(p + 42),
  };
  const extraStart = p + CENTRAL_SIZE + nameLen;
  applyZip64Extra(entry, buf.subarray(extraStart, extraStart + extraLen));
  return { entry, next: extraStart + extraLen + commentLen };
}

function inflate(raw: Buffer, e: CentralEntry): Buffer {
  try {
    // Never more than the entry declared: a lie about the size stops here, not in memory.
    return inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err: unknown) {
    throw new ZipError(`corrupt entry: ${label(e.name)}`, { cause: err });
  }
}

/** Where an entry's data starts, after its local header. */
function dataStart(buf: Buffer, e: CentralEntry): number {
  need(buf, e.localOffset, LOCAL_SIZE, () => `local header of ${label(e.name)}`);
  if (buf.readUInt32LE(e.localOffset) !== SIG_LOCAL) {
    throw new ZipError(`bad local header: ${label(e.name)}`);
  }
  const nameLen = buf.readUInt16LE(e.localOffset + 26);
  const extraLen = buf.readUInt16LE(e.localOffset + 28);
  const start = e.localOffset + LOCAL_SIZE + nameLen + extraLen;
  need(buf, start, e.compressedSize, () => `data of ${label(e.name)}`);
  return start;
}

function entryData(buf: Buffer, e: CentralEntry, start: number): Buffer {
  const raw = buf.subarray(start, start + e.compressedSize);
  let data: Buffer;
  if (e.method === METHOD_STORED) data = Buffer.from(raw);
  else if (e.method === METHOD_DEFLATE) data = inflate(raw, e);
  else throw new ZipError(`unsupported compression method ${e.method}: ${label(e.name)}`);
  if (data.length !== e.size || crc32(data) !== e.crc) {
    throw new ZipError(`corrupt entry: ${label(e.name)}`);
  }
  return data;
}

/** Refuses declared sizes past the caps, before anything is inflated. */
function checkSizes(entries: readonly CentralEntry[], maxEntry: number, maxTotal: number): void {
  let total = 0;
  for (const e of entries) {
    if (e.size > maxEntry) {
      throw new ZipTooLargeError(
        `entry ${label(e.name)} expands to ${formatBytes(e.size)}, over ${formatBytes(maxEntry)}`,
        maxEntry,
      );
    }
    total += e.size;
    if (total > maxTotal) {
      throw new ZipTooLargeError(`entries expand to more than ${formatBytes(maxTotal)}`, maxTotal);
    }
  }
}

/** Refuses entries whose header and data overlap another's, or the central directory. */
function checkNoOverlap(spans: { start: number; end: number; name: string }[], dir: number): void {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  for (let i = 0; i < sorted.length; i++) {
    const cur = sorted[i];
    const next = sorted[i + 1];
    if (cur === undefined) continue;
    if (cur.end > (next?.start ?? dir)) {
      throw new ZipError(
        next === undefined
          ? `entry ${label(cur.name)} overlaps the central directory`
          : `entries ${label(cur.name)} and ${label(next.name)} overlap`,
      );
    }
  }
}

/**
 * A file of a zip, not inflated yet: its compressed bytes (`raw`) identify its contents (the same
 * bytes with the same method always inflate to the same data), so a cache can key on them and
 * skip inflating what it has seen.
 */
export interface ZipFile {
  readonly name: string;
  readonly method: number;
  readonly crc: number;
  readonly size: number;
  readonly raw: Buffer;
  /** Inflates the file (at most its declared size) and checks its length and CRC. */
  data(): Buffer;
}

/**
 * Lists every file of a zip, in central-directory order, with every check of `readZip` except
 * inflating (done by `data()`). Directory entries are skipped. Throws ZipTooLargeError past a
 * cap and ZipError on anything malformed, overlapping entries included.
 */
export function listZip(zip: Uint8Array, limits: ReadZipLimits = {}): ZipFile[] {
  const buf = Buffer.isBuffer(zip) ? zip : Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  if (buf.length < EOCD_SIZE) throw new ZipError('not a zip: too short');
  const dir = readDirectory(buf);
  const entries: CentralEntry[] = [];
  let p = dir.offset;
  for (let i = 0; i < dir.count; i++) {
    const { entry, next } = readCentralEntry(buf, p);
    p = next;
    entries.push(entry);
  }
  const files = entries.filter((e) => !e.name.endsWith('/'));
  checkSizes(
    files,
    limits.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
    limits.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
  );
  const starts = entries.map((e) => dataStart(buf, e));
  checkNoOverlap(
    entries.map((e, i) => ({
      start: e.localOffset,
      end: (starts[i] ?? 0) + e.compressedSize,
      name: e.name,
    })),
    dir.offset,
  );
  const out: ZipFile[] = [];
  entries.forEach((e, i) => {
    if (e.name.endsWith('/')) return;
    const start = starts[i] ?? 0;
    out.push({
      name: e.name,
      method: e.method,
      crc: e.crc,
      size: e.size,
      raw: buf.subarray(start, start + e.compressedSize),
      data: () => entryData(buf, e, start),
    });
  });
  return out;
}

/**
 * Reads every file of a zip, in central-directory order. Directory entries are skipped. Throws
 * ZipTooLargeError past a cap and ZipError on anything malformed, overlapping entries included.
 */
export function readZip(zip: Uint8Array, limits: ReadZipLimits = {}): ZipEntry[] {
  return listZip(zip, limits).map((f) => ({ name: f.name, data: f.data() }));
}

/** Reads a zip into a map from entry name to contents. */
export function readZipMap(zip: Uint8Array, limits: ReadZipLimits = {}): Map<string, Buffer> {
  return new Map(readZip(zip, limits).map((e) => [e.name, e.data]));
}

/** MS-DOS time and date of `d` (local fields, as zip tools expect). */
function dosDateTime(d: Date): { time: number; date: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** Writes a zip of deflated files. `mtime` defaults to now. */
export function writeZip(entries: readonly ZipEntry[], mtime = new Date()): Buffer {
  if (entries.length >= U16_MAX) throw new ZipError('too many entries for a zip without zip64');
  const { time, date } = dosDateTime(mtime);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const packed = deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(LOCAL_SIZE);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(FLAG_UTF8, 6);
    local.writeUInt16LE(METHOD_DEFLATE, 8);
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(CENTRAL_SIZE);
    central.writeUInt32LE(SIG_CENTRAL, 0);
    central.writeUInt16LE(VERSION_MADE_BY_UNIX, 4);
    local.copy(central, 6, 4, 26);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(EXTERNAL_ATTRS, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, packed);
    centrals.push(central, nameBuf);
    offset += LOCAL_SIZE + nameBuf.length + packed.length;
    if (offset > U32_MAX) throw new ZipError('zip too large without zip64');
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(EOCD_SIZE);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
