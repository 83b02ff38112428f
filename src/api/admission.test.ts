import { describe, expect, it } from '@jest/globals';

import {
  MAX_ANNOTATIONS_BYTES,
  type SchemaNode,
  admissionIssues,
  listTypeIssues,
  metadataIssues,
  pruneNulls,
  qualifiedNameProblem,
  unknownFields,
} from './admission.js';
import { CRDS, openAPISchema } from './crd.js';

const schema: SchemaNode = {
  type: 'object',
  properties: {
    sites: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name', 'zone'],
      items: { type: 'object', properties: { name: {}, zone: {}, extra: {} } },
    },
    tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
    free: { type: 'object' },
  },
};

describe('pruneNulls', () => {
  it('drops null fields at any depth, keeps null list items and __proto__ as data', () => {
    const v: unknown = JSON.parse(
      '{"a":null,"b":{"c":null,"d":[null,{"e":null}]},"__proto__":{"x":1}}',
    );
    const pruned = pruneNulls(v) as Record<string, unknown>;
    expect(JSON.stringify(pruned)).toBe('{"b":{"d":[null,{}]},"__proto__":{"x":1}}');
    expect(Object.getPrototypeOf(pruned)).toBe(Object.prototype);
  });
});

describe('unknownFields', () => {
  it('names every field the schema does not declare, in lists too', () => {
    const v = { sites: [{ name: 'a', zone: 'z', typo: 1 }], other: 2, free: { any: 1 } };
    expect(unknownFields(schema, v, 'spec')).toEqual([
      { path: 'spec.sites[0].typo', message: 'unknown field "spec.sites[0].typo"' },
      { path: 'spec.other', message: 'unknown field "spec.other"' },
    ]);
  });

  it('does not take inherited names for fields', () => {
    expect(unknownFields(schema, { toString: 1 }, '')).toEqual([
      { path: 'toString', message: 'unknown field "toString"' },
    ]);
  });
});

describe('listTypeIssues', () => {
  it('finds repeated keys of a list-map (all keys together) and repeated set items', () => {
    const v = {
      sites: [
        { name: 'a', zone: '1' },
        { name: 'a', zone: '2' },
        { zone: '1', name: 'a', extra: true },
      ],
      tags: ['x', 'y', 'x'],
    };
    expect(listTypeIssues(schema, v, 'spec')).toEqual([
      { path: 'spec.sites[2]', message: 'Duplicate value: {"name":"a","zone":"1"}' },
      { path: 'spec.tags[2]', message: 'Duplicate value: "x"' },
    ]);
  });

  it('covers every list-map and set of the generated CRDs', () => {
    for (const def of CRDS) {
      const found = listsOf(openAPISchema(def.spec), 'spec');
      for (const { path, node } of found) {
        const keys = node['x-kubernetes-list-map-keys'] ?? [];
        const item = Object.fromEntries(keys.map((k) => [k, 'same']));
        const twice = setAt(path, [item, { ...item }]);
        const issues = listTypeIssues(openAPISchema(def.spec), twice, 'spec');
        expect([def.kind, path, issues.map((i) => i.path)]).toEqual([
          def.kind,
          path,
          [`${path.replace(/\[\]/g, '[0]')}[1]`],
        ]);
      }
    }
    // spec.sites of SiteReplicationGroup and filter.and.tags of BucketReplication at least.
    const all = CRDS.flatMap((d) => listsOf(openAPISchema(d.spec), 'spec'));
    expect(all.map((l) => l.path)).toEqual(
      expect.arrayContaining(['spec.sites', 'spec.rules[].filter.and.tags']),
    );
  });
});

/** Paths (`[]` for list items) of the list-maps and sets in a schema. */
function listsOf(node: SchemaNode, path: string): { path: string; node: SchemaNode }[] {
  const here = node['x-kubernetes-list-type'] === undefined ? [] : [{ path, node }];
  const props = Object.entries(node.properties ?? {}).flatMap(([k, s]) =>
    listsOf(s, `${path}.${k}`),
  );
  const items = node.items === undefined ? [] : listsOf(node.items, `${path}[]`);
  return [...here, ...props, ...items];
}

/** An object with `value` at a path like `spec.rules[].filter.and.tags` (one item per list). */
function setAt(path: string, value: unknown): unknown {
  const parts = path.split('.').slice(1);
  const build = (i: number): unknown => {
    const part = parts[i];
    if (part === undefined) return value;
    const inner = build(i + 1);
    return part.endsWith('[]') ? { [part.slice(0, -2)]: [inner] } : { [part]: inner };
  };
  return build(0);
}

describe('metadataIssues', () => {
  it('accepts what the apiserver accepts', () => {
    expect(
      metadataIssues({
        name: 'g',
        namespace: 'storage',
        labels: { 'app.kubernetes.io/name': 'x', empty: '' },
        annotations: { 'example.com/note': 'any text: at all' },
        finalizers: ['sitesync.io/finalizer', 'plain'],
        generation: 3,
        uid: 'u',
      }),
    ).toEqual([]);
  });

  it('names unknown fields, wrong types, bad keys and values', () => {
    expect(
      metadataIssues({
        name: 'g',
        nmae: 'typo',
        namespace: 'Bad_NS',
        labels: { 'a b': 'x', ok: 1, v: '-bad-' },
        annotations: { k: ['list'] },
        finalizers: ['a/b/c'],
        generation: 'one',
      }),
    ).toEqual([
      { path: 'metadata.nmae', message: 'unknown field "metadata.nmae"' },
      { path: 'metadata.generation', message: 'must be an integer' },
      {
        path: 'metadata.namespace',
        message: 'a namespace is a DNS label: lower-case letters, digits and -, at most 63',
      },
      { path: 'metadata.labels', message: `key "a b": ${qualifiedNameProblem('a b') ?? ''}` },
      { path: 'metadata.labels.ok', message: 'must be a string (quote numbers and booleans)' },
      {
        path: 'metadata.labels.v',
        message:
          "a label value is empty or 1 to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
      },
      { path: 'metadata.annotations.k', message: 'must be a string (quote numbers and booleans)' },
      { path: 'metadata.finalizers[0]', message: 'a qualified name has at most one /' },
    ]);
  });

  it('bounds the annotations together', () => {
    const issues = metadataIssues({ annotations: { a: 'x'.repeat(MAX_ANNOTATIONS_BYTES) } });
    expect(issues).toEqual([
      {
        path: 'metadata.annotations',
        message: `the annotations total ${MAX_ANNOTATIONS_BYTES + 1} bytes; at most ${MAX_ANNOTATIONS_BYTES}`,
      },
    ]);
  });

  it('checks qualified names as Kubernetes does', () => {
    expect(qualifiedNameProblem('sitesync.io/finalizer')).toBeUndefined();
    expect(qualifiedNameProblem('A_b.C')).toBeUndefined();
    expect(qualifiedNameProblem('x'.repeat(64))).toMatch(/name part/);
    expect(qualifiedNameProblem('Upper.io/x')).toMatch(/prefix/);
    expect(qualifiedNameProblem('/x')).toMatch(/prefix/);
    expect(qualifiedNameProblem('x/')).toMatch(/name part/);
  });
});

describe('admissionIssues', () => {
  it('checks top-level fields, metadata, the spec, and only unknown fields of the status', () => {
    const srg = CRDS.find((d) => d.kind === 'SiteReplicationGroup');
    if (srg === undefined) throw new Error('no SiteReplicationGroup CRD');
    const schemas = { spec: openAPISchema(srg.spec), status: openAPISchema(srg.status) };
    const site = { name: 'a', endpoint: 'http://a:1', credentialsSecret: { name: 's' } };
    const obj = {
      apiVersion: 'sitesync.io/v1alpha1',
      kind: 'SiteReplicationGroup',
      metadata: { name: 'g' },
      spec: { sites: [site, { ...site, endpoint: 'http://b:1' }], mdoe: 'x' },
      status: { sites: [{ name: 'a' }, { name: 'a' }], nope: 1 },
      extra: true,
    };
    expect(admissionIssues(obj, schemas).map((i) => i.message)).toEqual([
      'unknown field "extra"',
      'unknown field "spec.mdoe"',
      'Duplicate value: {"name":"a"}',
      'unknown field "status.nope"',
    ]);
  });
});
