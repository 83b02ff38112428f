import { describe, expect, it } from '@jest/globals';

import type { SiteClient, SiteConnection } from './site-client.js';
import { SiteClientPool } from './site-client-pool.js';

function fakeFactory() {
  const made: { conn: SiteConnection; closed: boolean }[] = [];
  const create = (conn: SiteConnection) => {
    const rec = { conn, closed: false };
    made.push(rec);
    return {
      name: conn.name,
      close: () => (rec.closed = true),
      deploymentID: () => Promise.resolve(conn.accessKey),
    } as unknown as SiteClient;
  };
  return { made, create };
}

const conn = (over: Partial<SiteConnection> = {}): SiteConnection => ({
  name: 'a',
  flavor: 'minio',
  endpoint: 'http://a:9000',
  region: 'us-east-1',
  accessKey: 'ak',
  secretKey: 'sk',
  ...over,
});

describe('SiteClientPool', () => {
  it('reuses one client per site and settings, and close() on what it hands out keeps it', async () => {
    const f = fakeFactory();
    const pool = new SiteClientPool(f.create);
    const c1 = pool.get(conn());
    c1.close();
    const c2 = pool.get(conn());
    expect(f.made).toHaveLength(1);
    expect(f.made[0]?.closed).toBe(false);
    expect(await c2.deploymentID(AbortSignal.timeout(1000))).toBe('ak');
  });

  it('replaces and closes the client when the credentials change', () => {
    const f = fakeFactory();
    const pool = new SiteClientPool(f.create);
    pool.get(conn());
    pool.get(conn({ secretKey: 'rotated' }));
    expect(f.made).toHaveLength(2);
    expect(f.made[0]?.closed).toBe(true);
    expect(pool.size()).toBe(1);
    pool.closeAll();
    expect(f.made[1]?.closed).toBe(true);
  });

  it('keeps one client per access key: a replication account checking itself closes nothing', () => {
    const f = fakeFactory();
    const pool = new SiteClientPool(f.create);
    pool.get(conn());
    pool.get(conn({ accessKey: 'sitesync-r0123456789', secretKey: 'account' }));
    pool.get(conn());
    expect(f.made).toHaveLength(2);
    expect(f.made.map((m) => m.closed)).toEqual([false, false]);
  });
});
