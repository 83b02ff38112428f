/** Small statistics for repeated measurements: median and spread, nearest-rank percentiles. */

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** Half the distance between min and max, relative to the median (0.1 = ±10 %). */
  spread: number;
  values: number[];
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  const s = sorted(xs);
  if (s.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[Math.min(rank, s.length) - 1] ?? Number.NaN;
}

export function summarize(xs: readonly number[]): Summary {
  const s = sorted(xs);
  const m = median(s);
  const min = s[0] ?? Number.NaN;
  const max = s[s.length - 1] ?? Number.NaN;
  return {
    n: s.length,
    median: round(m),
    min: round(min),
    max: round(max),
    spread: m > 0 ? round((max - min) / 2 / m) : 0,
    values: s.map(round),
  };
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** "12.3 s (11.9–13.0, n=3)" */
export function fmtSummary(s: Summary | undefined, unit = 's', digits = 1): string {
  if (!s || s.n === 0) return '–';
  const f = (x: number) => x.toFixed(digits);
  if (s.n === 1) return `${f(s.median)} ${unit} (n=1)`;
  return `${f(s.median)} ${unit} (${f(s.min)}–${f(s.max)}, n=${s.n})`;
}
