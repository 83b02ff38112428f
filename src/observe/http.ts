import { type Server, createServer } from 'node:http';

import type { Metrics } from './metrics.js';

export interface ReplicationStatusSource {
  /**
   * Vault-style replication status of every group, keyed by namespace/name; undefined when
   * this replica has none (it is not the leader, or its cache has not synced yet).
   */
  replicationStatus(): unknown;
}

export interface HttpOptions {
  port: number;
  host?: string;
  metrics: Metrics;
  ready: () => boolean;
  status?: ReplicationStatusSource;
}

/** /healthz, /readyz, /metrics and the read-only GET /v1/replication/status. */
export function startHttpServer(opts: HttpOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') {
      send(405, 'method not allowed\n');
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    switch (path) {
      case '/healthz':
        send(200, 'ok\n');
        return;
      case '/readyz':
        if (opts.ready()) send(200, 'ok\n');
        else send(503, 'not ready\n');
        return;
      case '/metrics':
        opts.metrics.registry.metrics().then(
          (text) => {
            send(200, text, opts.metrics.registry.contentType);
          },
          () => {
            send(500, 'metrics unavailable\n');
          },
        );
        return;
      case '/v1/replication/status': {
        const body = opts.status?.replicationStatus();
        if (body === undefined) {
          const why =
            'no replication status on this replica: it is not the leader, or its cache has not synced yet';
          send(503, JSON.stringify({ errors: [why] }), 'application/json');
        } else send(200, JSON.stringify(body), 'application/json');
        return;
      }
      default:
        send(404, 'not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      resolve(server);
    });
  });
}
