/**
 * Where a secret must never appear, and a scan for it: every status of the three kinds, every
 * Event, every ConfigMap (gzipped `binaryData` decompressed: the agreed state is gzipped JSON,
 * so a plain text search would miss what it holds), the operator's logs and its metrics.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { mustKubectl } from './kube.js';
import { OPERATOR_RECORD } from './operator.js';
import { STACK_DIR } from './stack.js';

export interface Text {
  /** Where the text comes from, for the failure message. */
  where: string;
  text: string;
}

interface Listed {
  items: {
    metadata: { namespace?: string; name: string };
    data?: Record<string, string>;
    binaryData?: Record<string, string>;
    status?: unknown;
  }[];
}

/** A `binaryData` value as text: gunzipped when it is gzip, else its bytes as UTF-8. */
function binaryText(b64: string): string {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipSync(bytes).toString('utf8');
  return bytes.toString('utf8');
}

/** Every ConfigMap of `namespace` (or all), data and decompressed binaryData. */
export async function configMapTexts(namespace?: string): Promise<Text[]> {
  const scope = namespace === undefined ? ['-A'] : ['-n', namespace];
  const list = JSON.parse(
    await mustKubectl(['get', 'configmaps', ...scope, '-o', 'json']),
  ) as Listed;
  return list.items.flatMap((cm) => {
    const where = `ConfigMap ${cm.metadata.namespace ?? ''}/${cm.metadata.name}`;
    return [
      ...Object.entries(cm.data ?? {}).map(([k, v]) => ({ where: `${where} ${k}`, text: v })),
      ...Object.entries(cm.binaryData ?? {}).map(([k, v]) => ({
        where: `${where} ${k}`,
        text: binaryText(v),
      })),
    ];
  });
}

/** Every Event, and the status of every SiteReplicationGroup, BucketReplication, IdentityProvider. */
export async function clusterTexts(namespace?: string): Promise<Text[]> {
  const scope = namespace === undefined ? ['-A'] : ['-n', namespace];
  const kinds = ['events', 'sitereplicationgroups', 'bucketreplications', 'identityproviders'];
  const texts: Text[] = [];
  for (const kind of kinds) {
    const list = JSON.parse(await mustKubectl(['get', kind, ...scope, '-o', 'json'])) as Listed;
    for (const item of list.items) {
      const where = `${kind} ${item.metadata.namespace ?? ''}/${item.metadata.name}`;
      // An Event's message is what matters; of a resource, its status.
      const body = kind === 'events' ? item : item.status;
      texts.push({ where, text: JSON.stringify(body ?? null) });
    }
  }
  return [...texts, ...(await configMapTexts(namespace))];
}

/** Each secret found, with where: `[]` when none of them appears in any text. */
export function findSecrets(texts: readonly Text[], secrets: Iterable<string>): string[] {
  const hits: string[] = [];
  for (const secret of new Set(secrets)) {
    if (secret.length < 8) throw new Error(`too short to scan for: ${JSON.stringify(secret)}`);
    for (const t of texts) {
      // Never print the secret itself: its length and where it was found say enough.
      if (t.text.includes(secret)) hits.push(`${secret.slice(0, 4)}… in ${t.where}`);
    }
  }
  return hits;
}

/** Where tests record the secrets they create outside Kubernetes (users on the sites). */
const RECORDED = join(STACK_DIR, 'test-secrets.jsonl');

/** Records secrets a test created (a user's secret key on a site) for the post-suite scan. */
export function recordSecrets(values: Iterable<string>): void {
  const lines = [...values].map((v) => `${JSON.stringify(v)}\n`).join('');
  if (lines !== '') appendFileSync(RECORDED, lines);
}

function recorded(): string[] {
  if (!existsSync(RECORDED)) return [];
  return readFileSync(RECORDED, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as string);
}

/** The root password of every MinIO the stack or a test started (from its command record). */
function minioRootSecrets(): string[] {
  return readdirSync(STACK_DIR)
    .filter((f) => f.startsWith('minio-') && f.endsWith('.cmd.json'))
    .flatMap((f) => {
      const spec = JSON.parse(readFileSync(join(STACK_DIR, f), 'utf8')) as {
        env?: Record<string, string>;
      };
      return spec.env?.['MINIO_ROOT_PASSWORD'] ?? [];
    });
}

interface SecretList {
  items: { metadata: { labels?: Record<string, string> }; data?: Record<string, string> }[];
}

/**
 * Every secret value in the cluster's Secrets: all entries of those the operator made (its
 * replication accounts, digest keys), and of the others the entries named like a secret.
 */
async function kubeSecrets(): Promise<string[]> {
  const list = JSON.parse(await mustKubectl(['get', 'secrets', '-A', '-o', 'json'])) as SecretList;
  return list.items.flatMap((s) => {
    const ours = s.metadata.labels?.['app.kubernetes.io/managed-by'] === 'sitesync';
    return Object.entries(s.data ?? {})
      .filter(([k]) => ours || /secret|password|token/i.test(k))
      .map(([, v]) => Buffer.from(v, 'base64').toString('utf8'));
  });
}

/**
 * The log and the last metrics text of every operator process the tests ran (OperatorProcess
 * records its files when it starts, saves the metrics on every read and before it stops).
 */
function operatorTexts(): Text[] {
  const files = new Set(
    readdirSync(STACK_DIR)
      .filter((f) => f.startsWith('operator-') && f.endsWith('.log'))
      .map((f) => join(STACK_DIR, f)),
  );
  if (existsSync(OPERATOR_RECORD)) {
    for (const line of readFileSync(OPERATOR_RECORD, 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { log: string; metrics: string };
      files.add(r.log).add(r.metrics);
    }
  }
  return [...files]
    .filter((f) => existsSync(f))
    .map((f) => ({
      where: `${f.endsWith('.log') ? 'log' : 'metrics'} ${basename(f)}`,
      text: readFileSync(f, 'utf8'),
    }));
}

/**
 * The post-suite scan: every secret the tests created or the operator generated, searched in
 * every status, Event and ConfigMap (decompressed) of the cluster, every operator log and the
 * last metrics output of every operator process.
 * Returns the hits (never the secrets themselves) and what was scanned.
 */
export async function scanAfterSuite(): Promise<{
  hits: string[];
  secrets: number;
  texts: number;
}> {
  const secrets = [...new Set([...recorded(), ...minioRootSecrets(), ...(await kubeSecrets())])]
    // Shorter values (a test's "a"/"b") are not secrets and would match anywhere.
    .filter((v) => v.length >= 12 && !v.includes('-----BEGIN'));
  const texts = [...(await clusterTexts()), ...operatorTexts()];
  return { hits: findSecrets(texts, secrets), secrets: secrets.length, texts: texts.length };
}
