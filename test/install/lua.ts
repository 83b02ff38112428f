/**
 * Runs docs/argocd-health.lua the way Argo CD does (the object bound to the global `obj`, the
 * script's returned table read as {status, message}) with Debian's `lua5.4`, which `make test`
 * installs (hack/system-deps.sh).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { requireCommand } from '../support/prerequisites.js';
import { REPO_ROOT } from '../support/stack.js';

export const ARGOCD_HEALTH_LUA = join(REPO_ROOT, 'docs', 'argocd-health.lua');

/** The lua5.4 binary, or an error saying how to install it. */
export function luaBinary(): string {
  return requireCommand('lua5.4', 'lua5.4');
}

/** A Lua string literal: printable ASCII as is, every other byte as a decimal escape. */
function luaString(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(byte);
    if (byte >= 0x20 && byte < 0x7f && ch !== '"' && ch !== '\\') out += ch;
    else out += `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** A JSON value as a Lua table constructor (null becomes nil, as Argo CD's conversion does). */
export function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return luaString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  if (typeof v === 'object') {
    const fields = Object.entries(v)
      .filter(([, x]) => x !== null && x !== undefined)
      .map(([k, x]) => `[${luaString(k)}] = ${toLua(x)}`);
    return `{${fields.join(', ')}}`;
  }
  throw new Error(`Cannot express ${typeof v} in Lua`);
}

/** The health Argo CD would report for `obj` with the shipped script. */
export function runArgoLua(lua: string, obj: unknown): { status: string; message: string } {
  const script = readFileSync(ARGOCD_HEALTH_LUA, 'utf8');
  const program = [
    `obj = ${toLua(obj)}`,
    'local function __health()',
    script,
    'end',
    'local hs = __health()',
    'print(hs.status)',
    'print(hs.message or "")',
  ].join('\n');
  const out = execFileSync(lua, ['-'], { input: program, encoding: 'utf8' });
  const [status = '', ...message] = out.replace(/\n$/, '').split('\n');
  return { status, message: message.join('\n') };
}
