/** Reading what the chart renders: the operator's container, its environment, RBAC rules. */
import { randomBytes } from 'node:crypto';

import { createNamespace, mustKubectl } from '../support/kube.js';
import { type KubeDoc, findDoc } from './chart.js';
import type { PolicyRule } from './operator-permissions.js';

export const MONITORING_KINDS = new Set(['ServiceMonitor', 'PrometheusRule']);

/** Every optional object of the chart switched on. */
export const ALL_ON = {
  metrics: { serviceMonitor: { enabled: true }, prometheusRule: { enabled: true } },
  dashboard: { enabled: true },
  networkPolicy: { enabled: true, apiServer: { cidrs: ['10.0.0.1/32'] } },
};

export const suffix = () => randomBytes(3).toString('hex');

/** A fresh namespace that enforces the restricted Pod Security Standard. */
export async function labelledNamespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix);
  await mustKubectl(['label', 'ns', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  return ns;
}

/** The rules of the (Cluster)Role named `name` among `docs`. */
export function rulesOf(docs: readonly KubeDoc[], kind: string, name: string): PolicyRule[] {
  return (findDoc(docs, kind, name) as unknown as { rules: PolicyRule[] }).rules;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface DeploymentDoc {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: Record<string, unknown>;
        containers: {
          name: string;
          image: string;
          env: EnvVar[];
          ports: { name: string; containerPort: number }[];
          livenessProbe: { httpGet: { path: string; port: string } };
          readinessProbe: { httpGet: { path: string; port: string } };
          resources: { requests?: Record<string, string>; limits?: Record<string, string> };
          securityContext: Record<string, unknown>;
        }[];
      };
    };
  };
}

/** The Deployment among `docs` and its (only) container. */
export function container(docs: readonly KubeDoc[]) {
  const d = findDoc(docs, 'Deployment') as unknown as DeploymentDoc;
  const c = d.spec.template.spec.containers[0];
  if (!c) throw new Error('The Deployment has no container');
  return { deployment: d, c };
}

/** The container's environment as the kubelet would give it to a pod named `pod` in `ns`. */
export function resolveEnv(
  docs: readonly KubeDoc[],
  pod: string,
  ns: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container(docs).c.env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (field === 'metadata.name') env[e.name] = pod;
    else if (field === 'metadata.namespace') env[e.name] = ns;
    else throw new Error(`Cannot resolve env ${e.name}`);
  }
  return env;
}
