import { describe, expect, it } from '@jest/globals';

import { isSiteError } from '../../site-error.js';
import { MinioAdminClient } from './admin-client.js';
import { normalizeEndpoint } from './admin-transport.js';

describe('normalizeEndpoint', () => {
  it('keeps scheme, host and port, dropping default ports and a bare slash', () => {
    expect(normalizeEndpoint('http://127.0.0.1:9000').origin).toBe('http://127.0.0.1:9000');
    expect(normalizeEndpoint('https://minio.example.com:443/').origin).toBe(
      'https://minio.example.com',
    );
    expect(normalizeEndpoint('http://minio:80').host).toBe('minio');
  });

  it.each([
    ['minio:9000', /must be http or https/],
    ['ftp://minio', /must be http or https/],
    ['http://minio:9000/some/path', /must not carry a path/],
    ['http://minio:9000/?x=1', /must not carry a path/],
    ['http://user:pw@minio:9000', /must not carry a path, query or user info/],
    ['not a url', /is not a URL/],
  ])('rejects %s', (endpoint, message) => {
    expect(() => normalizeEndpoint(endpoint)).toThrow(message);
  });
});

describe('MinioAdminClient construction', () => {
  it('reports a bad endpoint as an Invalid SiteError without the credentials', () => {
    let caught: unknown;
    try {
      new MinioAdminClient({
        site: 'site-a',
        endpoint: 'http://admin:hunter22@minio:9000',
        accessKey: 'admin',
        secretKey: 'super-secret-key',
      });
    } catch (e: unknown) {
      caught = e;
    }
    expect(isSiteError(caught, 'Invalid')).toBe(true);
    const message = (caught as Error).message;
    expect(message).toMatch(/^site-a: connect: endpoint http:\/\/minio:9000 must not carry/);
    expect(message).not.toContain('hunter22');
    expect(message).not.toContain('super-secret-key');
  });

  it('exposes the normalised endpoint', async () => {
    const c = new MinioAdminClient({
      site: 's',
      endpoint: 'https://minio.example.com:443',
      accessKey: 'a',
      secretKey: 'b',
    });
    expect(c.endpoint).toBe('https://minio.example.com');
    await c.close();
  });
});
