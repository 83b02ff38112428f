import { describe, expect, it } from '@jest/globals';

import { type CopyIO, copyMain, parseCopyArgs, siteFromEnv } from './copy-command.js';
import { KubeConfigError, targetFromKubeconfig } from './light-kube.js';

const base = [
  'copy',
  '--bucket',
  'b',
  '--source',
  'minio',
  '--destination',
  'aws',
  '--checkpoint-namespace',
  'ns',
];

function io(env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CopyIO = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env,
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Error(`ENOENT ${p}`);
      return f;
    },
  };
  return { value, out, err };
}

describe('sitesync copy arguments', () => {
  it('take a partition as JSON or as --after/--until, and the limits', () => {
    expect(
      parseCopyArgs([
        ...base,
        '--partition',
        '{"after":"a","until":"m"}',
        '--bytes-per-second',
        '1048576',
      ]),
    ).toMatchObject({
      kind: 'copy',
      range: { after: 'a', until: 'm' },
      options: { mode: 'one-way', bytesPerSecond: 1048576 },
    });
    expect(parseCopyArgs([...base, '--after', 'x'])).toMatchObject({
      range: { after: 'x' },
      passes: 1,
    });
  });

  it('answer every bad input with a usage error naming it', () => {
    const bad: [string[], RegExp][] = [
      [[...base, '--partition', '{"from":"a"}'], /partition/],
      [[...base, '--partition', 'nope'], /JSON object/],
      [[...base, '--partition', '{}', '--after', 'a'], /exclude/],
      [[...base, '--concurrency', '0'], /concurrency/],
      [[...base, '--mode', 'sideways'], /mode/],
      [
        [
          'copy',
          '--bucket',
          'b',
          '--source',
          'Bad_Name',
          '--destination',
          'aws',
          '--checkpoint-namespace',
          'ns',
        ],
        /site name/,
      ],
      [['copy', '--bucket', 'b'], /--source is required/],
      [['partitions', '--bucket', 'b', '--site', 'a'], /--parts/],
      [[...base, '--unknown'], /unknown/i],
    ];
    for (const [args, message] of bad) {
      const r = parseCopyArgs(args);
      expect(r.kind).toBe('usage');
      expect(r.kind === 'usage' ? r.message : '').toMatch(message);
    }
  });

  it('print the usage on --help, exit 2 on a usage error', async () => {
    const h = io();
    expect(await copyMain(['copy', '--help'], h.value, new AbortController().signal)).toBe(0);
    expect(h.out.join('\n')).toMatch(/Usage: sitesync copy/);
    const u = io();
    expect(await copyMain(['copy'], u.value, new AbortController().signal)).toBe(2);
  });
});

describe('sites from the environment', () => {
  it('read credentials from a mounted Secret directory before the variables', () => {
    const { value } = io(
      {
        SITESYNC_SITE_MY_AWS_ENDPOINT: 'https://s3.example',
        SITESYNC_SITE_MY_AWS_FLAVOR: 's3',
        SITESYNC_SITE_MY_AWS_CREDENTIALS_DIR: '/secret',
        SITESYNC_SITE_MY_AWS_ACCESS_KEY: 'ignored',
      },
      { '/secret/accessKey': 'AK\n', '/secret/secretKey': 'SK\n' },
    );
    expect(siteFromEnv('my-aws', value)).toMatchObject({
      name: 'my-aws',
      flavor: 's3',
      accessKey: 'AK',
      secretKey: 'SK',
      region: 'us-east-1',
    });
  });

  it('say what is missing, never a credential', () => {
    const { value } = io({
      SITESYNC_SITE_A_ENDPOINT: 'http://x',
      SITESYNC_SITE_A_SECRET_KEY: 'top-secret',
    });
    expect(() => siteFromEnv('a', value)).toThrow(/SITESYNC_SITE_A_ACCESS_KEY/);
    try {
      siteFromEnv('a', value);
    } catch (e: unknown) {
      expect(String(e)).not.toContain('top-secret');
    }
    expect(() => siteFromEnv('b', value)).toThrow(/SITESYNC_SITE_B_ENDPOINT is not set/);
  });
});

describe('the light kubeconfig reader', () => {
  const kubeconfig = (user: string) => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: ${Buffer.from('CA').toString('base64')}}
users:
- name: u
  user: ${user}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`;

  it('takes the current context with a client certificate or a token', () => {
    const cert = Buffer.from('CERT').toString('base64');
    expect(
      targetFromKubeconfig(
        kubeconfig(`{client-certificate-data: ${cert}, client-key-data: ${cert}}`),
        () => '',
      ),
    ).toEqual(
      expect.objectContaining({
        server: 'https://127.0.0.1:6443',
        ca: 'CA',
        cert: 'CERT',
        key: 'CERT',
      }),
    );
    expect(targetFromKubeconfig(kubeconfig('{token: abc}'), () => '').token).toBe('abc');
  });

  it('refuses a user that needs a plugin', () => {
    expect(() => targetFromKubeconfig(kubeconfig('{exec: {command: aws}}'), () => '')).toThrow(
      KubeConfigError,
    );
  });
});
