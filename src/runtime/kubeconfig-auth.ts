/**
 * A KubeAuth over @kubernetes/client-node's KubeConfig: every kubeconfig it supports (exec and
 * auth-provider plugins, proxies, merged files). Importing this module loads the library
 * (~85 MiB resident): the operator does so only when lightKubeAuth (kube-auth.ts) cannot serve
 * its configuration; the kubectl plugin and the tests use it directly.
 */
import { HttpMethod, type KubeConfig, RequestContext } from '@kubernetes/client-node';

import type { KubeAuth } from './kube-auth.js';

export function kubeConfigAuth(config: KubeConfig): KubeAuth {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('The kubeconfig has no current cluster');
  return {
    server: cluster.server,
    async authenticate(url, method) {
      const verb = Object.values(HttpMethod).find((v) => v === method) ?? HttpMethod.GET;
      const ctx = new RequestContext(url.toString(), verb);
      await config.applySecurityAuthentication(ctx);
      return {
        headers: ctx.getHeaders(),
        dispatcher: ctx.getDispatcher(),
      };
    },
  };
}
