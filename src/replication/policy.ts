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
