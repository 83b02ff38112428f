/**
 * A loopback HTTP proxy in front of an S3 endpoint that forwards every request untouched (the
 * SigV4 signature covers the Host header, which is forwarded as sent) and records each one
 * with its answer's status, so tests can count the writes a site really received.
 */
import {
  type IncomingMessage,
  type Server,
  type ServerResponse,
  createServer,
  request,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedCall {
  method: string;
  path: string;
  query: URLSearchParams;
  status: number;
}

export interface CountingProxy {
  endpoint: string;
  calls: ProxiedCall[];
  /** Object writes that succeeded: PUT of a key (not a part, tag or lock update), multipart completions. */
  objectWrites(bucket: string): number;
  /** Delete markers made: DELETE of a key without a version. */
  deletes(bucket: string): number;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  const calls: ProxiedCall[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const up = request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          calls.push({
            method: req.method ?? '',
            path: url.pathname,
            query: url.searchParams,
            status: answer.statusCode ?? 0,
          });
        });
      },
    );
    up.on('error', () => res.destroy());
    req.on('error', () => up.destroy());
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const ok = (c: ProxiedCall) => c.status >= 200 && c.status < 300;
  const onKey = (c: ProxiedCall, bucket: string) =>
    c.path.startsWith(`/${bucket}/`) && c.path.length > bucket.length + 2;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    objectWrites: (bucket) =>
      calls.filter(
        (c) =>
          ok(c) &&
          onKey(c, bucket) &&
          ((c.method === 'PUT' &&
            !['partNumber', 'tagging', 'retention', 'legal-hold', 'uploadId'].some((q) =>
              c.query.has(q),
            )) ||
            (c.method === 'POST' && c.query.has('uploadId'))),
      ).length,
    deletes: (bucket) =>
      calls.filter(
        (c) => ok(c) && onKey(c, bucket) && c.method === 'DELETE' && !c.query.has('versionId'),
      ).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
