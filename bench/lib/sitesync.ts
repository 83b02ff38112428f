/**
 * sitesync side of a run: a fresh namespace with one credentials Secret per site, the operator
 * watching only that namespace, and a SiteReplicationGroup of the given servers. Teardown stops
 * the operator first, then drops the group's finalizer and the namespace (the servers are thrown
 * away, so nothing needs unlinking; the shared stack keeps only a Terminating namespace).
 */
import { join } from 'node:path';

import { stringify } from 'yaml';

import { applyCrds, createNamespace, kubectl, mustKubectl } from '../../test/support/kube.js';
import { BenchOperator } from './operator.js';
import type { BenchServer, Workspace } from './workspace.js';

export const GROUP = 'bench';

let crdsApplied = false;

export function siteName(i: number): string {
  return `site-${i}`;
}

export function groupManifest(servers: readonly BenchServer[], syncInterval: string): string {
  return stringify({
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name: GROUP },
    spec: {
      primary: siteName(0),
      syncInterval,
      sites: servers.map((s, i) => ({
        name: siteName(i),
        endpoint: s.endpoint,
        credentialsSecret: { name: `${siteName(i)}-credentials` },
      })),
    },
  });
}

export interface SitesyncRun {
  namespace: string;
  operator: BenchOperator;
  /** Applies the group; resolves when kubectl returns. */
  apply(syncInterval: string): Promise<void>;
  close(): Promise<void>;
}

/** Namespace, Secrets and a running (idle) operator for `servers`; the group is not applied yet. */
export async function prepareSitesync(
  ws: Workspace,
  servers: readonly BenchServer[],
  opts: { kubeconfig: string; cpuProfDir?: string | undefined; logDir: string },
): Promise<SitesyncRun> {
  if (!crdsApplied) {
    await applyCrds();
    crdsApplied = true;
  }
  const namespace = await createNamespace('bench');
  const secrets = servers.map((s, i) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${siteName(i)}-credentials`, namespace },
    stringData: { accessKey: s.accessKey, secretKey: s.secretKey },
  }));
  await mustKubectl(
    ['apply', '-n', namespace, '-f', '-'],
    secrets.map((s) => stringify(s)).join('---\n'),
  );
  const operator = new BenchOperator({
    kubeconfig: opts.kubeconfig,
    namespace,
    logFile: join(opts.logDir, `operator-${namespace}.log`),
    cpuProfDir: opts.cpuProfDir,
  });
  const close = async () => {
    await operator.stop();
    await kubectl([
      'patch',
      'srg',
      GROUP,
      '-n',
      namespace,
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    ]);
    await kubectl(['delete', 'srg', GROUP, '-n', namespace, '--wait=false']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  };
  const undo = ws.onClose(close);
  await operator.start();
  return {
    namespace,
    operator,
    apply: async (syncInterval) => {
      await mustKubectl(
        ['apply', '-n', namespace, '-f', '-'],
        groupManifest(servers, syncInterval),
      );
    },
    close: async () => {
      undo();
      await close();
    },
  };
}
