import { Writable } from 'node:stream';

import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { CENSOR, isSecretName, newLogger, redactDeep } from './logger.js';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: newLogger('debug', sink) };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('logger', () => {
  it('redacts credential fields at the top level and one level down', async () => {
    const { lines, log } = capture();
    log.info(
      {
        site: { name: 'a', secretKey: 's3cr3t-value', accessKey: 'AKIA-VALUE' },
        secret: { data: { secretKey: 'c2VjcmV0' } },
        password: 'hunter2',
      },
      'Observed site',
    );
    await flush();
    const text = lines.join('');
    for (const s of ['s3cr3t-value', 'AKIA-VALUE', 'c2VjcmV0', 'hunter2'])
      expect(text).not.toContain(s);
    expect(JSON.parse(text)).toMatchObject({
      level: 'info',
      msg: 'Observed site',
      site: { name: 'a', secretKey: CENSOR },
    });
  });

  it('redacts secrets nested at any depth, in arrays and in child bindings', async () => {
    const { lines, log } = capture();
    const child = log.child({ conn: { sites: [{ name: 'a', auth: { secret_key: 'BIND-1' } }] } });
    child.child({ more: [{ password: 'GRAND-9' }] }).info('Observed site');
    child.warn(
      {
        group: {
          spec: {
            sites: [
              { name: 'a', tls: { nested: { deeper: { sessionToken: 'TOKEN-2' } } } },
              { name: 'b', credentials: { any: 'CRED-3' } },
            ],
          },
        },
        request: {
          headers: { Authorization: 'AWS4-HMAC-SHA256 SIG-4', 'X-Amz-Security-Token': 'T-5' },
        },
        idp: { ldap: { lookupBindPassword: 'LDAP-6' }, openid: { client_secret: 'OIDC-7' } },
        list: [[{ 'secret-key': 'ARR-8' }]],
      },
      'Patched status of SiteReplicationGroup',
    );
    await flush();
    const text = lines.join('');
    const secrets = ['BIND-1', 'TOKEN-2', 'CRED-3', 'SIG-4', 'T-5', 'LDAP-6', 'OIDC-7', 'ARR-8'];
    for (const s of [...secrets, 'GRAND-9']) expect(text).not.toContain(s);
    expect(lines).toHaveLength(2);
    const line = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
    expect(line).toMatchObject({
      conn: { sites: [{ name: 'a', auth: { secret_key: CENSOR } }] },
      group: { spec: { sites: [{ name: 'a' }, { name: 'b', credentials: CENSOR }] } },
      list: [[{ 'secret-key': CENSOR }]],
    });
  });

  it('redacts properties of errors, their causes included, and keeps them errors', async () => {
    const { lines, log } = capture();
    const cause = Object.assign(new Error('inner'), { request: { password: 'CAUSE-PW' } });
    const err = Object.assign(new Error('outer', { cause }), { conn: { secretKey: 'ERR-SK' } });
    log.error({ err }, 'Reconcile failed');
    await flush();
    const text = lines.join('');
    expect(text).not.toContain('CAUSE-PW');
    expect(text).not.toContain('ERR-SK');
    const line = JSON.parse(text) as { err: { type: string; message: string } };
    expect(line.err.type).toBe('Error');
    expect(line.err.message).toContain('outer');
    expect(err.conn.secretKey).toBe('ERR-SK'); // the caller's object is untouched
  });

  it('survives cycles and very deep objects', async () => {
    const { lines, log } = capture();
    const a: Record<string, unknown> = { name: 'a', password: 'CYCLE-PW' };
    a['self'] = a;
    let deep: Record<string, unknown> = { secretKey: 'DEEP-SK' };
    for (let i = 0; i < 100; i++) deep = { next: deep };
    log.info({ a, deep }, 'Observed site');
    await flush();
    const text = lines.join('');
    expect(text).not.toContain('CYCLE-PW');
    expect(text).not.toContain('DEEP-SK');
  });
});

describe('redactDeep', () => {
  it('returns the same object when nothing is secret (no copy on the hot path)', () => {
    const o = { controller: 'srg', namespace: 'ns', list: [{ name: 'a' }], n: 3 };
    expect(redactDeep(o)).toBe(o);
  });

  it('knows secret names whatever their case or separators', () => {
    for (const n of ['secretKey', 'SECRET_KEY', 'x-amz-security-token', 'lookup_bind_password'])
      expect(isSecretName(n)).toBe(true);
    for (const n of ['name', 'endpoint', 'reconcileID', 'bucket', 'keys', 'metadata'])
      expect(isSecretName(n)).toBe(false);
  });

  it('leaves no value of a secret-named property anywhere (property)', () => {
    const leaf = fc.oneof(
      fc.string().filter((v) => !v.includes('SECRET')),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
    );
    const secretKey = fc.constantFrom('secretKey', 'password', 'sessionToken', 'clientSecret');
    const secret = fc
      .tuple(secretKey, fc.string())
      .map(([k, v]) => ({ name: 'x', [k]: `SECRET:${v}` }));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        secret,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'name'), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (t) => {
        expect(JSON.stringify(redactDeep(t))).not.toContain('SECRET:');
      }),
    );
  });
});
