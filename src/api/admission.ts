/**
 * What the apiserver checks when a resource of ours is created, beyond the zod schema of its
 * spec (types, bounds, patterns, enums) and the CEL twins (`CrossFieldRule`): read from the
 * generated CRD schema itself, so a new list-map or field is covered without more code.
 *
 * - nulls: a field set to null is dropped before anything else (no field is `nullable`);
 * - unknown fields: refused anywhere in the object, status included (kubectl's strict field
 *   validation: `strict decoding error: unknown field "spec.foo"`);
 * - `x-kubernetes-list-type: map` keys and `set` items are unique (`Duplicate value`);
 * - metadata: only ObjectMeta's fields; labels and annotations are maps of strings with
 *   qualified-name keys, label values are label values, annotations total at most 256 KiB,
 *   namespace is a DNS label, finalizers are qualified names.
 *
 * The integration test `validate-vs-apiserver` holds this to the real apiserver's verdicts.
 */
import { DNS_LABEL } from './common.js';

export interface AdmissionIssue {
  path: string;
  message: string;
}

/** The parts of a CRD's structural schema these checks read. */
export interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The value without null-valued fields, at any depth (list items stay: null items are errors). */
export function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (!isObject(v)) return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) {
    // defineProperty: a `__proto__` key stays data, as the apiserver sees it.
    if (x !== null) Object.defineProperty(out, k, { value: pruneNulls(x), enumerable: true });
  }
  return out;
}

const child = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

/** Fields the schema does not declare, where it declares properties. */
export function unknownFields(schema: SchemaNode, v: unknown, path: string): AdmissionIssue[] {
  if (Array.isArray(v) && schema.items !== undefined) {
    const items = schema.items;
    return v.flatMap((x, i) => unknownFields(items, x, `${path}[${i}]`));
  }
  const props = schema.properties;
  if (!isObject(v) || props === undefined) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const p = child(path, k);
    const s = Object.hasOwn(props, k) ? props[k] : undefined;
    return s === undefined
      ? [{ path: p, message: `unknown field "${p}"` }]
      : unknownFields(s, x, p);
  });
}

/** A canonical text of a JSON value (object keys sorted), to compare list items. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return v === undefined ? 'null' : JSON.stringify(v);
}

function duplicates(schema: SchemaNode, list: unknown[], path: string): AdmissionIssue[] {
  const type = schema['x-kubernetes-list-type'];
  const keys = schema['x-kubernetes-list-map-keys'] ?? [];
  const keyOf = (item: unknown): string | undefined => {
    if (type === 'set') return canonical(item);
    if (type !== 'map' || !isObject(item)) return undefined;
    return canonical(Object.fromEntries(keys.map((k) => [k, item[k]])));
  };
  const seen = new Set<string>();
  const issues: AdmissionIssue[] = [];
  list.forEach((item, i) => {
    const key = keyOf(item);
    if (key === undefined) return;
    if (seen.has(key)) issues.push({ path: `${path}[${i}]`, message: `Duplicate value: ${key}` });
    seen.add(key);
  });
  return issues;
}

/** Repeated keys of `x-kubernetes-list-type: map` lists and repeated items of `set` lists. */
export function listTypeIssues(schema: SchemaNode, v: unknown, path: string): AdmissionIssue[] {
  if (Array.isArray(v)) {
    const items = schema.items;
    return [
      ...duplicates(schema, v, path),
      ...(items === undefined
        ? []
        : v.flatMap((x, i) => listTypeIssues(items, x, `${path}[${i}]`))),
    ];
  }
  const props = schema.properties;
  if (!isObject(v) || props === undefined) return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const s = Object.hasOwn(props, k) ? props[k] : undefined;
    return s === undefined ? [] : listTypeIssues(s, x, child(path, k));
  });
}

// ---------------------------------------------------------------------------------------------
// metadata

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** ObjectMeta's string fields; the rest are typed below. */
const META_STRINGS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'creationTimestamp',
  'deletionTimestamp',
];

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** The apiserver's limit on all annotations of an object together. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** Why `key` is not a qualified name (`[prefix/]name`), or undefined when it is one. */
export function qualifiedNameProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a qualified name has at most one /';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return 'the prefix of a qualified name must be a DNS subdomain (lower case, at most 253)';
  }
  if (name === undefined || name.length > 63 || !NAME_PART.test(name)) {
    return "the name part must be 1 to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

function stringMap(v: unknown, path: string, checkValue?: (s: string) => string | undefined) {
  if (!isObject(v)) return [{ path, message: `${path} must be a map of strings` }];
  const issues: AdmissionIssue[] = [];
  for (const [k, x] of Object.entries(v)) {
    const keyProblem = qualifiedNameProblem(k);
    if (keyProblem !== undefined)
      issues.push({ path, message: `key ${JSON.stringify(k)}: ${keyProblem}` });
    if (typeof x !== 'string') {
      issues.push({
        path: `${path}.${k}`,
        message: 'must be a string (quote numbers and booleans)',
      });
      continue;
    }
    const valueProblem = checkValue?.(x);
    if (valueProblem !== undefined) issues.push({ path: `${path}.${k}`, message: valueProblem });
  }
  return issues;
}

const labelValueProblem = (v: string) =>
  v === '' || (v.length <= 63 && NAME_PART.test(v))
    ? undefined
    : "a label value is empty or 1 to 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";

function annotationIssues(v: unknown): AdmissionIssue[] {
  const issues = stringMap(v, 'metadata.annotations');
  if (!isObject(v)) return issues;
  const bytes = Object.entries(v).reduce(
    (n, [k, x]) => n + Buffer.byteLength(k) + (typeof x === 'string' ? Buffer.byteLength(x) : 0),
    0,
  );
  if (bytes > MAX_ANNOTATIONS_BYTES) {
    issues.push({
      path: 'metadata.annotations',
      message: `the annotations total ${bytes} bytes; at most ${MAX_ANNOTATIONS_BYTES}`,
    });
  }
  return issues;
}

function metaFieldTypes(meta: Json): AdmissionIssue[] {
  const issues: AdmissionIssue[] = [];
  for (const f of META_STRINGS) {
    if (meta[f] !== undefined && typeof meta[f] !== 'string') {
      issues.push({ path: `metadata.${f}`, message: 'must be a string' });
    }
  }
  for (const f of ['generation', 'deletionGracePeriodSeconds']) {
    if (meta[f] !== undefined && !Number.isInteger(meta[f])) {
      issues.push({ path: `metadata.${f}`, message: 'must be an integer' });
    }
  }
  for (const f of ['ownerReferences', 'managedFields']) {
    if (meta[f] !== undefined && !Array.isArray(meta[f])) {
      issues.push({ path: `metadata.${f}`, message: 'must be a list' });
    }
  }
  return issues;
}

function finalizerIssues(v: unknown): AdmissionIssue[] {
  if (!Array.isArray(v))
    return [{ path: 'metadata.finalizers', message: 'must be a list of strings' }];
  return v.flatMap((f, i) => {
    const path = `metadata.finalizers[${i}]`;
    if (typeof f !== 'string') return [{ path, message: 'must be a string' }];
    const problem = qualifiedNameProblem(f);
    return problem === undefined ? [] : [{ path, message: problem }];
  });
}

/** ObjectMeta as the apiserver checks it (the name is checked with apiVersion and kind). */
export function metadataIssues(meta: unknown): AdmissionIssue[] {
  if (meta === undefined) return [];
  if (!isObject(meta)) return [{ path: 'metadata', message: 'metadata must be a mapping' }];
  const issues: AdmissionIssue[] = Object.keys(meta)
    .filter((k) => !OBJECT_META_FIELDS.has(k))
    .map((k) => ({ path: `metadata.${k}`, message: `unknown field "metadata.${k}"` }));
  issues.push(...metaFieldTypes(meta));
  const ns = meta['namespace'];
  if (typeof ns === 'string' && (ns.length > 63 || !DNS_LABEL.test(ns))) {
    issues.push({
      path: 'metadata.namespace',
      message: 'a namespace is a DNS label: lower-case letters, digits and -, at most 63',
    });
  }
  if (meta['labels'] !== undefined) {
    issues.push(...stringMap(meta['labels'], 'metadata.labels', labelValueProblem));
  }
  if (meta['annotations'] !== undefined) issues.push(...annotationIssues(meta['annotations']));
  if (meta['finalizers'] !== undefined) issues.push(...finalizerIssues(meta['finalizers']));
  return issues;
}

// ---------------------------------------------------------------------------------------------
// The whole object

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/**
 * Everything above for one object (nulls already pruned): unknown fields anywhere, metadata,
 * and list keys in the spec. The status is only checked for unknown fields: the apiserver
 * ignores it on create (status subresource) but decodes it strictly.
 */
export function admissionIssues(
  obj: Json,
  schemas: { spec: SchemaNode; status: SchemaNode },
): AdmissionIssue[] {
  return [
    ...Object.keys(obj)
      .filter((k) => !TOP_LEVEL.has(k))
      .map((k) => ({ path: k, message: `unknown field "${k}"` })),
    ...metadataIssues(obj['metadata']),
    ...unknownFields(schemas.spec, obj['spec'], 'spec'),
    ...listTypeIssues(schemas.spec, obj['spec'], 'spec'),
    ...unknownFields(schemas.status, obj['status'], 'status'),
  ];
}
