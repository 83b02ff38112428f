/**
 * How tests declare a site in a SiteReplicationGroup, a BucketReplication's `siteSpec` or
 * anything else shaped like `spec.sites[]`: the stack's MinIO servers serve https with a
 * certificate of the stack's own CA, which a group trusts through `tls.caSecret`. Use
 * `siteSpec` for every site a test declares and `ensureCaSecret` once per namespace.
 */
import { type KubeClient, SECRETS, isConflict } from '../../src/runtime/kube-client.js';
import { kubeClient } from './kube.js';
import { sitesCa } from './stack.js';

/** The Secret (key `ca.crt`, the API's default) holding the sites' CA in a test namespace. */
export const CA_SECRET = 'sites-ca';

/** Creates the CA Secret in `namespace` unless it exists; returns its name. */
export async function ensureCaSecret(
  namespace: string,
  client: KubeClient = kubeClient(),
): Promise<string> {
  try {
    await client.create(SECRETS, namespace, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CA_SECRET, namespace },
      stringData: { 'ca.crt': sitesCa() },
    });
  } catch (e: unknown) {
    if (!isConflict(e)) throw e; // AlreadyExists is a 409
  }
  return CA_SECRET;
}

/** The CA Secret as a manifest, for tests that apply YAML (kubectl, helm). */
export function caSecretManifest(namespace?: string) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: CA_SECRET, ...(namespace === undefined ? {} : { namespace }) },
    stringData: { 'ca.crt': sitesCa() },
  };
}

export interface SiteSpecOptions {
  /** The credentials Secret (default `<name>-credentials`). */
  credentials?: string;
  flavor?: 'minio' | 's3';
  region?: string;
}

/**
 * A site entry for `server` named `name`: its endpoint, its credentials Secret and, for https,
 * `tls.caSecret` (the Secret `ensureCaSecret` creates). An http server gets no `tls`, which the
 * operator refuses unless ALLOW_INSECURE_SITES is on.
 */
export function siteSpec(name: string, server: { endpoint: string }, opts: SiteSpecOptions = {}) {
  const https = server.endpoint.startsWith('https:');
  return {
    name,
    endpoint: server.endpoint,
    ...(opts.flavor === undefined ? {} : { flavor: opts.flavor }),
    ...(opts.region === undefined ? {} : { region: opts.region }),
    credentialsSecret: { name: opts.credentials ?? `${name}-credentials` },
    ...(https ? { tls: { caSecret: { name: CA_SECRET } } } : {}),
  };
}
