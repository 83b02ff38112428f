import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import {
  MAX_ERROR_BODY,
  adminStatusKind,
  describeHttpError,
  parseErrorBody,
  redactSecrets,
  transportErrorCode,
} from './admin-errors.js';

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('parseErrorBody', () => {
  it('reads the admin JSON error form', () => {
    const body = utf8(
      '{"Code":"XMinioAdminNoSuchUser","Message":"The specified user does not exist.","Resource":"/minio/admin/v3/user-info","RequestId":"17A1","HostId":""}\n',
    );
    expect(parseErrorBody(body)).toEqual({
      code: 'XMinioAdminNoSuchUser',
      message: 'The specified user does not exist.',
      requestId: '17A1',
    });
  });

  it('falls back to the S3 XML form, decoding entities', () => {
    const body = utf8(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match &amp; &#39;x&#39; &#x41;</Message><Resource>/minio/admin/v3/info</Resource><RequestId>18E</RequestId></Error>',
    );
    expect(parseErrorBody(body)).toEqual({
      code: 'SignatureDoesNotMatch',
      message: "The request signature we calculated does not match & 'x' A",
      requestId: '18E',
    });
  });

  it('returns undefined for an empty body, garbage, or JSON that is not an error', () => {
    expect(parseErrorBody(new Uint8Array(0))).toBeUndefined();
    expect(parseErrorBody(utf8('<html><body>502 Bad Gateway</body></html>'))).toBeUndefined();
    expect(parseErrorBody(utf8('{"not":"an error"}'))).toBeUndefined();
    expect(parseErrorBody(utf8('{truncated'))).toBeUndefined();
    expect(parseErrorBody(utf8('[1,2]'))).toBeUndefined();
  });

  it('reads at most 100 KiB', () => {
    const big = Buffer.concat([
      utf8('<Error><Code>X</Code><Message>'),
      Buffer.alloc(MAX_ERROR_BODY, 'a'),
      utf8('</Message></Error>'),
    ]);
    expect(parseErrorBody(big)).toEqual({ code: 'X', message: undefined, requestId: undefined });
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        parseErrorBody(bytes);
      }),
    );
  });
});

describe('adminStatusKind', () => {
  it.each([
    [426, 'XMinioAdminVersionMismatch', 'Unsupported'],
    [426, undefined, 'Unsupported'],
    [403, 'AccessDenied', 'AuthFailed'],
    [400, 'AccessDenied', 'AuthFailed'],
    [403, 'SignatureDoesNotMatch', 'AuthFailed'],
    [403, 'XMinioIAMActionNotAllowed', 'AuthFailed'],
    [404, 'XMinioAdminNoSuchUser', 'NotFound'],
    [404, 'XMinioInvalidIAMCredentials', 'NotFound'],
    [400, 'XMinioAdminGroupNotEmpty', 'Invalid'],
    [400, 'XMinioAdminPolicyChangeAlreadyApplied', 'Conflict'],
    [409, 'BucketAlreadyExists', 'Conflict'],
    [503, 'SlowDown', 'Throttled'],
    [429, undefined, 'Throttled'],
    [503, 'XMinioServerNotInitialized', 'NotReady'],
    [503, 'XMinioIAMNotInitialized', 'NotReady'],
    [503, 'XMinioBucketMetadataNotInitialized', 'NotReady'],
    [500, undefined, 'Internal'],
    [501, 'NotImplemented', 'Unsupported'],
  ] as const)('HTTP %i %s → %s', (status, code, kind) => {
    expect(adminStatusKind(status, code)).toBe(kind);
  });
});

describe('describeHttpError', () => {
  it('explains a 426 as an unmatched route', () => {
    expect(
      describeHttpError('GET /minio/admin/v3/list-remote-targets', 426, {
        code: 'XMinioAdminVersionMismatch',
      }),
    ).toMatch(/HTTP 426: no admin API route matched \(bad request shape/);
  });

  it('names the request, status, code and message', () => {
    expect(
      describeHttpError('PUT /minio/admin/v3/add-user', 400, {
        code: 'XMinioAdminInvalidArgument',
        message: 'bad',
      }),
    ).toBe('PUT /minio/admin/v3/add-user: HTTP 400 XMinioAdminInvalidArgument: bad');
    expect(describeHttpError('GET /x', 502, undefined)).toBe(
      'GET /x: HTTP 502 without an error body',
    );
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence of each secret', () => {
    expect(redactSecrets('a s3cr3t b s3cr3t c t0ken', ['s3cr3t', 't0ken', undefined])).toBe(
      'a *** b *** c ***',
    );
  });

  it('ignores secrets too short to be meaningful', () => {
    expect(redactSecrets('abc', ['b', ''])).toBe('abc');
  });

  it('leaves no secret behind, for any text', () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string({ minLength: 4, maxLength: 12 }),
        fc.string(),
        (pre, secret, post) => {
          fc.pre(!secret.includes('*'));
          expect(redactSecrets(`${pre}${secret}${post}${secret}`, [secret])).not.toContain(secret);
        },
      ),
    );
  });
});

describe('transportErrorCode', () => {
  it('finds the code along the cause chain', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(transportErrorCode(new TypeError('fetch failed', { cause: inner }))).toBe(
      'ECONNREFUSED',
    );
    expect(transportErrorCode(new Error('plain'))).toBeUndefined();
    expect(transportErrorCode('not an error')).toBeUndefined();
  });
});
