import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { parseAllDocuments } from 'yaml';

import { BREP_SPEC_RULES, BucketReplicationSpecSchema } from './bucket-replication.js';
import { checkCrossFieldRules } from './common.js';
import { CRDS, buildCrd, crdFileName, renderCrdYaml } from './crd.js';
import { IDP_SPEC_RULES, IdentityProviderSpecSchema } from './identity-provider.js';
import { SRG_SPEC_RULES, SiteReplicationGroupSpecSchema } from './site-replication-group.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('generated CRDs', () => {
  it.each(CRDS.map((d) => [d.kind, d] as const))(
    'crds/ holds what src/api generates for %s',
    (_k, def) => {
      const committed = readFileSync(join(ROOT, 'crds', crdFileName(def)), 'utf8');
      // If this fails, run `make crds` and commit the result.
      expect(committed).toBe(renderCrdYaml(def));
    },
  );

  it('are structural: no additionalProperties beside properties, every node typed', () => {
    const walk = (node: unknown, path: string): string[] => {
      if (typeof node !== 'object' || node === null) return [];
      const n = node as Record<string, unknown>;
      const problems: string[] = [];
      if ('properties' in n && 'additionalProperties' in n) problems.push(`${path}: both`);
      if ('properties' in n || 'items' in n) {
        if (n['type'] === undefined && n['x-kubernetes-preserve-unknown-fields'] !== true) {
          problems.push(`${path}: no type`);
        }
      }
      for (const [k, v] of Object.entries((n['properties'] ?? {}) as Record<string, unknown>))
        problems.push(...walk(v, `${path}.${k}`));
      if (n['items']) problems.push(...walk(n['items'], `${path}[]`));
      return problems;
    };
    for (const def of CRDS) {
      const crd = buildCrd(def) as {
        spec: { versions: { schema: { openAPIV3Schema: unknown } }[] };
      };
      expect(walk(crd.spec.versions[0]?.schema.openAPIV3Schema, def.kind)).toEqual([]);
    }
  });
});

const SPEC_SCHEMAS = {
  SiteReplicationGroup: SiteReplicationGroupSpecSchema,
  BucketReplication: BucketReplicationSpecSchema,
  IdentityProvider: IdentityProviderSpecSchema,
} as const;

describe('samples', () => {
  const samplesDir = join(ROOT, 'manifests', 'samples');
  const docs = readdirSync(samplesDir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(samplesDir, f), 'utf8')).map(
        (d) => [f, d.toJS() as { kind: keyof typeof SPEC_SCHEMAS; spec: unknown }] as const,
      ),
    );

  it('cover every kind', () => {
    expect(new Set(docs.map(([, d]) => d.kind))).toEqual(new Set(Object.keys(SPEC_SCHEMAS)));
  });

  it.each(docs.map(([f, d]) => [`${f} ${d.kind}`, d] as const))('%s is valid', (_n, doc) => {
    const parsed = SPEC_SCHEMAS[doc.kind].safeParse(doc.spec);
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});

const site = (name: string, endpoint = `http://${name}.example:9000`) => ({
  name,
  endpoint,
  credentialsSecret: { name: `${name}-creds` },
});

describe('cross-field rules (the same rules the apiserver checks as CEL)', () => {
  const srg = (extra: object) =>
    SiteReplicationGroupSpecSchema.parse({ sites: [site('a'), site('b')], ...extra });

  it('hold for a valid group', () => {
    expect(checkCrossFieldRules(srg({ primary: 'a' }), SRG_SPEC_RULES)).toEqual([]);
  });

  it('reject a primary that is not a site', () => {
    expect(checkCrossFieldRules(srg({ primary: 'z' }), SRG_SPEC_RULES)).toEqual([
      'spec.primary must name one of spec.sites',
    ]);
  });

  it('require a primary in PrimarySecondary mode', () => {
    expect(checkCrossFieldRules(srg({ mode: 'PrimarySecondary' }), SRG_SPEC_RULES)).toEqual([
      'spec.primary is required when spec.mode is PrimarySecondary',
    ]);
  });

  it('reject two sites on one endpoint', () => {
    const spec = SiteReplicationGroupSpecSchema.parse({
      sites: [site('a', 'http://same:9000'), site('b', 'http://same:9000')],
    });
    expect(checkCrossFieldRules(spec, SRG_SPEC_RULES)).toHaveLength(1);
  });

  it('need exactly one of openid and ldap', () => {
    expect(checkCrossFieldRules({}, IDP_SPEC_RULES)).toHaveLength(1);
    expect(checkCrossFieldRules({ openid: {}, ldap: {} }, IDP_SPEC_RULES)).toHaveLength(1);
    expect(checkCrossFieldRules({ openid: {} }, IDP_SPEC_RULES)).toEqual([]);
  });

  it('need exactly one of rules and configurationXML', () => {
    expect(
      checkCrossFieldRules({ rules: [], configurationXML: '<x/>' }, BREP_SPEC_RULES),
    ).toHaveLength(1);
    expect(checkCrossFieldRules({}, BREP_SPEC_RULES)).toHaveLength(1);
    expect(checkCrossFieldRules({ configurationXML: '<x/>' }, BREP_SPEC_RULES)).toEqual([]);
  });

  it('apply defaults the way the CRD does', () => {
    const spec = srg({});
    expect(spec.mode).toBe('ActiveActive');
    expect(spec.syncInterval).toBe('30s');
    expect(spec.replicate.iam.users).toBe(true);
    expect(spec.buckets.include).toEqual(['*']);
    expect(spec.sites[0]?.flavor).toBe('minio');
    expect(spec.sites[0]?.credentialsSecret.secretKeyKey).toBe('secretKey');
  });
});

describe('mixed groups: the object copier and spec.accessKeys', () => {
  const base = { sites: [site('a'), { ...site('aws'), flavor: 's3' }] };

  it('defaults the copier to 4 keys at once and no bandwidth limit', () => {
    expect(SiteReplicationGroupSpecSchema.parse(base).objectCopier).toEqual({ concurrency: 4 });
  });

  it('bounds the copier and the access-key requests', () => {
    const bad = (extra: object) =>
      !SiteReplicationGroupSpecSchema.safeParse({ ...base, ...extra }).success;
    expect(bad({ objectCopier: { concurrency: 0 } })).toBe(true);
    expect(bad({ objectCopier: { bytesPerSecond: 10 } })).toBe(true);
    expect(bad({ accessKeys: [{ user: 'alice smith', secretName: 'k' }] })).toBe(true);
    expect(bad({ accessKeys: [{ user: 'alice', secretName: 'Not_A_Name' }] })).toBe(true);
    expect(bad({ accessKeys: [{ user: 'alice@corp', secretName: 'alice-aws' }] })).toBe(false);
  });
});
