/** The Helm chart and the kustomize base as the tests use them: rendered, parsed, indexed. */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parseAllDocuments, stringify } from 'yaml';

import { type CommandResult, stack } from '../support/kube.js';
import { REPO_ROOT, tool } from '../support/stack.js';

export const CHART = join(REPO_ROOT, 'charts', 'sitesync-operator');

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

/** Runs the stack's helm against the stack's apiserver; never throws on a non-zero exit. */
export function helm(args: string[]): Promise<CommandResult> {
  const env = { ...process.env, KUBECONFIG: stack().kubeconfig };
  return new Promise((resolve) => {
    execFile(tool('helm'), args, { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function mustHelm(args: string[]): Promise<string> {
  const r = await helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** A values file with `values`, for `-f`. */
export function valuesFile(values: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'sitesync-values-'));
  const file = join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  return file;
}

export function parseDocs(text: string): KubeDoc[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeDoc | null)
    .filter((d): d is KubeDoc => d !== null && typeof d === 'object' && 'kind' in d);
}

/** `helm template` of the chart: its text and its objects. */
export async function renderChart(opts: {
  release: string;
  namespace: string;
  values?: object;
  extra?: string[];
}): Promise<{ text: string; docs: KubeDoc[] }> {
  const args = ['template', opts.release, CHART, '--namespace', opts.namespace];
  if (opts.values) args.push('-f', valuesFile(opts.values));
  const text = await mustHelm([...args, ...(opts.extra ?? [])]);
  return { text, docs: parseDocs(text) };
}

export function findDoc(docs: readonly KubeDoc[], kind: string, name?: string): KubeDoc {
  const d = docs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!d) throw new Error(`No ${kind}${name ? ` ${name}` : ''} among ${docs.map(ref).join(', ')}`);
  return d;
}

export function ref(d: KubeDoc): string {
  return `${d.kind}/${d.metadata.namespace ? `${d.metadata.namespace}/` : ''}${d.metadata.name}`;
}

export function toYamlStream(docs: readonly object[]): string {
  return docs.map((d) => `---\n${stringify(d)}`).join('');
}
