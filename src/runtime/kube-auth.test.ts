import { describe, expect, it } from '@jest/globals';

import { KubeConfigError } from '../cli/light-kube.js';
import { lightKubeAuth, needsClientNode } from './kube-auth.js';

const kubeconfig = (user: string, cluster = '') =>
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: c`,
    `  cluster: {server: "https://127.0.0.1:6443"${cluster}}`,
    'users:',
    `- name: u`,
    `  user: {${user}}`,
    'contexts:',
    '- name: x',
    '  context: {cluster: c, user: u}',
    'current-context: x',
    '',
  ].join('\n');

const reader =
  (files: Record<string, string>) =>
  (p: string): string => {
    const text = files[p];
    if (text === undefined) throw new Error(`no file ${p}`);
    return text;
  };

describe('lightKubeAuth', () => {
  it('serves a token or client-certificate kubeconfig without @kubernetes/client-node', async () => {
    const read = reader({ '/k': kubeconfig('token: "abc"') });
    const auth = lightKubeAuth({ KUBECONFIG: '/k' }, read);
    expect(auth.server).toBe('https://127.0.0.1:6443');
    const { headers, dispatcher } = await auth.authenticate(new URL(auth.server), 'GET');
    expect(headers).toEqual({ authorization: 'Bearer abc' });
    expect(dispatcher).toBeDefined();
    expect(needsClientNode({ KUBECONFIG: '/k' }, read)).toBeUndefined();
  });

  it('leaves to @kubernetes/client-node what it does not read: plugins, impersonation, proxies, merged files', () => {
    const cases: [string, string, string][] = [
      ['exec: {command: aws}', '', 'exec'],
      ['as: "system:serviceaccount:a:b"', '', 'as'],
      ['token: "abc"', ', proxy-url: "http://proxy:3128"', 'proxy-url'],
      ['token: "abc"', ', tls-server-name: "kubernetes"', 'tls-server-name'],
    ];
    for (const [user, cluster, key] of cases) {
      const read = reader({ '/k': kubeconfig(user, cluster) });
      expect(needsClientNode({ KUBECONFIG: '/k' }, read)).toBe(
        `the kubeconfig's current context uses ${key}`,
      );
      expect(() => lightKubeAuth({ KUBECONFIG: '/k' }, read)).toThrow(KubeConfigError);
    }
    expect(needsClientNode({ KUBECONFIG: '/a:/b' }, reader({}))).toBe(
      'KUBECONFIG names several files',
    );
  });

  it("in a pod, reads the service account's token again after a minute (the kubelet rotates it)", async () => {
    const files: Record<string, string> = {
      '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt': 'CA',
      '/var/run/secrets/kubernetes.io/serviceaccount/token': 'first\n',
    };
    let now = 0;
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
    const auth = lightKubeAuth(env, reader(files), () => now);
    expect(auth.server).toBe('https://10.0.0.1:443');
    const token = async () =>
      (await auth.authenticate(new URL(auth.server), 'GET')).headers['authorization'];
    expect(await token()).toBe('Bearer first');
    files['/var/run/secrets/kubernetes.io/serviceaccount/token'] = 'second\n';
    now = 59_000;
    expect(await token()).toBe('Bearer first');
    now = 60_000;
    expect(await token()).toBe('Bearer second');
  });
});
