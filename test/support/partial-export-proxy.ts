/**
 * A loopback proxy in front of a real MinIO that forwards every request untouched (the Host
 * header as sent, so signatures hold), except, while `drop` names a file, the IAM export: its
 * zip comes back without that file, as a well-formed 200. It stands in for a site whose export
 * is cut short or taken while IAM loads, which no real server can be made to do on demand.
 */
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';

import { readZip, writeZip } from '../../src/sites/minio/admin/zip.js';

export interface PartialExportProxy {
  endpoint: string;
  /** The export-iam file to leave out (e.g. `iam-assets/users.json`), or undefined. */
  drop: string | undefined;
  /** How many exports were answered without `drop`. */
  partialAnswers: number;
  close(): Promise<void>;
}

function collect(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    stream.on('error', reject);
  });
}

export async function startPartialExportProxy(target: string): Promise<PartialExportProxy> {
  const t = new URL(target);
  const proxy: PartialExportProxy = {
    endpoint: '',
    drop: undefined,
    partialAnswers: 0,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const exportIAM = (req.url ?? '').startsWith('/minio/admin/v3/export-iam');
    const drop = exportIAM ? proxy.drop : undefined;
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (drop === undefined || answer.statusCode !== 200) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        void collect(answer).then((zip) => {
          const kept = readZip(zip).filter((e) => e.name !== drop);
          const body = writeZip(kept);
          proxy.partialAnswers++;
          res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length });
          res.end(body);
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return proxy;
}
