import { createHash, createHmac } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';
import { getCanonicalQuery } from '@smithy/signature-v4';
import fc from 'fast-check';

import {
  EMPTY_SHA256,
  type QueryParams,
  RequestSigner,
  canonicalQueryString,
  encodePath,
  encodeRfc3986,
  sha256Hex,
} from './signing.js';

/** Go's url.QueryEscape, byte by byte (what the server uses to rebuild the canonical query). */
function goQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * What MinIO computes from the URL it receives: `url.Values.Encode()` (keys sorted, repeated
 * values in URL order), then `+` → `%20` (cmd/signature-v4.go).
 */
function serverCanonicalQuery(url: URL): string {
  const values = new Map<string, string[]>();
  for (const part of url.search.replace(/^\?/, '').split('&')) {
    if (part === '') continue;
    const [k = '', v = ''] = part.split('=');
    const key = decodeURIComponent(k);
    values.set(key, [...(values.get(key) ?? []), decodeURIComponent(v)]);
  }
  const keys = [...values.keys()].sort();
  return keys
    .flatMap((k) => (values.get(k) ?? []).map((v) => `${goQueryEscape(k)}=${goQueryEscape(v)}`))
    .join('&')
    .replaceAll('+', '%20');
}

const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data).digest();
const sha256 = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

/** An independent SigV4 (header form), written from the AWS spec for these tests. */
function referenceAuthorization(opts: {
  method: string;
  url: URL;
  headers: Record<string, string>;
  secretKey: string;
  accessKey: string;
  region: string;
  date: Date;
}): string {
  const amzDate = opts.date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const names = Object.keys(opts.headers)
    .map((h) => h.toLowerCase())
    .sort();
  const canonicalHeaders = names.map((h) => `${h}:${(opts.headers[h] ?? '').trim()}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    opts.method,
    opts.url.pathname,
    serverCanonicalQuery(opts.url),
    canonicalHeaders,
    signedHeaders,
    opts.headers['x-amz-content-sha256'] ?? '',
  ].join('\n');
  const scope = `${day}/${opts.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${opts.secretKey}`, day), opts.region), 's3'),
    'aws4_request',
  );
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${opts.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

const DATE = new Date('2026-02-12T10:20:30.000Z');

describe('encodeRfc3986', () => {
  it('keeps unreserved characters and escapes everything else like Go', () => {
    expect(encodeRfc3986('AZaz09-_.~')).toBe('AZaz09-_.~');
    expect(encodeRfc3986("a b*c!d'e(f)g")).toBe('a%20b%2Ac%21d%27e%28f%29g');
    expect(encodeRfc3986('a/b,c=d&e+f')).toBe('a%2Fb%2Cc%3Dd%26e%2Bf');
    expect(encodeRfc3986('é☃')).toBe('%C3%A9%E2%98%83');
  });

  it('agrees with Go QueryEscape after + → %20 for any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(encodeRfc3986(s)).toBe(goQueryEscape(s).replaceAll('+', '%20'));
      }),
    );
  });

  it('encodes paths per segment', () => {
    expect(encodePath('/minio/admin/v3/idp/builtin/policy/attach')).toBe(
      '/minio/admin/v3/idp/builtin/policy/attach',
    );
    expect(encodePath('/my bucket')).toBe('/my%20bucket');
  });
});

describe('canonicalQueryString', () => {
  it('sorts keys and repeated values, and drops empty lists', () => {
    const q: QueryParams = { user: ['zed', 'amy', 'Bob'], group: [], policy: 'p1', bucket: '' };
    expect(canonicalQueryString(q)).toBe('bucket=&policy=p1&user=Bob&user=amy&user=zed');
  });

  it('refuses keys that need escaping (server and signer would sort them differently)', () => {
    expect(() => canonicalQueryString({ 'a b': 'x' })).toThrow(/needs escaping/);
  });

  it('escapes values', () => {
    expect(canonicalQueryString({ 'replication-metrics': '2', name: 'a b,c' })).toBe(
      'name=a%20b%2Cc&replication-metrics=2',
    );
  });

  it('is what smithy signs and what the server rebuilds from the URL, for any query', () => {
    const query = fc.dictionary(
      fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/),
      fc.oneof(
        fc.string({ maxLength: 10 }),
        fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
      ),
      { maxKeys: 5 },
    );
    fc.assert(
      fc.property(query, (q) => {
        const ours = canonicalQueryString(q);
        const url = new URL('http://127.0.0.1:9000/x');
        url.search = ours;
        const smithyQuery: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(q)) {
          if (typeof v === 'string') smithyQuery[k] = v;
          else if (v.length > 0) smithyQuery[k] = v;
        }
        expect(
          getCanonicalQuery({
            method: 'GET',
            protocol: 'http:',
            hostname: 'h',
            path: '/',
            headers: {},
            query: smithyQuery,
          }),
        ).toBe(ours);
        expect(serverCanonicalQuery(url)).toBe(ours);
      }),
    );
  });
});

describe('sha256Hex', () => {
  it('hashes the exact body bytes, empty for no body', () => {
    expect(sha256Hex(undefined)).toBe(EMPTY_SHA256);
    expect(sha256Hex(new Uint8Array(0))).toBe(EMPTY_SHA256);
    expect(sha256Hex(Buffer.from('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('RequestSigner', () => {
  const creds = {
    accessKey: 'site-a-admin',
    secretKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };

  it('signs a GET with repeated query values exactly as an independent SigV4 does', async () => {
    const signer = new RequestSigner(creds);
    const query = { user: ['bob', 'alice'], group: 'g 1' };
    const url = new URL('http://127.0.0.1:9000/minio/admin/v3/idp/builtin/policy-entities');
    url.search = canonicalQueryString(query);
    const headers = await signer.sign({ method: 'GET', url, query, date: DATE });
    expect(headers['x-amz-date']).toBe('20260212T102030Z');
    expect(headers['x-amz-content-sha256']).toBe(EMPTY_SHA256);
    expect(headers['host']).toBe('127.0.0.1:9000');
    const signed = {
      host: '127.0.0.1:9000',
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': '20260212T102030Z',
    };
    expect(headers['authorization']).toBe(
      referenceAuthorization({
        method: 'GET',
        url,
        headers: signed,
        ...creds,
        region: 'us-east-1',
        date: DATE,
      }),
    );
  });

  it('signs body hash, content type and session token', async () => {
    const signer = new RequestSigner({ ...creds, sessionToken: 'token/with+chars=' });
    const body = Buffer.from('{"policies":["p1"],"user":"alice"}');
    const url = new URL('https://minio.example.com/minio/admin/v3/idp/builtin/policy/attach');
    const headers = await signer.sign({
      method: 'POST',
      url,
      query: {},
      body,
      contentType: 'application/octet-stream',
      date: DATE,
    });
    expect(headers['host']).toBe('minio.example.com');
    expect(headers['x-amz-security-token']).toBe('token/with+chars=');
    expect(headers['authorization']).toContain(
      'SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,',
    );
    const signed = {
      'content-type': 'application/octet-stream',
      host: 'minio.example.com',
      'x-amz-content-sha256': sha256(body),
      'x-amz-date': '20260212T102030Z',
      'x-amz-security-token': 'token/with+chars=',
    };
    expect(headers['authorization']).toBe(
      referenceAuthorization({
        method: 'POST',
        url,
        headers: signed,
        ...creds,
        region: 'us-east-1',
        date: DATE,
      }),
    );
  });

  it('drops the default port from the signed host', async () => {
    const url = new URL('https://minio.example.com:443/minio/admin/v3/info');
    const headers = await new RequestSigner(creds).sign({
      method: 'GET',
      url,
      query: {},
      date: DATE,
    });
    expect(headers['host']).toBe('minio.example.com');
  });

  it('never puts the secret key in a header', async () => {
    const url = new URL('http://127.0.0.1:9000/minio/admin/v3/info');
    const headers = await new RequestSigner(creds).sign({
      method: 'GET',
      url,
      query: {},
      date: DATE,
    });
    expect(JSON.stringify(headers)).not.toContain(creds.secretKey);
  });
});
