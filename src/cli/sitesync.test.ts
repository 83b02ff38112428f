import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';

import { type CliIO, UNEXPECTED, USAGE, main, readFileBounded } from './sitesync.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SAMPLES = join(ROOT, 'manifests', 'samples');
const dir = mkdtempSync(join(tmpdir(), 'sitesync-cli-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function file(text: string | Buffer, ext = 'yaml'): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}

function run(args: string[], stdin?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readFile: (p) => (p === '-' ? Buffer.from(stdin ?? '') : readFileBounded(p)),
  };
  const code = main(args, io);
  return { code, out, err };
}

const ARN = 'arn:minio:replication::0f4a4c9e-3a1b-4c6e-9b8f-1d2e3f4a5b6c:photos';

const GROUP = `apiVersion: sitesync.io/v1alpha1
kind: SiteReplicationGroup
metadata: {name: europe}
spec:
  sites:
    - {name: site-a, endpoint: 'http://a:9000', credentialsSecret: {name: a}}
    - {name: site-b, endpoint: 'http://b:9000', credentialsSecret: {name: b}}
`;

const brep = (name: string, spec: string) => `apiVersion: sitesync.io/v1alpha1
kind: BucketReplication
metadata: {name: ${name}}
spec:
${spec}`;

const RULES = (
  p1: number,
  p2: number,
  site = 'site-b',
) => `  source: {bucket: photos, groupRef: {name: europe}, site: site-a}
  rules:
    - {id: a, priority: ${p1}, filter: {prefix: a/}, deleteMarkerReplication: {status: Disabled}, destination: {site: ${site}}}
    - {id: b, priority: ${p2}, filter: {prefix: b/}, deleteMarkerReplication: {status: Disabled}, destination: {site: ${site}}}
`;

describe('sitesync validate: samples', () => {
  const samples = readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(SAMPLES, f));

  it.each(samples.map((s) => [s.slice(SAMPLES.length + 1), s]))('%s is valid', (_n, path) => {
    const r = run(['validate', '-f', path]);
    expect(r.out).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('all samples together are valid (groupRef resolved across files)', () => {
    const r = run(['validate', ...samples.flatMap((s) => ['-f', s])]);
    expect(r.out).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.err.at(-1)).toMatch(/5 document\(s\) checked in 3 file\(s\), 0 error\(s\)/);
  });
});

describe('sitesync validate: errors name file, resource, path and rule', () => {
  it('reports what only the operator checks (unique priorities)', () => {
    const f = file(GROUP + '---\n' + brep('bad', RULES(1, 1)));
    const r = run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${f}: BucketReplication/bad: spec.rules[1].priority: rule "b": priority 1 is already used by rules[0]; priorities must be unique`,
    ]);
  });

  it('checks managed destinations and the source site against a group in the files', () => {
    const spec = RULES(1, 2, 'site-z').replace('site: site-a}', 'site: site-q}');
    const g = file(GROUP);
    const b = file(brep('far', spec));
    const r = run(['validate', '-f', g, '-f', b]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${b}: BucketReplication/far: spec.source.site: site site-q is not a site of SiteReplicationGroup europe (sites: site-a, site-b)`,
      `${b}: BucketReplication/far: spec.rules[0].destination.site: rule "a": site site-z is not a site of SiteReplicationGroup europe (sites: site-a, site-b)`,
      `${b}: BucketReplication/far: spec.rules[1].destination.site: rule "b": site site-z is not a site of SiteReplicationGroup europe (sites: site-a, site-b)`,
    ]);
  });

  it('reports schema errors at their path in every kind', () => {
    const srg = GROUP.replace("'http://a:9000'", 'ftp://a').concat('  primary: site-c\n');
    const idp = `apiVersion: sitesync.io/v1alpha1
kind: IdentityProvider
metadata: {name: both}
spec:
  openid: {configURL: 'https://sso/.well-known/openid-configuration', clientID: x, clientSecret: {name: s}}
  ldap: {serverAddr: 'ldap:636', lookupBindDN: 'cn=x', lookupBindPassword: {name: p}, userDNSearchBaseDN: 'ou=p', userDNSearchFilter: '(uid=%s)'}
`;
    const f = file(`${srg}---\n${idp}`);
    const r = run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(
      new RegExp(`^${f}: SiteReplicationGroup/europe: spec\\.sites\\[0\\]\\.endpoint: `),
    );
    expect(r.out).toContainEqual(
      `${f}: IdentityProvider/both: spec: exactly one of spec.openid and spec.ldap must be set`,
    );
  });

  it('runs the cross-field rules of a valid shape', () => {
    const f = file(GROUP.concat('  primary: site-c\n'));
    expect(run(['validate', '-f', f]).out).toEqual([
      `${f}: SiteReplicationGroup/europe: spec: spec.primary must name one of spec.sites`,
    ]);
  });

  it('checks raw XML files', () => {
    const rule = (id: string, p: number) =>
      `<Rule><ID>${id}</ID><Priority>${p}</Priority><Status>Enabled</Status><Filter><Prefix>${id}/</Prefix></Filter><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>${ARN}</Bucket></Destination></Rule>`;
    const good = file(
      `<ReplicationConfiguration>${rule('a', 1)}${rule('b', 2)}</ReplicationConfiguration>`,
      'xml',
    );
    expect(run(['validate', '-f', good]).code).toBe(0);
    const dup = file(
      `<ReplicationConfiguration>${rule('a', 1)}${rule('a', 2)}</ReplicationConfiguration>`,
      'xml',
    );
    expect(run(['validate', '-f', dup]).out).toEqual([
      `${dup}: ReplicationConfiguration: rules[1].id: rule "a": id 'a' is already used by rules[0]; rule IDs must be unique`,
    ]);
    const broken = file(
      '<ReplicationConfiguration><Rule><Priority>x</Priority></Rule></ReplicationConfiguration>',
      'xml',
    );
    const r = run(['validate', '-f', broken]);
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(
      new RegExp(`^${broken}: ReplicationConfiguration: ReplicationConfiguration\\.Rule\\[0\\]`),
    );
  });

  it('reports XML inside a BucketReplication under spec.configurationXML', () => {
    const xml = `<ReplicationConfiguration><Rule><ID>x</ID><Priority>1</Priority><Status>On</Status><Filter><Prefix>p</Prefix></Filter><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>${ARN}</Bucket></Destination></Rule></ReplicationConfiguration>`;
    const f = file(
      brep(
        'x',
        `  source: {bucket: photos, groupRef: {name: europe}, site: site-a}\n  configurationXML: '${xml}'\n`,
      ),
    );
    expect(run(['validate', '-f', f]).out).toEqual([
      `${f}: BucketReplication/x: spec.configurationXML.rules[0].status: rule "x": status must be Enabled or Disabled, not 'On'`,
    ]);
  });

  it('validates for the flavor of an inline source site, or --flavor', () => {
    const s3xml = `<ReplicationConfiguration><Role>arn:aws:iam::123456789012:role/replication</Role><Rule><ID>x</ID><Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>p</Prefix></Filter><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><Destination><Bucket>arn:aws:s3:::replica</Bucket><StorageClass>STANDARD_IA</StorageClass></Destination></Rule></ReplicationConfiguration>`;
    const inline = (flavor: string) =>
      `  source:\n    bucket: photos\n    siteSpec: {name: aws, flavor: ${flavor}, endpoint: 'https://s3.amazonaws.com', credentialsSecret: {name: aws}}\n  configurationXML: '${s3xml}'\n`;
    expect(run(['validate', '-f', file(brep('aws', inline('s3')))]).code).toBe(0);
    const onMinio = run(['validate', '-f', file(brep('aws', inline('minio')))]);
    expect(onMinio.code).toBe(1);
    expect(onMinio.out.join('\n')).toMatch(
      /destination\.storageClass must be STANDARD or REDUCED_REDUNDANCY on MinIO/,
    );
    const raw = file(s3xml, 'xml');
    expect(run(['validate', '-f', raw]).code).toBe(1);
    expect(run(['validate', '--flavor', 's3', '-f', raw]).code).toBe(0);
  });

  it('reports YAML syntax errors with their position', () => {
    const f = file('apiVersion: sitesync.io/v1alpha1\nkind: [unclosed\n');
    const r = run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out[0]).toMatch(new RegExp(`^${f}: document\\[0\\]: line \\d+, column \\d+: `));
  });

  it('checks apiVersion, kind and name of our group, and skips other documents', () => {
    const f = file(`apiVersion: v1
kind: Secret
metadata: {name: creds}
---
apiVersion: sitesync.io/v1
kind: BucketReplications
metadata: {name: Bad_Name}
`);
    const r = run(['validate', '-f', f]);
    expect(r.out).toEqual([
      `${f}: BucketReplications/Bad_Name: apiVersion: apiVersion must be sitesync.io/v1alpha1`,
      `${f}: BucketReplications/Bad_Name: kind: kind must be one of SiteReplicationGroup, BucketReplication, IdentityProvider`,
      `${f}: BucketReplications/Bad_Name: metadata.name: metadata.name is required: lower-case letters, digits, - and . (at most 253)`,
    ]);
    const only = run([
      'validate',
      '-f',
      file('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'),
    ]);
    expect(only.code).toBe(0);
    expect(only.err).toContain('sitesync validate: no sitesync resource found');
  });

  it('reads standard input with -f -', () => {
    expect(run(['validate', '-f', '-'], GROUP).code).toBe(0);
    expect(run(['validate', '-f', '-'], brep('bad', RULES(1, 1))).code).toBe(1);
  });

  it('counts an unreadable file as an error', () => {
    const missing = join(dir, 'missing.yaml');
    const r = run(['validate', '-f', missing]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([`${missing}: cannot read: no such file`]);
  });
});

describe('sitesync validate: every failure is a line naming the file, never a crash', () => {
  const rule = (i: number) =>
    `{id: r${i}, priority: ${i}, filter: {prefix: a/}, deleteMarkerReplication: {status: Disabled}, destination: {bucket: 'arn:aws:s3:::d'}}`;

  it('reads a 1001-rule BucketReplication written with one anchor, and reports the rule count', () => {
    const spec = `  source: {bucket: photos, groupRef: {name: europe}, site: site-a}\n  rules:\n    - &r ${rule(1)}\n${'    - *r\n'.repeat(1000)}`;
    const f = file(brep('many', spec));
    const r = run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${f}: BucketReplication/many: spec.rules: Too big: expected array to have <=1000 items`,
    ]);
  });

  it('refuses an alias bomb with a message', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 30; i++)
      lines.push(`a${i}: &a${i} [${`*a${i - 1}, `.repeat(8)}*a${i - 1}]`);
    const f = file(`${GROUP}  x:\n${lines.map((l) => `    ${l}`).join('\n')}\n`);
    const r = run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${f}: document[0]: (document): with its aliases resolved the document would be far more than 3 MiB of JSON; the apiserver takes at most 3 MiB per object`,
    ]);
  });

  it('refuses binary files, directories and unknown kinds, naming the file', () => {
    const bin = file(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]), 'png');
    const kind = file('apiVersion: sitesync.io/v1alpha1\nkind: Bucket\nmetadata: {name: b}\n');
    const noKind = file('metadata: {name: x}\nspec: {}\n');
    const r = run(['validate', '-f', bin, '-f', dir, '-f', kind, '-f', noKind]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${bin}: not a text file: it holds NUL bytes (binary content?)`,
      `${dir}: cannot read: is a directory, not a file`,
      `${kind}: Bucket/b: kind: kind must be one of SiteReplicationGroup, BucketReplication, IdentityProvider`,
      `${noKind}: document[0]: apiVersion, kind: not a Kubernetes object: apiVersion and kind must be set`,
    ]);
  });

  it('refuses a file over 8 MiB', () => {
    const f = file(`# ${'x'.repeat(8 * 1024 * 1024)}\n`);
    expect(run(['validate', '-f', f]).out).toEqual([
      `${f}: the file is larger than 8 MiB, more than any manifest of these kinds can be`,
    ]);
  });

  it('checks what admission checks: unique site names, unknown fields, metadata', () => {
    const dup = GROUP.replace('name: site-b,', 'name: site-a,').replace(
      'metadata: {name: europe}',
      'metadata: {name: europe, labels: {tier: 1}}',
    );
    const f = file(`${dup}  replicate: {objcts: false}\n`);
    const r = run(['validate', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([
      `${f}: SiteReplicationGroup/europe: metadata.labels.tier: must be a string (quote numbers and booleans)`,
      `${f}: SiteReplicationGroup/europe: spec.replicate.objcts: unknown field "spec.replicate.objcts"`,
      `${f}: SiteReplicationGroup/europe: spec.sites[1]: Duplicate value: {"name":"site-a"}`,
    ]);
  });

  it('reads YAML as kubectl does: null fields dropped, yes/no booleans, last repeated key', () => {
    const f = file(`${GROUP}  primary: null\n  paused: yes\n  paused: off\n`);
    expect(run(['validate', '-f', f])).toMatchObject({ code: 0, out: [] });
  });

  it('checks the items of a v1 List', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'sitesync.io/v1alpha1',
          kind: 'SiteReplicationGroup',
          metadata: { name: 'g' },
          spec: {},
        },
      ],
    };
    const f = file(stringify(list));
    const r = run(['validate', '-f', f]);
    expect(r.out).toEqual([
      `${f}: SiteReplicationGroup/g: spec.sites: Invalid input: expected array, received undefined`,
    ]);
  });
});

describe('sitesync validate: no input makes it throw (properties)', () => {
  /** The CLI on one file of these bytes: exit status and output, or the exception. */
  const check = (bytes: Uint8Array) => {
    const out: string[] = [];
    const io: CliIO = { out: (l) => out.push(l), err: () => undefined, readFile: () => bytes };
    const code = main(['validate', '-f', 'in.yaml'], io);
    expect([0, 1]).toContain(code);
    for (const line of out) {
      expect(line.startsWith('in.yaml: ')).toBe(true);
      expect(line).not.toContain(UNEXPECTED);
    }
    return { code, out };
  };

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => void check(b)),
      {
        numRuns: 300,
      },
    );
  });

  it('random text made of YAML and XML punctuation', () => {
    const token = fc.constantFrom(
      ...[
        'apiVersion: sitesync.io/v1alpha1',
        'kind: SiteReplicationGroup',
        'kind: BucketReplication',
      ],
      ...[
        'kind: IdentityProvider',
        'metadata: {name: x}',
        'spec:',
        'sites:',
        'rules:',
        '&a ',
        '*a',
      ],
      ...['<<: ', '- ', '[', ']', '{', '}', ': ', ', ', '\n', '  ', '---\n', '...\n', '!!binary '],
      ...['!!set ', '!!map ', '!!str ', '? ', '"', "'", 'yes', '0x1F', '~', 'null', '%YAML 1.1\n'],
      ...[
        '<ReplicationConfiguration>',
        '<Rule>',
        '</Rule>',
        '<ID>',
        '&amp;',
        '<!--',
        '#',
        '|',
        '>',
      ],
    );
    fc.assert(
      fc.property(
        fc.array(fc.oneof(token, fc.string({ maxLength: 5 })), { maxLength: 60 }),
        (t) => void check(Buffer.from(t.join(''))),
      ),
      { numRuns: 500 },
    );
  });

  it('random flow YAML with anchors, aliases and merge keys in a resource', () => {
    const name = fc.constantFrom('a0', 'a1', 'a2');
    const { node } = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('x', '1', 'yes', 'null', '"s"', 'http://a:1', 'Enabled'),
        name.map((n) => `*${n}`),
        fc.tuple(name, tie('node')).map(([n, v]) => `&${n} ${v}`),
        fc.array(tie('node'), { maxLength: 4 }).map((xs) => `[${xs.join(', ')}]`),
        fc
          .array(fc.tuple(fc.constantFrom('name', 'sites', 'rules', '<<', 'k'), tie('node')), {
            maxLength: 4,
          })
          .map((kvs) => `{${kvs.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
      ),
    }));
    const kind = fc.constantFrom('SiteReplicationGroup', 'BucketReplication', 'IdentityProvider');
    fc.assert(
      fc.property(kind, node, node, (k, a, b) => {
        const text = `apiVersion: sitesync.io/v1alpha1\nkind: ${k}\nmetadata: {name: x}\nx: ${a}\nspec: ${b}\n`;
        check(Buffer.from(text));
      }),
      { numRuns: 1000 },
    );
  });

  const samples = readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(SAMPLES, f), 'utf8')))
    .map((d) => d.toJS() as unknown);

  /** Every path into a value, as lists of keys. */
  const paths = (v: unknown, at: (string | number)[] = []): (string | number)[][] => {
    if (typeof v !== 'object' || v === null) return [at];
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
    return [at, ...entries.flatMap(([k, x]) => paths(x, [...at, k]))];
  };

  const replaced = (doc: unknown, path: (string | number)[], value: unknown): unknown => {
    const [head, ...rest] = path;
    if (head === undefined) return value;
    const copy = (Array.isArray(doc) ? [...(doc as unknown[])] : { ...(doc as object) }) as Record<
      string | number,
      unknown
    >;
    copy[head] = replaced(copy[head], rest, value);
    return copy;
  };

  it('samples with any part replaced by any value', () => {
    const codes = new Set<number>();
    const arb = fc
      .tuple(fc.nat({ max: samples.length - 1 }), fc.nat(), fc.anything({ maxDepth: 3 }))
      .map(([s, p, value]) => {
        const doc = samples[s];
        const all = paths(doc);
        // The whole document replaced by undefined: stringify would return undefined.
        return stringify(replaced(doc, all[p % all.length] ?? [], value) ?? null);
      });
    fc.assert(
      fc.property(arb, (yaml) => {
        codes.add(check(Buffer.from(yaml)).code);
      }),
      { numRuns: 500 },
    );
    // Both verdicts came up: the inputs reached the checks, not only the parser.
    expect([...codes].sort()).toEqual([0, 1]);
  });
});

describe('sitesync: command line', () => {
  it('prints help', () => {
    expect(run(['--help'])).toMatchObject({ code: 0, out: [USAGE] });
    expect(run(['validate', '-h']).code).toBe(0);
  });

  it('exits 2 on usage errors', () => {
    for (const args of [
      [],
      ['validate'],
      ['check', '-f', 'x'],
      ['validate', '-f', 'x', '--flavor', 'gcs'],
      ['validate', '--nope'],
    ]) {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.err.at(-1)).toBe(USAGE);
    }
  });

  it('takes files as positionals too', () => {
    expect(run(['validate', file(GROUP)]).code).toBe(0);
  });
});
