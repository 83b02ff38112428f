/**
 * Merkle roots of a replicated state (`key -> digest`): sites in sync report the same root, and
 * equal maps give equal roots whatever order their entries come in.
 *
 * SHA-256 throughout. Leaves are H(0x00 ‖ key ‖ 0x00 ‖ digest) (UTF-8), taken over the keys
 * sorted by Unicode code point; an internal node is H(0x01 ‖ left ‖ right) over the children's
 * raw 32-byte hashes; the last node of an odd level is promoted unchanged; the empty tree is
 * H(''). The 0x00 / 0x01 prefixes keep a leaf from ever passing for a node (RFC 6962).
 */
import { createHash } from 'node:crypto';

const _LEAF = Buffer.from([0x00]);
const _NODE = Buffer.from([0x01]);
const _SEPARATOR = Buffer.from([0x00]);
/** In `u` mode a surrogate pair is one code point, so this matches lone surrogates only. */
const _LONE_SURROGATE = /\p{Cs}/u;

function _hash(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function _utf8(value: string, what: string): Buffer {
  if (_LONE_SURROGATE.test(value))
    throw new TypeError(`merkleRoot: ${what} is not well-formed UTF-16`);
  return Buffer.from(value, 'utf8');
}

/** Leaves in key order. UTF-8 byte order is code-point order (UTF-16 unit order is not). */
function _leaves(entries: Iterable<readonly [string, string]>): Buffer[] {
  const rows: { key: Buffer; digest: Buffer }[] = [];
  for (const [key, digest] of entries) {
    if (key.includes('\0')) throw new TypeError('merkleRoot: a key contains NUL');
    rows.push({ key: _utf8(key, `key ${JSON.stringify(key)}`), digest: _utf8(digest, 'a digest') });
  }
  rows.sort((a, b) => Buffer.compare(a.key, b.key));
  return rows.map((row, i) => {
    const previous = rows[i - 1];
    if (previous?.key.equals(row.key)) {
      throw new TypeError(`merkleRoot: duplicate key ${JSON.stringify(row.key.toString('utf8'))}`);
    }
    return _hash(_LEAF, row.key, _SEPARATOR, row.digest);
  });
}

function _parentLevel(level: readonly Buffer[]): Buffer[] {
  const parents: Buffer[] = [];
  let left: Buffer | undefined;
  for (const node of level) {
    if (left === undefined) {
      left = node;
    } else {
      parents.push(_hash(_NODE, left, node));
      left = undefined;
    }
  }
  if (left !== undefined) parents.push(left);
  return parents;
}

function _root(entries: Iterable<readonly [string, string]>): string {
  let level = _leaves(entries);
  while (level.length > 1) level = _parentLevel(level);
  return (level[0] ?? _hash()).toString('hex');
}

/**
 * Roots computed lately, by their entries as given (`key NUL digest NUL …`, in the order given):
 * a steady group hands the same entries pass after pass (every site, the agreed state), and
 * one string beats a hash per entry. Bounded in count and in size; entries holding a NUL are
 * not remembered (their text would be ambiguous; such a key is refused by _leaves).
 */
const _RECENT = new Map<string, string>();
const _RECENT_MAX = 64;
const _RECENT_MAX_CHARS = 4 * 1024 * 1024;

/** The Merkle root, in hex, of `key -> digest` entries. Keys must be unique and hold no NUL. */
export function merkleRoot(entries: Iterable<readonly [string, string]>): string {
  const list = [...entries];
  const parts: string[] = [];
  let chars = 0;
  for (const [key, digest] of list) {
    if (key.includes('\0') || digest.includes('\0')) return _root(list);
    parts.push(key, digest);
    chars += key.length + digest.length + 2;
    if (chars > _RECENT_MAX_CHARS) return _root(list);
  }
  const text = parts.join('\0');
  const known = _RECENT.get(text);
  if (known !== undefined) {
    _RECENT.delete(text);
    _RECENT.set(text, known);
    return known;
  }
  const root = _root(list);
  _RECENT.set(text, root);
  if (_RECENT.size > _RECENT_MAX) {
    const oldest = _RECENT.keys().next().value;
    if (oldest !== undefined) _RECENT.delete(oldest);
  }
  return root;
}

/**
 * One root per prefix (e.g. `bucket:`, `policy:`, `user:`), each over the entries whose key
 * starts with it; a prefix nothing matches gets the empty root. Prefixes may overlap.
 */
export function merkleRootsByPrefix(
  entries: Iterable<readonly [string, string]>,
  prefixes: readonly string[],
): Record<string, string> {
  const all = [...entries];
  return Object.fromEntries(
    prefixes.map((prefix) => [prefix, merkleRoot(all.filter(([key]) => key.startsWith(prefix)))]),
  );
}

// ---------------------------------------------------------------------------------------------
// Streamed trees: the same tree, built from leaves as they come, in O(log n) memory

/** A leaf's hash from its parts, each length-prefixed, so no part can run into the next. */
export function leafHash(...parts: readonly (string | Buffer)[]): Buffer {
  const h = createHash('sha256');
  h.update(_LEAF);
  for (const p of parts) {
    const bytes = typeof p === 'string' ? _utf8(p, 'a leaf part') : p;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    h.update(len);
    h.update(bytes);
  }
  return h.digest();
}

/** A MerkleStream's state, as JSON: the leaf count and the roots of its complete subtrees. */
export interface MerkleState {
  n: number;
  stack: string[];
}

/**
 * The tree `merkleRoot` builds (pairs level by level, the odd last node promoted), fed one leaf
 * at a time. It keeps the roots of its complete subtrees, largest first: one per set bit of the
 * leaf count, so at most 53 hashes whatever the number of leaves. Its state is JSON, so a
 * listing of millions of versions can stop and resume (a checkpoint) without rereading.
 */
export class MerkleStream {
  private n: number;
  private readonly stack: Buffer[];

  constructor(state?: MerkleState) {
    this.n = state?.n ?? 0;
    this.stack = (state?.stack ?? []).map((h) => Buffer.from(h, 'hex'));
    let bits = 0;
    for (let k = this.n; k > 0; k = Math.floor(k / 2)) bits += k % 2;
    if (bits !== this.stack.length || this.stack.some((h) => h.length !== 32)) {
      throw new TypeError('MerkleStream: the state does not match its leaf count');
    }
  }

  get count(): number {
    return this.n;
  }

  /** Adds the next leaf (its 32-byte hash, e.g. from `leafHash`). */
  add(leaf: Buffer): void {
    let node = leaf;
    // Merge complete subtrees of equal size: one merge per trailing 1 bit of the count.
    for (let k = this.n; k % 2 === 1; k = Math.floor(k / 2)) {
      const left = this.stack.pop();
      if (left === undefined) throw new Error('MerkleStream: corrupt stack');
      node = _hash(_NODE, left, node);
    }
    this.stack.push(node);
    this.n += 1;
  }

  /** The root of the leaves so far, in hex (the empty tree: H('')). */
  root(): string {
    let acc: Buffer | undefined;
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const node = this.stack[i];
      if (node !== undefined) acc = acc === undefined ? node : _hash(_NODE, node, acc);
    }
    return (acc ?? _hash()).toString('hex');
  }

  state(): MerkleState {
    return { n: this.n, stack: this.stack.map((h) => h.toString('hex')) };
  }
}

/** The leaf hash `merkleRoot` gives a `key -> digest` entry (for streaming the same tree). */
export function entryLeaf(key: string, digest: string): Buffer {
  if (key.includes('\0')) throw new TypeError('merkleRoot: a key contains NUL');
  return _hash(_LEAF, _utf8(key, 'a key'), _SEPARATOR, _utf8(digest, 'a digest'));
}
