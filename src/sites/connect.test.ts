import { describe, expect, it } from '@jest/globals';

import type { Site } from '../api/common.js';
import { connectSite, insecureSites } from './connect.js';
import type { SiteClient, SiteConnection } from './site-client.js';
import { SiteError } from './site-error.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const site = (over: Partial<Site> = {}): Site => ({
  name: 'a',
  endpoint: 'https://a.example:9000',
  flavor: 'minio',
  region: 'us-east-1',
  credentialsSecret: { name: 'creds', accessKeyKey: 'accessKey', secretKeyKey: 'secretKey' },
  ...over,
});

function deps(secrets: Record<string, Record<string, string>>) {
  const made: SiteConnection[] = [];
  return {
    made,
    opts: {
      readSecret: (name: string) => Promise.resolve(secrets[name]),
      newSite: (conn: SiteConnection) => {
        made.push(conn);
        return { name: conn.name } as SiteClient;
      },
      field: 'spec.sites[1]',
      timeoutMs: 5000,
    },
  };
}

describe('connectSite', () => {
  it('builds the connection from the Secret and the site, CA included', async () => {
    const d = deps({
      creds: { accessKey: b64('AK'), secretKey: b64('SK') },
      ca: { 'ca.crt': b64('PEM') },
    });
    const s = site({ tls: { caSecret: { name: 'ca', key: 'ca.crt' }, insecureSkipVerify: false } });
    const c = await connectSite(s, d.opts);
    expect(c.ok).toBe(true);
    expect(d.made).toEqual([
      expect.objectContaining({
        name: 'a',
        accessKey: 'AK',
        secretKey: 'SK',
        ca: 'PEM',
        timeoutMs: 5000,
      }),
    ]);
  });

  it('names the field and the missing Secret or key, never a value', async () => {
    expect(await connectSite(site(), deps({}).opts)).toEqual({
      ok: false,
      reason: 'CredentialsNotFound',
      message: 'spec.sites[1].credentialsSecret: Secret creds not found',
    });
    const noSecretKey = await connectSite(site(), deps({ creds: { accessKey: b64('AK') } }).opts);
    expect(noSecretKey).toEqual({
      ok: false,
      reason: 'CredentialsNotFound',
      message: 'spec.sites[1].credentialsSecret: Secret creds has no key secretKey',
    });
    const s = site({ tls: { caSecret: { name: 'ca', key: 'ca.crt' }, insecureSkipVerify: false } });
    const noCa = await connectSite(
      s,
      deps({ creds: { accessKey: b64('AK'), secretKey: b64('SK') } }).opts,
    );
    expect(noCa).toMatchObject({
      ok: false,
      message: 'spec.sites[1].tls.caSecret: no ca.crt in Secret ca',
    });
  });

  it('gives a flavor without a driver its SiteError reason', async () => {
    const d = deps({ creds: { accessKey: b64('AK'), secretKey: b64('SK') } });
    const c = await connectSite(site({ flavor: 's3' }), {
      ...d.opts,
      newSite: () => {
        throw new SiteError('a', 'connect', 'Unsupported', 'the s3 flavor is not implemented yet');
      },
    });
    expect(c).toEqual({
      ok: false,
      reason: 'SiteUnsupported',
      message: 'a: connect: the s3 flavor is not implemented yet',
    });
  });

  it('refuses an http endpoint or an unverified certificate, naming the field, before any Secret is read', async () => {
    let reads = 0;
    const d = deps({ creds: { accessKey: b64('AK'), secretKey: b64('SK') } });
    const counting = {
      ...d.opts,
      readSecret: (name: string) => {
        reads++;
        return d.opts.readSecret(name);
      },
    };
    const http = await connectSite(site({ endpoint: 'http://a.example:9000' }), counting);
    expect(http).toMatchObject({ ok: false, reason: 'InsecureEndpoint' });
    expect(!http.ok && http.message).toMatch(
      /^spec\.sites\[1\]\.endpoint: http:\/\/a\.example:9000 is not https: .*ALLOW_INSECURE_SITES=true/,
    );
    const skip = await connectSite(site({ tls: { insecureSkipVerify: true } }), counting);
    expect(skip).toMatchObject({ ok: false, reason: 'InsecureEndpoint' });
    expect(!skip.ok && skip.message).toContain('spec.sites[1].tls.insecureSkipVerify');
    expect(reads).toBe(0);
    expect(d.made).toEqual([]);
  });

  it('connects an insecure site when allowed, saying what is insecure', async () => {
    const d = deps({ creds: { accessKey: b64('AK'), secretKey: b64('SK') } });
    const c = await connectSite(site({ endpoint: 'http://a.example:9000' }), {
      ...d.opts,
      allowInsecure: true,
    });
    expect(c.ok && c.insecure).toMatch(/^spec\.sites\[1\]\.endpoint: /);
    const secure = await connectSite(site(), { ...d.opts, allowInsecure: true });
    expect(secure.ok && secure.insecure).toBeUndefined();
  });
});

describe('insecureSites', () => {
  it('names every insecure site by its index, and nothing for https with verification', () => {
    expect(
      insecureSites([
        { endpoint: 'https://a:9000' },
        { endpoint: 'HTTP://b:9000' },
        { endpoint: 'https://c:9000', tls: { insecureSkipVerify: true } },
      ]),
    ).toMatch(/^spec\.sites\[1\]\.endpoint: .*; spec\.sites\[2\]\.tls\.insecureSkipVerify: /);
    expect(insecureSites([{ endpoint: 'https://a', tls: { insecureSkipVerify: false } }])).toBe(
      undefined,
    );
  });
});
