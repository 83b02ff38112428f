/**
 * A hostile "site" on loopback: a small HTTPS server (the certificate every MinIO of the stack
 * presents) that answers what MinIO's admin and S3 APIs are asked with bodies meant to exhaust
 * the operator's memory. It stands in for a broken or malicious peer, which no real server can
 * be made to play. It checks no signature.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';

import { deflatedZeros, overlappingZip, zipOf } from './hostile-zip.js';
import { STACK_DIR, sitesCa } from './stack.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

/**
 * - `stream`: every answer is 200 with 1 GiB of filler, chunked (no length declared).
 * - `declared`: every answer declares a 1 GiB Content-Length, then streams filler.
 * - `bomb`: sane server info and bucket list; both exports are a ~330 KB zip of 1000 entries
 *   that all point at one payload inflating to 256 MiB.
 * - `error`: every answer is a 500 with 1 GiB of filler as its error body.
 * - `long-line`: `replication/diff` answers one line that never ends.
 * - `long-name`: the bucket list holds a bucket name of 300 characters.
 * - `malformed`: sane, except that the IAM export's users file is malformed JSON right next to
 *   a user's secret key (`MALFORMED_SECRET`), which a JSON parse error would quote.
 * - `long-error`: every answer is a 500 whose S3 error XML carries a 40 KB message.
 */
export type HostileMode =
  'stream' | 'declared' | 'bomb' | 'error' | 'long-line' | 'long-name' | 'malformed' | 'long-error';

/** The secret key of the `malformed` export's user. */
export const MALFORMED_SECRET = 'hQ7vK2mZ9xR4tL8wN3pB6cY1';

/** The length of the `long-error` message. */
export const LONG_ERROR_CHARS = 40 * 1024;

export interface Served {
  readonly method: string;
  readonly path: string;
  /** Bytes of body written before the client went away or the body ended. */
  bytes: number;
}

export interface HostileSite {
  readonly endpoint: string;
  /** The CA of its certificate (the sites' CA). */
  readonly ca: string;
  mode: HostileMode;
  /** Every request, in order, with how much of its answer was written. */
  readonly served: Served[];
  close(): Promise<void>;
}

/** Writes `total` bytes of filler, honouring backpressure, until done or the client leaves. */
async function fill(res: ServerResponse, served: Served, total: number): Promise<void> {
  while (served.bytes < total && !res.destroyed) {
    const chunk = CHUNK.subarray(0, Math.min(CHUNK.length, total - served.bytes));
    served.bytes += chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  res.end();
}

function listBucketsXML(names: readonly string[]): string {
  const buckets = names
    .map(
      (n) =>
        `<Bucket><Name>${n}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Owner><ID>x</ID></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`
  );
}

function send(res: ServerResponse, served: Served, type: string, body: Buffer | string): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  served.bytes = bytes.length;
  res.writeHead(200, { 'content-type': type, 'content-length': bytes.length });
  res.end(bytes);
}

interface Sane {
  readonly deploymentID: string;
  readonly bomb: Buffer;
  readonly malformed: Buffer;
}

/** The modes whose answers look like MinIO's, except for the one hostile part. */
function answerSanely(mode: HostileMode, sane: Sane, req: IncomingMessage, res: ServerResponse) {
  const served = { method: req.method ?? '', path: req.url ?? '', bytes: 0 };
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/minio/admin/v3/info') {
    const info = { mode: 'online', deploymentID: sane.deploymentID, servers: [], backend: {} };
    send(res, served, 'application/json', JSON.stringify(info));
  } else if (path === '/') {
    const names = mode === 'long-name' ? ['b'.repeat(300)] : [];
    send(res, served, 'application/xml', listBucketsXML(names));
  } else if (path.startsWith('/minio/admin/v3/export-')) {
    send(res, served, 'application/zip', mode === 'malformed' ? sane.malformed : sane.bomb);
  } else if (path === '/minio/admin/v3/replication/diff' && mode === 'long-line') {
    res.writeHead(200, { 'content-type': 'application/json' });
    void fill(res, served, GiB);
  } else {
    res.writeHead(404, { 'content-type': 'application/xml' });
    res.end('<Error><Code>NoSuchKey</Code></Error>');
  }
  return served;
}

interface State {
  mode: HostileMode;
  readonly served: Served[];
}

function answer(site: State, sane: Sane, req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  const mode = site.mode;
  let served: Served;
  if (mode === 'long-error') {
    served = { method: req.method ?? '', path: req.url ?? '', bytes: 0 };
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>${'E'.repeat(LONG_ERROR_CHARS)}</Message></Error>`;
    served.bytes = body.length;
    res.writeHead(500, { 'content-type': 'application/xml', 'content-length': body.length });
    res.end(body);
  } else if (mode === 'stream' || mode === 'declared' || mode === 'error') {
    served = { method: req.method ?? '', path: req.url ?? '', bytes: 0 };
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    if (mode === 'declared') headers['content-length'] = GiB;
    res.writeHead(mode === 'error' ? 500 : 200, headers);
    void fill(res, served, GiB);
  } else {
    served = answerSanely(mode, sane, req, res);
  }
  site.served.push(served);
}

export async function startHostileSite(mode: HostileMode): Promise<HostileSite> {
  const sane: Sane = {
    deploymentID: randomUUID(),
    bomb: overlappingZip(await deflatedZeros(256 * MiB), {
      entries: 1000,
      name: (i) => `iam-assets/users-${i}.json`,
    }),
    // Every file export-iam holds; only users.json is malformed, right after a secret key.
    malformed: zipOf({
      ...Object.fromEntries(
        [
          'policies.json',
          'groups.json',
          'user_mappings.json',
          'group_mappings.json',
          'stsuser_mappings.json',
          'svcaccts.json',
        ].map((f) => [`iam-assets/${f}`, '{}']),
      ),
      'iam-assets/users.json': `{"alice":{"status":"enabled","secretKey":${MALFORMED_SECRET}}}`,
    }),
  };
  const state: State = { mode, served: [] };
  const pki = join(STACK_DIR, 'pki');
  const tls = {
    cert: readFileSync(join(pki, 'minio.crt')),
    key: readFileSync(join(pki, 'minio.key')),
  };
  const server = createServer(tls, (req, res) => {
    answer(state, sane, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    ca: sitesCa(),
    get mode() {
      return state.mode;
    },
    set mode(m: HostileMode) {
      state.mode = m;
    },
    served: state.served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
