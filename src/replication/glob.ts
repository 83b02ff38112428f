/**
 * Bucket-name globs, matched without a regular expression.
 *
 * The semantics are those of the anchored regular expression the operator used before (`*` is
 * `.*`, `?` is `.`, every other character literal, no escapes): `*` matches any run of UTF-16
 * code units and `?` exactly one, except that neither matches a line terminator (`\n`, `\r`,
 * U+2028, U+2029), which only a literal one in the pattern matches. Bucket names never hold
 * one; the rule is kept so that the two implementations agree on every input.
 *
 * The regular expression backtracked over every star: 12 stars against a 63-character name
 * took 152 s. Here a failed match only ever returns to the last star, which then takes one more
 * character: the name position of that star only moves forward, so the work is at most
 * O(|pattern| + |name| × longest run between stars), about 4,000 steps for a 63-character name.
 */

const STAR = 42; // '*'
const QUESTION = 63; // '?'

const isLineTerminator = (c: number): boolean =>
  c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

/** The classic two-pointer wildcard match, on a piece holding no line terminator. */
function matchPiece(p: string, s: string): boolean {
  let pi = 0;
  let si = 0;
  let star = -1; // pattern index just after the last star seen
  let starSi = 0; // name index that star's match ends at
  while (si < s.length) {
    const pc = pi < p.length ? p.charCodeAt(pi) : -1;
    if (pc === STAR) {
      pi++;
      star = pi;
      starSi = si;
    } else if (pc === QUESTION || pc === s.charCodeAt(si)) {
      pi++;
      si++;
    } else if (star >= 0) {
      // The last star takes one more character; what it took before stays taken.
      starSi++;
      si = starSi;
      pi = star;
    } else {
      return false;
    }
  }
  while (pi < p.length && p.charCodeAt(pi) === STAR) pi++;
  return pi === p.length;
}

/** Splits at line terminators: the pieces between them, and the terminators themselves. */
function splitLines(text: string): { pieces: string[]; breaks: string } {
  const pieces: string[] = [];
  let breaks = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (isLineTerminator(text.charCodeAt(i))) {
      pieces.push(text.slice(start, i));
      breaks += text.charAt(i);
      start = i + 1;
    }
  }
  pieces.push(text.slice(start));
  return { pieces, breaks };
}

/** Whether `name` matches the glob `pattern` as a whole (`*` any run, `?` one character). */
export function globMatch(pattern: string, name: string): boolean {
  // Wildcards never match a line terminator, so each one in the name pairs with a literal one
  // in the pattern, in order: the pieces between them match one to one.
  const p = splitLines(pattern);
  const s = splitLines(name);
  if (p.breaks !== s.breaks) return false;
  return p.pieces.every((piece, i) => matchPiece(piece, s.pieces[i] ?? ''));
}
