/** The operator's metric names, and Prometheus text as the tests read it. */
import { Metrics } from '../../src/observe/metrics.js';

/** Every metric name the operator registers, with a histogram's series names. */
export function exportedMetricNames(): Set<string> {
  const names = new Set<string>();
  for (const m of new Metrics().registry.getMetricsAsArray()) {
    names.add(m.name);
    if (String(m.type) === 'histogram')
      for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

/** The sitesync metric names a PromQL expression uses. */
export const metricNamesIn = (expr: string) => expr.match(/\bsitesync_[a-z0-9_]+\b/g) ?? [];

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format: `name{a="b"} value` lines as samples (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(l);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m?.[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
        if (k !== undefined) labels[k] = v ?? '';
      return { name: m?.[1] ?? '', labels, value: Number(m?.[3]) };
    });
}
