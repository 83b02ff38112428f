/**
 * An HTTPS proxy in front of the real apiserver that records every request (verb, resource,
 * namespace, status). It serves the apiserver's own certificate (the stack's CA signs it for
 * 127.0.0.1), so TLS is verified as usual. The operator's kubeconfig points at it with an `as:` user: client-node
 * sends `Impersonate-User`, the proxy forwards it with the stack's admin certificate, and the
 * apiserver authorizes every request as the impersonated ServiceAccount. So the operator runs
 * with exactly the chart's RBAC, and the test learns which permissions it really used.
 * `hold` makes it keep matching requests unanswered (a stalled apiserver, for that client only).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import { join } from 'node:path';

import type { KubeConfig } from '@kubernetes/client-node';

export interface RecordedCall {
  verb: string;
  group: string;
  resource: string;
  namespace: string;
  name: string;
  status: number;
  user: string;
  /** When the request reached the proxy, and when the apiserver's answer came (ms epoch). */
  at: number;
  doneAt: number;
}

export interface RecordingProxy {
  url: string;
  calls: RecordedCall[];
  /** From now on, requests whose path matches are held: never forwarded, never answered. */
  hold(path: RegExp): void;
  close(): Promise<void>;
}

function material(data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFileSync(file);
  return undefined;
}

/** `/api/v1/namespaces/ns/secrets/x` or `/apis/g/v/...` -> group, namespace, resource, name. */
export function parseApiPath(path: string) {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  let rest: string[];
  let group: string;
  if (parts[0] === 'api') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const [resource = '', name = '', sub] = rest;
  return { group, namespace, resource: sub ? `${resource}/${sub}` : resource, name };
}

function verbOf(method: string, url: URL, hasName: boolean): string {
  const watch = url.searchParams.get('watch');
  switch (method) {
    case 'GET':
      if (watch === 'true' || watch === '1') return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** The proxy serves the apiserver's certificate, from the stack's PKI directory. */
export async function startRecordingProxy(
  admin: KubeConfig,
  pkiDir: string,
): Promise<RecordingProxy> {
  const cluster = admin.getCurrentCluster();
  const user = admin.getCurrentUser();
  if (!cluster || !user) throw new Error('The admin kubeconfig has no current cluster or user');
  const upstream = new URL(cluster.server);
  const tls = {
    ca: material(cluster.caData, cluster.caFile),
    cert: material(user.certData, user.certFile),
    key: material(user.keyData, user.keyFile),
  };
  const calls: RecordedCall[] = [];
  let held: RegExp | undefined;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const at = Date.now();
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (held?.test(url.pathname) === true) return;
    const target = parseApiPath(url.pathname);
    const headers = { ...req.headers, host: upstream.host };
    const up = httpsRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `${url.pathname}${url.search}`,
        headers,
        ...tls,
      },
      (upRes) => {
        const status = upRes.statusCode ?? 0;
        if (target) {
          const verb = verbOf(req.method ?? 'GET', url, target.name !== '');
          const user = String(req.headers['impersonate-user'] ?? '(admin)');
          const times = { at, doneAt: Date.now() };
          calls.push({ verb, ...target, status, user, ...times });
          // Server-side apply of a missing object creates it, which needs `create` too.
          if (verb === 'patch' && status === 201)
            calls.push({ verb: 'create', ...target, status, user, ...times });
        }
        res.writeHead(status, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', (e) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(e));
    });
    res.on('close', () => {
      up.destroy();
    });
    req.pipe(up);
  };
  const server: Server = createServer(
    {
      cert: readFileSync(join(pkiDir, 'apiserver.crt')),
      key: readFileSync(join(pkiDir, 'apiserver.key')),
    },
    handle,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `https://127.0.0.1:${port}`,
    calls,
    hold: (path) => {
      held = path;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A kubeconfig (YAML) that reaches the proxy as `user` impersonated (kubeconfig `as:`). */
export function impersonatingKubeconfig(proxyURL: string, caFile: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: proxy`,
    `  cluster: {server: "${proxyURL}", certificate-authority: "${caFile}"}`,
    'users:',
    `- name: impersonated`,
    `  user: {as: "${user}"}`,
    'contexts:',
    '- name: operator',
    '  context: {cluster: proxy, user: impersonated}',
    'current-context: operator',
    '',
  ].join('\n');
}
