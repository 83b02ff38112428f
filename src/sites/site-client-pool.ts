import { createHash } from 'node:crypto';

import type { SiteClient, SiteConnection } from './site-client.js';

/**
 * One client per site and credential set, reused across reconciles (STYLE: one S3Client per
 * site, kept-alive connections). Callers may `close()` what they get: that is a no-op on the
 * shared client. A site whose secret or settings change gets a new client and the old one is
 * closed; another access key on the same site (a replication account checking itself) is
 * another client, so it never closes the operator's own.
 */
export class SiteClientPool {
  private readonly clients = new Map<string, { key: string; client: SiteClient }>();

  constructor(private readonly create: (conn: SiteConnection) => SiteClient) {}

  /** A factory with the signature controllers take. */
  readonly get = (conn: SiteConnection): SiteClient => {
    const slot = `${conn.flavor}|${conn.name}|${conn.endpoint}|${conn.accessKey}`;
    const key = settingsKey(conn);
    let entry = this.clients.get(slot);
    if (entry?.key !== key) {
      entry?.client.close();
      entry = { key, client: this.create(conn) };
      this.clients.set(slot, entry);
    }
    return shared(entry.client);
  };

  closeAll(): void {
    for (const { client } of this.clients.values()) client.close();
    this.clients.clear();
  }

  size(): number {
    return this.clients.size;
  }
}

/** Everything that makes a client different, with the secret hashed (never kept as text). */
function settingsKey(conn: SiteConnection): string {
  const secret = createHash('sha256').update(conn.secretKey).digest('hex');
  const ca = conn.ca ? createHash('sha256').update(conn.ca).digest('hex') : '';
  return [
    conn.region,
    conn.accessKey,
    secret,
    ca,
    conn.insecureSkipVerify ?? false,
    conn.timeoutMs ?? '',
  ].join('|');
}

/** The client with `close` made a no-op, so the pool keeps it. */
function shared(client: SiteClient): SiteClient {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'close') return () => undefined;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
