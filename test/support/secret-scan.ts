/**
 * Where a secret must never appear, and a scan for it: every status of the three kinds, every
 * Event, every ConfigMap (gzipped `binaryData` decompressed: the agreed state is gzipped JSON,
 * so a plain text search would miss what it holds), the operator's logs and its metrics.
 */
import { gunzipSync } from 'node:zlib';

import { mustKubectl } from './kube.js';

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
