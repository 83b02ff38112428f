/**
 * The documents of a YAML file as `kubectl apply -f` reads them (Go's YAML 1.1 reader), and
 * safely. Plain scalars resolve as there: `yes`, `no`, `on`, `off`, `y`, `n` are booleans, and
 * integers may have `_` and `0b`, `0o`, `0` (octal) or `0x` prefixes, while `1:20` and dates
 * stay strings; a repeated key keeps its last value; merge keys (`<<`) are honoured. Aliases are resolved without a count limit, but a document whose resolved form
 * would exceed what the apiserver takes (3 MiB of JSON) or nest deeper than any resource of
 * these kinds is refused with a message, as is an alias that refers to itself. So a
 * BucketReplication whose 1001 rules alias one anchor is read (and then fails the rule count),
 * while a "billion laughs" document is refused after a walk linear in its size: aliases resolve
 * to shared values, measured once each.
 */
import {
  type DocumentOptions,
  type ParseOptions,
  type ScalarTag,
  type SchemaOptions,
  parseAllDocuments,
} from 'yaml';

/** The apiserver's limit on a request body, hence on one object in JSON. */
export const MAX_OBJECT_JSON_BYTES = 3 * 1024 * 1024;
/** Deeper than any resource of these kinds (their schemas nest about 10 levels). */
export const MAX_DEPTH = 64;

export interface DocumentIssue {
  path: string;
  message: string;
}

export type YamlDocument =
  | { index: number; ok: true; value: unknown }
  | { index: number; ok: false; issues: DocumentIssue[] };

class Refused extends Error {}

interface Measure {
  /** Bytes of the JSON form (an estimate from below: no escapes). */
  bytes: number;
  /** Levels of nested collections. */
  depth: number;
}

const SCALAR: Measure = { bytes: 0, depth: 0 };

/** Measures a value that may share sub-values (aliases), each shared value once. */
class Meter {
  private readonly done = new Map<object, Measure>();
  private readonly open = new Set<object>();

  measure(v: unknown, level: number): Measure {
    if (typeof v === 'string') return { bytes: v.length + 2, depth: 0 };
    if (typeof v !== 'object' || v === null) return { ...SCALAR, bytes: String(v).length };
    const known = this.done.get(v);
    if (known !== undefined) return known;
    if (this.open.has(v)) throw new Refused('an alias refers to a node that contains it');
    if (level >= MAX_DEPTH) {
      throw new Refused(`the document nests deeper than ${MAX_DEPTH} levels`);
    }
    this.open.add(v);
    const m: Measure = { bytes: 2, depth: 0 };
    const entries: [string | undefined, unknown][] = Array.isArray(v)
      ? v.map((x: unknown) => [undefined, x])
      : Object.entries(v);
    for (const [key, child] of entries) {
      const c = this.measure(child, level + 1);
      m.bytes += c.bytes + 1 + (key === undefined ? 0 : key.length + 3);
      m.depth = Math.max(m.depth, c.depth + 1);
    }
    this.open.delete(v);
    this.done.set(v, m);
    return m;
  }
}

function bounded(value: unknown): DocumentIssue[] {
  try {
    const { bytes } = new Meter().measure(value, 0);
    if (bytes <= MAX_OBJECT_JSON_BYTES) return [];
    const size =
      bytes > 1e12 ? 'far more than 3 MiB' : `about ${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    return [
      {
        path: '(document)',
        message: `with its aliases resolved the document would be ${size} of JSON; the apiserver takes at most 3 MiB per object`,
      },
    ];
  } catch (e: unknown) {
    if (e instanceof Refused) return [{ path: '(document)', message: e.message }];
    throw e;
  }
}

const bool = (value: boolean, test: RegExp): ScalarTag => ({
  tag: 'tag:yaml.org,2002:bool',
  default: true,
  test,
  resolve: () => value,
  identify: (v) => v === value,
});

/** An integer as Go's strconv.ParseInt(s, 0, 64) reads it once `_` are removed. */
function goInt(source: string): number {
  const s = source.replace(/_/g, '');
  const sign = s.startsWith('-') ? -1 : 1;
  const digits = s.replace(/^[-+]/, '');
  const prefixed = /^0([bBoOxX])(.+)$/.exec(digits);
  if (prefixed !== null) {
    const base = { b: 2, o: 8, x: 16 }[(prefixed[1] ?? '').toLowerCase() as 'b' | 'o' | 'x'];
    return sign * parseInt(prefixed[2] ?? '', base);
  }
  return sign * (/^0[0-7]+$/.test(digits) ? parseInt(digits, 8) : parseInt(digits, 10));
}

/** The scalars Go's YAML 1.1 reader (sigs.k8s.io/yaml, as kubectl uses it) resolves otherwise. */
const KUBECTL_SCALARS: ScalarTag[] = [
  bool(true, /^(?:y|Y|yes|Yes|YES|on|On|ON|true|True|TRUE)$/),
  bool(false, /^(?:n|N|no|No|NO|off|Off|OFF|false|False|FALSE)$/),
  {
    tag: 'tag:yaml.org,2002:int',
    default: true,
    test: /^[-+]?(?:0[bB]_*[01][01_]*|0[oO]_*[0-7][0-7_]*|0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*|0[0-7_]*|[1-9][0-9_]*)$/,
    resolve: goInt,
    identify: (v) => typeof v === 'number' && Number.isInteger(v),
  },
];

const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  merge: true,
  uniqueKeys: false,
  logLevel: 'silent',
  customTags: (tags) => [...KUBECTL_SCALARS, ...tags],
};

const firstLine = (s: string) => s.split('\n')[0] ?? s;

/** Every document of `text`: its value, or what is wrong with it (positions 1-based). */
export function readYamlDocuments(text: string): YamlDocument[] {
  const docs = parseAllDocuments(text, PARSE_OPTIONS);
  return docs.map((d, index): YamlDocument => {
    if (d.errors.length > 0) {
      const issues = d.errors.map((e) => {
        const pos = e.linePos?.[0];
        const path = pos === undefined ? '(yaml)' : `line ${pos.line}, column ${pos.col}`;
        return { path, message: firstLine(e.message) };
      });
      return { index, ok: false, issues };
    }
    let value: unknown;
    try {
      value = d.toJS({ maxAliasCount: -1 });
    } catch (e: unknown) {
      const message = e instanceof Error ? firstLine(e.message) : String(e);
      return { index, ok: false, issues: [{ path: '(yaml)', message }] };
    }
    const issues = bounded(value);
    return issues.length > 0 ? { index, ok: false, issues } : { index, ok: true, value };
  });
}
