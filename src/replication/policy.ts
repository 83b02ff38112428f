/**
 * Canonical form of an IAM or bucket policy document, for comparison: servers store statement
 * element lists as sets (MinIO reorders `Action`), and a single string means a one-item list.
 * Two documents that grant the same thing written differently this way compare equal.
 */
const SET_KEYS = new Set(['Action', 'NotAction', 'Resource', 'NotResource']);

type Json = Record<string, unknown>;

function asSortedList(v: unknown): unknown {
  const list = Array.isArray(v) ? v : [v];
  return [...new Set(list.map(String))].sort();
}

function canonicalPrincipal(p: unknown): unknown {
  if (p === '*' || typeof p !== 'object' || p === null) return p;
  return Object.fromEntries(Object.entries(p as Json).map(([k, v]) => [k, asSortedList(v)]));
}

function canonicalCondition(c: unknown): unknown {
  if (typeof c !== 'object' || c === null) return c;
  return Object.fromEntries(
    Object.entries(c as Json).map(([op, kv]) => [
      op,
      typeof kv === 'object' && kv !== null
        ? Object.fromEntries(Object.entries(kv as Json).map(([k, v]) => [k, asSortedList(v)]))
        : kv,
    ]),
  );
}

function canonicalStatement(s: unknown): unknown {
  if (typeof s !== 'object' || s === null) return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s as Json)) {
    if (SET_KEYS.has(k)) out[k] = asSortedList(v);
    else if (k === 'Principal' || k === 'NotPrincipal') out[k] = canonicalPrincipal(v);
    else if (k === 'Condition') out[k] = canonicalCondition(v);
    else if (k === 'Sid' && v === '') continue;
    else out[k] = v;
  }
  return out;
}

export function canonicalPolicy(doc: unknown): unknown {
  if (typeof doc === 'string') {
    try {
      return canonicalPolicy(JSON.parse(doc));
    } catch {
      return doc;
    }
  }
  if (typeof doc !== 'object' || doc === null) return doc;
  const d = doc as Json;
  const statements = Array.isArray(d['Statement']) ? d['Statement'] : [d['Statement']];
  return { ...d, Statement: statements.map(canonicalStatement) };
}

/**
 * Condition-key prefixes only MinIO evaluates: claims of an OpenID token (`jwt:`) and LDAP
 * attributes (`ldap:`). AWS-style IAM would store such a statement and never match it.
 */
const MINIO_ONLY_CONDITION_PREFIXES = ['jwt:', 'ldap:'];
/** Action prefixes only MinIO knows: its administration API (`admin:`). */
const MINIO_ONLY_ACTION_PREFIXES = ['admin:'];

const statementsOf = (doc: unknown): Json[] => {
  const st = (doc as Json | null)?.['Statement'];
  const list = Array.isArray(st) ? st : st === undefined ? [] : [st];
  return list.filter((s): s is Json => typeof s === 'object' && s !== null);
};

const strings = (v: unknown): string[] =>
  (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);

/**
 * What in an IAM policy only MinIO understands (condition keys, actions), named; empty when
 * the document means the same on AWS-style IAM. Sorted, without repeats.
 */
export function minioOnlyParts(doc: unknown): string[] {
  const found = new Set<string>();
  for (const s of statementsOf(doc)) {
    for (const a of [...strings(s['Action']), ...strings(s['NotAction'])]) {
      if (MINIO_ONLY_ACTION_PREFIXES.some((p) => a.toLowerCase().startsWith(p))) {
        found.add(`action ${a}`);
      }
    }
    const cond = s['Condition'];
    if (typeof cond !== 'object' || cond === null) continue;
    for (const kv of Object.values(cond as Json)) {
      if (typeof kv !== 'object' || kv === null) continue;
      for (const key of Object.keys(kv)) {
        if (MINIO_ONLY_CONDITION_PREFIXES.some((p) => key.toLowerCase().startsWith(p))) {
          found.add(`condition key ${key}`);
        }
      }
    }
  }
  return [...found].sort();
}
