import { crc32, deflateRawSync } from 'node:zlib';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { ZipError, readZip, readZipMap, writeZip } from './zip.js';

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
