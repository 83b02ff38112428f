import { crc32, deflateRawSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { deflatedZeros, overlappingZip } from '../../../../test/support/hostile-zip.js';
import { ZipError, ZipTooLargeError, readZip, readZipMap, writeZip } from './zip.js';

const MiB = 1024 * 1024;

/**
 * A zip laid out the way Go's archive/zip streams it (what MinIO's exports look like): flag bit 3,
 * zero sizes and CRC in the local header, a data descriptor after the data, a directory entry,
 * and the real sizes only in the central directory.
 */
function goStyleZip(files: readonly { name: string; data: Buffer; stored?: boolean }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const all = [{ name: 'iam-assets/', data: Buffer.alloc(0), stored: true }, ...files];
  for (const f of all) {
    const name = Buffer.from(f.name);
    const packed = f.stored === true ? f.data : deflateRawSync(f.data);
    const method = f.stored === true ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0808, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(name.length, 26);
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc32(f.data), 4);
    descriptor.writeUInt32LE(packed.length, 8);
    descriptor.writeUInt32LE(f.data.length, 12);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x0314, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0808, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(crc32(f.data), 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(f.data.length, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    parts.push(local, name, packed, descriptor);
    central.push(c, name);
    offset += local.length + name.length + packed.length + descriptor.length;
  }
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(all.length, 8);
  eocd.writeUInt16LE(all.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, eocd]);
}

describe('readZip', () => {
  it('reads a Go-style streamed zip with data descriptors, skipping directories', () => {
    const users = Buffer.from('{"alice":{"secretKey":"x","status":"enabled"}}');
    const policies = Buffer.from(
      JSON.stringify({ p: { Version: '2012-10-17', Statement: [] } }).repeat(50),
    );
    const zip = goStyleZip([
      { name: 'iam-assets/users.json', data: users },
      { name: 'iam-assets/policies.json', data: policies, stored: true },
    ]);
    const map = readZipMap(zip);
    expect([...map.keys()]).toEqual(['iam-assets/users.json', 'iam-assets/policies.json']);
    expect(map.get('iam-assets/users.json')).toEqual(users);
    expect(map.get('iam-assets/policies.json')).toEqual(policies);
  });

  it('reads an empty zip (what an export of no buckets gives)', () => {
    expect(readZip(writeZip([]))).toEqual([]);
  });

  it('rejects what is not a zip', () => {
    expect(() => readZip(Buffer.from('<Error><Code>AccessDenied</Code></Error>'))).toThrow(
      ZipError,
    );
    expect(() => readZip(new Uint8Array(3))).toThrow(/too short/);
  });

  it('detects corruption', () => {
    const zip = writeZip([{ name: 'a.json', data: Buffer.from('{"a":1}'.repeat(20)) }]);
    const truncated = zip.subarray(0, zip.length - 30);
    expect(() => readZip(truncated)).toThrow(ZipError);
    const flipped = Buffer.from(zip);
    flipped[40] = (flipped[40] ?? 0) ^ 0xff;
    expect(() => readZip(flipped)).toThrow(ZipError);
  });
});

describe('readZip against hostile zips', () => {
  it('refuses the overlapping zip bomb by its declared sizes, before inflating anything', async () => {
    // 1000 entries, each declaring the one 256 MiB payload: ~330 KB that would expand to 250 GiB.
    const zip = overlappingZip(await deflatedZeros(256 * MiB), { entries: 1000 });
    expect(zip.length).toBeLessThan(400_000);
    const read = () => readZip(zip, { maxEntryBytes: 32 * MiB, maxTotalBytes: 64 * MiB });
    expect(read).toThrow(ZipTooLargeError);
    expect(read).toThrow('entry iam-assets/file-0.json expands to 256 MiB, over 32 MiB');
  });

  it('refuses entries that fit one by one but not together', () => {
    const files = [0, 1, 2].map((i) => ({ name: `f${i}`, data: Buffer.alloc(1000, i) }));
    const zip = writeZip(files);
    expect(readZip(zip, { maxEntryBytes: 1000, maxTotalBytes: 3000 })).toHaveLength(3);
    let caught: unknown;
    try {
      readZip(zip, { maxEntryBytes: 1000, maxTotalBytes: 2999 });
    } catch (e: unknown) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ZipTooLargeError);
    expect(caught).toMatchObject({ limit: 2999, message: 'entries expand to more than 2.9 KiB' });
  });

  it('refuses overlapping entries even when every declared size is small', async () => {
    const zip = overlappingZip(await deflatedZeros(1000), { entries: 3 });
    expect(() => readZip(zip)).toThrow(
      'entries iam-assets/file-0.json and iam-assets/file-1.json overlap',
    );
  });

  it('stops inflating an entry at its declared size', async () => {
    // One entry, no overlap, declaring 1 KiB of a 64 MiB payload: refused without the 64 MiB.
    const zip = overlappingZip(await deflatedZeros(64 * MiB), { entries: 1, declaredSize: 1024 });
    expect(() => readZip(zip)).toThrow('corrupt entry: iam-assets/file-0.json');
  });

  it('refuses data that runs into the central directory', () => {
    const zip = Buffer.from(writeZip([{ name: 'a', data: Buffer.from('hello') }]));
    const cd = zip.readUInt32LE(zip.length - 22 + 16);
    zip.writeUInt32LE(cd, 18); // local header: compressed size past the directory's start
    zip.writeUInt32LE(cd, cd + 20); // central entry: the same
    expect(() => readZip(zip)).toThrow(/overlaps the central directory|truncated/);
  });

  it('quotes entry names only as short printable text', async () => {
    const evil = `a\n\u0000b${'x'.repeat(200)}secret`;
    const zip = overlappingZip(await deflatedZeros(10), { entries: 2, name: () => evil });
    let message = '';
    try {
      readZip(zip);
    } catch (e: unknown) {
      message = (e as Error).message;
    }
    expect(message).toContain('overlap');
    expect(message).toContain('a??bxxx');
    expect(message).not.toContain('secret');
    expect(message).not.toContain('\n');
    expect(message).not.toContain('\u0000');
  });
});

describe('writeZip', () => {
  it('round-trips any set of files', () => {
    const entry = fc.record({
      name: fc.string({ minLength: 1, maxLength: 30 }).filter((n) => !n.endsWith('/')),
      data: fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        expect(readZip(writeZip(entries))).toEqual(entries);
      }),
      { numRuns: 50 },
    );
  });

  it('writes UTF-8 names and deflated data with sizes in the local header', () => {
    const zip = writeZip([{ name: 'bücket/policy.json', data: Buffer.alloc(1000, 'x') }]);
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    expect(zip.readUInt16LE(6) & 0x0800).toBe(0x0800);
    expect(zip.readUInt16LE(8)).toBe(8);
    expect(zip.readUInt32LE(22)).toBe(1000);
    expect(zip.readUInt32LE(18)).toBeLessThan(100);
    expect(readZip(zip)[0]?.name).toBe('bücket/policy.json');
  });
});
