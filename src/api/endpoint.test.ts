import { describe, expect, it } from '@jest/globals';

import { normalizeEndpoint, sameEndpoint } from './endpoint.js';

describe('normalizeEndpoint', () => {
  it.each([
    ['https://HOST:443/', 'https://host'],
    ['https://host', 'https://host'],
    ['HTTPS://Host.Example.COM/', 'https://host.example.com'],
    ['http://host:80', 'http://host'],
    ['http://host:443', 'http://host:443'],
    ['https://host:80/', 'https://host:80'],
    ['http://127.0.0.1:9000//', 'http://127.0.0.1:9000'],
    ['  http://LocalHost:9000/ ', 'http://localhost:9000'],
    ['http://[::1]:9000/', 'http://[::1]:9000'],
    ['http://host:0080', 'http://host'],
  ])('%s -> %s', (input, out) => {
    expect(normalizeEndpoint(input)).toBe(out);
  });

  it('leaves text that is no URL comparable only to itself', () => {
    expect(normalizeEndpoint('not a url/')).toBe('not a url');
  });
});

describe('sameEndpoint', () => {
  it('treats the default port, case and a trailing slash as one endpoint', () => {
    expect(sameEndpoint('https://HOST:443/', 'https://host')).toBe(true);
    expect(sameEndpoint('http://a:9000', 'http://a:9001')).toBe(false);
    expect(sameEndpoint('http://a:9000', 'https://a:9000')).toBe(false);
  });
});
