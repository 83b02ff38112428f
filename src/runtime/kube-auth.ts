/**
 * How the operator's KubeClient reaches the apiserver: its URL, and per request the headers
 * that authenticate it and the dispatcher (TLS: CA, client certificate) to send it with.
 *
 * `lightKubeAuth` reads a kubeconfig's current context (client certificate or bearer token) or
 * the in-cluster service account without @kubernetes/client-node, whose import alone costs
 * about 85 MiB of resident memory (it loads every generated API model); the operator uses it
 * whenever it can. A kubeconfig it does not cover (an exec or auth-provider plugin, a proxy, a
 * TLS server name, several files in KUBECONFIG) is left to `kubeConfigAuth`
 * (kubeconfig-auth.ts), which the operator then imports.
 */
import { readFileSync } from 'node:fs';

import type { Dispatcher } from 'undici';
import { parse } from 'yaml';

import { KubeConfigError, type KubeTarget, kubeTarget, targetAgent } from '../cli/light-kube.js';

export interface KubeAuth {
  /** The apiserver's URL, as the kubeconfig gives it. */
  readonly server: string;
  /** The headers that authenticate a request to `url`, and the dispatcher to send it with. */
  authenticate(
    url: URL,
    method: string,
  ): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher | undefined }>;
}

/** Where a pod's service account token is; the kubelet rotates it in place. */
const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** How long a token read from a file is used before the file is read again (client-go: 1 min). */
const TOKEN_REREAD_MS = 60_000;

type Env = Readonly<Record<string, string | undefined>>;

/** What of a kubeconfig's current cluster and user the light path reads; anything else it cannot. */
const CLUSTER_KEYS = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
]);
const USER_KEYS = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
]);

interface Named {
  name?: string;
  context?: { cluster?: string; user?: string };
  cluster?: Record<string, unknown>;
  user?: Record<string, unknown>;
}

/** The first key of the current context's cluster or user the light path does not read. */
function unreadKey(text: string): string | undefined {
  const doc = (parse(text) ?? {}) as {
    'current-context'?: string;
    contexts?: Named[];
    clusters?: Named[];
    users?: Named[];
  };
  const ctx = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster ?? {};
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user ?? {};
  return (
    Object.keys(cluster).find((k) => !CLUSTER_KEYS.has(k)) ??
    Object.keys(user).find((k) => !USER_KEYS.has(k))
  );
}

/** The kubeconfig file `kubeTarget` reads for `env`, or undefined for the service account. */
function kubeconfigFile(env: Env): string | undefined {
  const path = env['KUBECONFIG']?.split(':')[0];
  if (path !== undefined && path !== '') return path;
  if ((env['KUBERNETES_SERVICE_HOST'] ?? '') !== '') return undefined;
  return env['HOME'] === undefined ? undefined : `${env['HOME']}/.kube/config`;
}

/**
 * Why the light path cannot serve `env`'s configuration (several files to merge, a plugin,
 * impersonation, a proxy, a TLS server name: any key it does not read), or undefined.
 */
export function needsClientNode(env: Env, read: (p: string) => string): string | undefined {
  const files = (env['KUBECONFIG'] ?? '').split(':').filter((f) => f !== '');
  if (files.length > 1) return 'KUBECONFIG names several files';
  const file = kubeconfigFile(env);
  if (file === undefined) return undefined;
  const key = unreadKey(read(file));
  return key === undefined ? undefined : `the kubeconfig's current context uses ${key}`;
}

/**
 * The apiserver of `env` (KUBECONFIG's file, else the in-cluster service account, else
 * ~/.kube/config). Throws KubeConfigError when the configuration needs what only
 * @kubernetes/client-node does (a plugin, a proxy): the caller falls back to it.
 */
export function lightKubeAuth(
  env: Env,
  read: (p: string) => string = (p) => readFileSync(p, 'utf8'),
  now: () => number = Date.now,
): KubeAuth {
  const why = needsClientNode(env, read);
  if (why !== undefined) throw new KubeConfigError(why);
  const target: KubeTarget = kubeTarget(env, read);
  const inCluster =
    (env['KUBECONFIG'] ?? '') === '' && (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '';
  const agent = targetAgent(target);
  let token = target.token;
  let readAt = now();
  const currentToken = () => {
    if (inCluster && now() - readAt >= TOKEN_REREAD_MS) {
      token = read(SA_TOKEN).trim();
      readAt = now();
    }
    return token;
  };
  return {
    server: target.server,
    authenticate: () => {
      const t = currentToken();
      return Promise.resolve({
        headers: t === undefined ? {} : { authorization: `Bearer ${t}` },
        dispatcher: agent,
      });
    },
  };
}
