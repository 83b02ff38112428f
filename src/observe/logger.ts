import { pino, type Logger as PinoLogger } from 'pino';

/**
 * Credentials never reach a log: we never log them, and redaction catches a mistake (a Secret's
 * data, a connection object, an error carrying a request) at any depth, in arrays too.
 *
 * pino's own `redact` takes fixed paths (`a.b`, `*.b`), one wildcard level each, so it cannot
 * say "this key wherever it is". Instead the `log` formatter walks what is about to be written
 * and censors every property whose name marks a secret, and so does `child` with its bindings
 * (pino passes child bindings through no formatter). The walk is copy-on-write: a line holding
 * no such key is written as it came, without a copy.
 */
export const CENSOR = '[REDACTED]';

/** Property names (lower case, without `_`, `-` or `.`) whose value is always censored. */
const SECRET_NAMES = new Set([
  'accesskey',
  'secretkey',
  'sessiontoken',
  'password',
  'passwd',
  'clientsecret',
  'data',
  'stringdata',
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'credentials',
  'credential',
  'privatekey',
  'xamzsecuritytoken',
]);

/** Name endings that mark a secret too: `lookupBindPassword`, `rootSecretKey`, `bearerToken`. */
const SECRET_SUFFIXES = ['password', 'passwd', 'secret', 'secretkey', 'accesskey', 'token'];

/** Deeper than this, a value is replaced rather than walked (pino prints 5 levels anyway). */
const MAX_DEPTH = 32;
const MAX_CACHED_NAMES = 4096;
const nameCache = new Map<string, boolean>();

/** Whether a property of this name holds a secret, whatever its case and separators. */
export function isSecretName(name: string): boolean {
  const known = nameCache.get(name);
  if (known !== undefined) return known;
  const n = name.toLowerCase().replace(/[-_.\s]/g, '');
  const secret = SECRET_NAMES.has(n) || SECRET_SUFFIXES.some((s) => n.endsWith(s));
  if (nameCache.size >= MAX_CACHED_NAMES) nameCache.clear();
  nameCache.set(name, secret);
  return secret;
}

type Walk = (value: unknown, depth: number) => unknown;

/** A copy of `obj` with the given properties replaced, keeping its prototype (errors stay errors). */
function copyWith(obj: object, changes: Map<string, unknown>): object {
  const copy = Object.create(Object.getPrototypeOf(obj) as object | null) as Record<
    string,
    unknown
  >;
  if (obj instanceof Error) {
    copy['name'] = obj.name;
    copy['message'] = obj.message;
    copy['stack'] = obj.stack;
  }
  for (const key of Object.keys(obj)) {
    copy[key] = changes.has(key) ? changes.get(key) : (obj as Record<string, unknown>)[key];
  }
  if (changes.has('cause')) copy['cause'] = changes.get('cause');
  return copy;
}

function walkObject(obj: object, depth: number, walk: Walk): object {
  const source = obj as Record<string, unknown>;
  let changes: Map<string, unknown> | undefined;
  const keys = Object.keys(obj);
  // An error's cause is not enumerable, yet pino prints it.
  if (obj instanceof Error && obj.cause !== undefined && !keys.includes('cause'))
    keys.push('cause');
  for (const key of keys) {
    const value = source[key];
    const next = isSecretName(key) && value !== undefined ? CENSOR : walk(value, depth + 1);
    if (next !== value) (changes ??= new Map()).set(key, next);
  }
  return changes === undefined ? obj : copyWith(obj, changes);
}

/**
 * `value` with every secret-named property at any depth censored. Returns `value` itself when
 * nothing was censored; otherwise copies only the objects on the way to a censored property.
 */
export function redactDeep<T>(value: T): T {
  const ancestors = new Set<object>();
  const walk: Walk = (v, depth) => {
    if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v)) return v;
    // Not the object itself: a censored copy's cycle would lead back to the uncensored original.
    if (ancestors.has(v)) return '[Circular]';
    if (depth > MAX_DEPTH) return '[Truncated]';
    ancestors.add(v);
    try {
      if (!Array.isArray(v)) return walkObject(v, depth, walk);
      const items = v as unknown[];
      let out: unknown[] | undefined;
      items.forEach((item, i) => {
        const next = walk(item, depth + 1);
        if (next !== item) (out ??= [...items])[i] = next;
      });
      return out ?? items;
    } finally {
      ancestors.delete(v);
    }
  };
  return walk(value, 0) as T;
}

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

type ChildFn = (this: PinoLogger, bindings: object, options?: object) => PinoLogger;

/** The operator's JSON logger on stdout. */
export function newLogger(level: Level = 'info', destination?: NodeJS.WritableStream): PinoLogger {
  const logger = pino(
    {
      level,
      base: { component: 'sitesync-operator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactDeep(bindings),
        log: (object) => redactDeep(object),
      },
    },
    destination ?? process.stdout,
  );
  // A child is created from its parent's prototype chain, so every descendant inherits this.
  const child = Reflect.get(logger, 'child') as unknown as ChildFn; // unbound: `this` is each caller
  const redactingChild: ChildFn = function (this: PinoLogger, bindings, options) {
    return child.call(this, redactDeep(bindings), options);
  };
  Object.defineProperty(logger, 'child', { value: redactingChild, writable: true });
  return logger;
}
