/**
 * The text format of MinIO's `get-config-kv` / `set-config-kv` (minio-admin-api.md §3.9), parsed
 * with the semantics of madmin's `ParseServerConfigOutput`:
 *
 *   # MINIO_IDENTITY_OPENID_CLIENT_ID=abc          <- env override of the next config line
 *   identity_openid config_url="https://x" client_id=abc scopes="openid,email"
 *   identity_openid:okta config_url=...            <- named target `okta`; `_` is the default
 *
 * Values with whitespace are double-quoted; there is no escape for `"` inside a value. Other
 * comment lines are ignored.
 */

export const DEFAULT_TARGET = '_';

export interface ConfigEnvOverride {
  /** Environment variable, e.g. `MINIO_IDENTITY_OPENID_CLIENT_ID`. */
  readonly name: string;
  readonly value: string;
}

export interface SubsysConfig {
  /** e.g. `identity_openid`. */
  readonly subsystem: string;
  /** `_` for the default target. */
  readonly target: string;
  /** Keys as written in the config line, in order (a repeated key keeps its last value). */
  readonly values: Readonly<Record<string, string>>;
  /** Keys overridden by environment variables on the server, with the variable. */
  readonly env: Readonly<Record<string, ConfigEnvOverride>>;
}

export class ConfigKVSyntaxError extends Error {
  override readonly name = 'ConfigKVSyntaxError';
}

const ENV_LINE_PREFIX = '# MINIO_';

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + sep.length)];
}

function subsystemAndTarget(head: string): { subsystem: string; target: string } {
  const [subsystem, target] = splitOnce(head, ':');
  return { subsystem, target: target === undefined || target === '' ? DEFAULT_TARGET : target };
}

/** Parses `k1=v1 k2="v 2"` into ordered pairs. */
export function parseKeyValues(text: string): [string, string][] {
  const out: [string, string][] = [];
  let rest = text.trim();
  while (rest.length > 0) {
    const [rawKey, afterKey] = splitOnce(rest, '=');
    const key = rawKey.trim();
    if (key === '' || afterKey === undefined) {
      throw new ConfigKVSyntaxError('expected a config value in the form key=value');
    }
    if (afterKey.startsWith('"')) {
      const [value, afterValue] = splitOnce(afterKey.slice(1), '"');
      if (afterValue === undefined) throw new ConfigKVSyntaxError(`unterminated quote for ${key}`);
      out.push([key, value]);
      rest = afterValue.trim();
    } else {
      const [value, afterValue] = splitOnce(afterKey, ' ');
      out.push([key, value]);
      rest = (afterValue ?? '').trim();
    }
  }
  return out;
}

function parseEnvLine(
  line: string,
  subsystem: string,
  target: string,
): [string, ConfigEnvOverride] {
  const [name, value] = splitOnce(line.slice(2), '=');
  const prefix = `MINIO_${subsystem.toUpperCase()}_`;
  if (value === undefined || !name.startsWith(prefix)) {
    throw new ConfigKVSyntaxError(`unexpected environment line for ${subsystem}`);
  }
  let key = name.slice(prefix.length);
  const suffix = `_${target.toUpperCase()}`;
  if (target !== DEFAULT_TARGET && key.endsWith(suffix)) key = key.slice(0, -suffix.length);
  return [key.toLowerCase(), { name, value }];
}

function parseConfigLine(line: string, envLines: readonly string[]): SubsysConfig {
  const [head, kvText] = splitOnce(line, ' ');
  const { subsystem, target } = subsystemAndTarget(head);
  const values: Record<string, string> = {};
  for (const [k, v] of parseKeyValues(kvText ?? '')) values[k] = v;
  const env: Record<string, ConfigEnvOverride> = {};
  for (const e of envLines) {
    const [key, override] = parseEnvLine(e, subsystem, target);
    env[key] = override;
  }
  return { subsystem, target, values, env };
}

/** Parses the (decrypted) output of `get-config-kv`, one entry per subsystem target. */
export function parseConfigKV(text: string): SubsysConfig[] {
  const out: SubsysConfig[] = [];
  let envLines: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith(ENV_LINE_PREFIX)) {
      envLines.push(line);
    } else if (!line.startsWith('#')) {
      out.push(parseConfigLine(line, envLines));
      envLines = [];
    }
  }
  return out;
}

function quoteValue(value: string): string {
  if (value.includes('"'))
    throw new ConfigKVSyntaxError('a config value cannot contain a double quote');
  return value === '' || /\s/.test(value) ? `"${value}"` : value;
}

/**
 * Formats one `set-config-kv` line: `subsys[:target] k1=v1 k2="v 2"`. Keys are sorted so that
 * equal configurations give equal text.
 */
export function formatConfigLine(
  subsystem: string,
  target: string,
  values: Readonly<Record<string, string>>,
): string {
  const head = target === DEFAULT_TARGET || target === '' ? subsystem : `${subsystem}:${target}`;
  const pairs = Object.keys(values)
    .sort()
    .map((k) => `${k}=${quoteValue(values[k] ?? '')}`);
  return [head, ...pairs].join(' ');
}
