/**
 * The two ConfigMap calls `sitesync copy` makes, without @kubernetes/client-node (whose import
 * alone costs a copy Job ~50 MiB of resident memory). Credentials come from the in-cluster
 * service account (a Job's pod) or from KUBECONFIG's current context with a client certificate
 * or a bearer token; a kubeconfig that needs an exec or auth-provider plugin is refused with a
 * message saying so.
 */
import { readFileSync } from 'node:fs';

import { Agent, fetch } from 'undici';
import { parse } from 'yaml';

import type { ConfigMap, ConfigMapApi } from '../transfer/configmap-checkpoint-store.js';

/** The operator's field manager (runtime/status.ts), so both write the checkpoint as one owner. */
const FIELD_MANAGER = 'sitesync-operator';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TIMEOUT_MS = 30_000;

export interface KubeTarget {
  server: string;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  token?: string | undefined;
  insecureSkipVerify?: boolean | undefined;
}

export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

type Named<T> = { name?: string } & T;
interface KubeConfigDoc {
  'current-context'?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{
    cluster?: {
      server?: string;
      'certificate-authority-data'?: string;
      'certificate-authority'?: string;
      'insecure-skip-tls-verify'?: boolean;
    };
  }>[];
  users?: Named<{
    user?: {
      'client-certificate-data'?: string;
      'client-key-data'?: string;
      'client-certificate'?: string;
      'client-key'?: string;
      token?: string;
      tokenFile?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }>[];
}

const b64 = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
const file = (read: (p: string) => string, p: string | undefined) =>
  p === undefined ? undefined : read(p);

type ClusterEntry = NonNullable<NonNullable<KubeConfigDoc['clusters']>[number]['cluster']>;
type UserEntry = NonNullable<NonNullable<KubeConfigDoc['users']>[number]['user']>;

function clusterPart(cluster: ClusterEntry, read: (p: string) => string) {
  return {
    ca: b64(cluster['certificate-authority-data']) ?? file(read, cluster['certificate-authority']),
    insecureSkipVerify: cluster['insecure-skip-tls-verify'],
  };
}

function userPart(user: UserEntry, read: (p: string) => string) {
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw new KubeConfigError(
      'the kubeconfig user needs an exec or auth-provider plugin, which sitesync copy does not run: use a client certificate, a token, or the in-cluster service account',
    );
  }
  return {
    cert: b64(user['client-certificate-data']) ?? file(read, user['client-certificate']),
    key: b64(user['client-key-data']) ?? file(read, user['client-key']),
    token: user.token ?? file(read, user.tokenFile)?.trim(),
  };
}

function currentContext(doc: KubeConfigDoc) {
  const name = doc['current-context'];
  const ctx = (doc.contexts ?? []).find((c) => c.name === name)?.context;
  if (ctx === undefined) throw new KubeConfigError('the kubeconfig has no current context');
  return {
    cluster: (doc.clusters ?? []).find((c) => c.name === ctx.cluster)?.cluster,
    user: (doc.users ?? []).find((u) => u.name === ctx.user)?.user,
  };
}

/** The apiserver and credentials of a kubeconfig's current context. */
export function targetFromKubeconfig(text: string, read: (p: string) => string): KubeTarget {
  const doc = (parse(text) ?? {}) as KubeConfigDoc;
  const { cluster, user } = currentContext(doc);
  if (cluster?.server === undefined) {
    throw new KubeConfigError("the kubeconfig's current cluster has no server");
  }
  return { server: cluster.server, ...clusterPart(cluster, read), ...userPart(user ?? {}, read) };
}

/** In a pod: the service account's token and CA, the apiserver from the service env. */
export function inClusterTarget(
  env: Readonly<Record<string, string | undefined>>,
  read: (p: string) => string,
): KubeTarget | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === undefined || host === '') return undefined;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: read(`${SA_DIR}/ca.crt`),
    token: read(`${SA_DIR}/token`).trim(),
  };
}

/** KUBECONFIG (its first file) when set, else the in-cluster service account, else ~/.kube/config. */
export function kubeTarget(
  env: Readonly<Record<string, string | undefined>>,
  read: (p: string) => string = (p) => readFileSync(p, 'utf8'),
): KubeTarget {
  const path = env['KUBECONFIG']?.split(':')[0];
  if (path !== undefined && path !== '') return targetFromKubeconfig(read(path), read);
  const inCluster = inClusterTarget(env, read);
  if (inCluster) return inCluster;
  const home = env['HOME'];
  if (home === undefined) throw new KubeConfigError('no KUBECONFIG, no in-cluster service account');
  return targetFromKubeconfig(read(`${home}/.kube/config`), read);
}

export class KubeRequestError extends Error {
  override readonly name = 'KubeRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An HTTP agent that trusts and presents what `target` says (CA, client certificate). */
export function targetAgent(target: KubeTarget): Agent {
  return new Agent({
    connect: {
      ...(target.ca === undefined ? {} : { ca: target.ca }),
      ...(target.cert === undefined ? {} : { cert: target.cert }),
      ...(target.key === undefined ? {} : { key: target.key }),
      rejectUnauthorized: target.insecureSkipVerify !== true,
    },
  });
}

/** ConfigMap get and server-side apply against `target`. */
export function lightConfigMapApi(target: KubeTarget): ConfigMapApi & { close(): Promise<void> } {
  const agent = targetAgent(target);
  const headers = (extra: Record<string, string>) => ({
    accept: 'application/json',
    ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
    ...extra,
  });
  const url = (ns: string, name: string, query = '') =>
    `${target.server}/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}${query}`;
  const send = async (
    u: string,
    init: { method: string; body?: string; ct?: string },
    signal: AbortSignal,
  ) => {
    const res = await fetch(u, {
      method: init.method,
      headers: headers(init.ct === undefined ? {} : { 'content-type': init.ct }),
      ...(init.body === undefined ? {} : { body: init.body }),
      dispatcher: agent,
      signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
    });
    const text = await res.text();
    if (res.status === 404 && init.method === 'GET') return undefined;
    if (!res.ok) {
      let message = `${init.method} configmap: HTTP ${res.status}`;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // not a Status document: keep the HTTP line
      }
      throw new KubeRequestError(res.status, message);
    }
    return text;
  };
  return {
    async get(namespace, name, signal) {
      const text = await send(url(namespace, name), { method: 'GET' }, signal);
      return text === undefined ? undefined : (JSON.parse(text) as ConfigMap);
    },
    async apply(cm, signal) {
      const q = `?fieldManager=${FIELD_MANAGER}&force=true`;
      await send(
        url(cm.metadata.namespace, cm.metadata.name, q),
        { method: 'PATCH', body: JSON.stringify(cm), ct: 'application/apply-patch+yaml' },
        signal,
      );
    },
    close: () => agent.close(),
  };
}
