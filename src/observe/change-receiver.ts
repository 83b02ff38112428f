/**
 * The change-hint receiver: an HTTPS server on its own port where sites post reports of their
 * changes (MinIO: a named `audit_webhook` target per group). `POST /v1/hints/<group id>` with
 * `Authorization: Bearer <the group's token>` and the site's identity header; the body is one
 * report per line. What a report means is the sink's business (the group's controller); the
 * receiver authenticates before it reads a byte of the body, bounds everything it reads, and
 * answers at once.
 *
 * Every answer but 2xx makes MinIO retry the same report forever (every retry_interval), so a
 * body the receiver cannot take (too large, malformed) is answered 200 and reported to the sink
 * as lost: the group then observes everything again.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';

import type { Admission, ChangeReportSink, DecodedReport } from '../sites/change-feed.js';

export interface ReceiverObserver {
  /** One report: how it was answered, and what it held when it was read. */
  report(result: string, report?: DecodedReport): void;
}

export interface ChangeReceiverOptions {
  port: number;
  host?: string | undefined;
  /** PEM files of the serving certificate (chain) and its key; re-read when they change. */
  certFile: string;
  keyFile: string;
  sink: ChangeReportSink;
  /** Turns a report body into hints (the flavor's format). */
  decode: (body: string) => DecodedReport;
  observer?: ReceiverObserver | undefined;
  /** The largest body read (default 1 MiB: MinIO posts one entry of a few KiB at a time). */
  maxBodyBytes?: number | undefined;
  /** How often the certificate files are checked for a change (default 60 s; 0: never). */
  reloadEveryMs?: number | undefined;
}

/** The header MinIO's audit target sets to its deployment ID. */
export const DEPLOYMENT_HEADER = 'x-minio-deployment-id';
const PATH = /^\/v1\/hints\/([a-z0-9][a-z0-9-]{0,63})$/;
const DEFAULT_MAX_BODY = 1024 * 1024;
const MAX_CONNECTIONS = 512;

const STATUS: Record<Exclude<Admission, { ok: true }>['why'], number> = {
  'unknown-group': 404,
  unauthorized: 401,
  'foreign-site': 403,
  'not-ready': 503,
};

function answer(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, {
    'content-type': 'text/plain; charset=utf-8',
    ...(code === 503 ? { 'retry-after': '1' } : {}),
  });
  res.end(`${text.replace('-', ' ')}\n`);
}

/** The body, or undefined when it was longer than `max` (the rest is drained, unread). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(over ? undefined : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

async function loadTls(opts: ChangeReceiverOptions): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(opts.certFile), readFile(opts.keyFile)]);
  return { cert, key };
}

export interface ChangeReceiver {
  readonly server: Server;
  /** The port it listens on (the one asked for, or the one given for 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The group a request is for, or an answer when it is not a report. */
function route(req: IncomingMessage): { group: string } | { code: number; result: string } {
  const group = PATH.exec((req.url ?? '').split('?')[0] ?? '')?.[1];
  if (group === undefined) return { code: 404, result: 'not-found' };
  if (req.method !== 'POST') return { code: 405, result: 'bad-method' };
  return { group };
}

async function handle(
  opts: ChangeReceiverOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const done = (result: string, code: number, report?: DecodedReport) => {
    opts.observer?.report(result, report);
    answer(res, code, result);
  };
  const routed = route(req);
  if (!('group' in routed)) {
    req.resume();
    done(routed.result, routed.code);
    return;
  }
  const { group } = routed;
  const header = req.headers[DEPLOYMENT_HEADER];
  const site = typeof header === 'string' ? header : undefined;
  const admission = opts.sink.admit(group, req.headers.authorization, site);
  if (!admission.ok) {
    req.resume();
    done(admission.why, STATUS[admission.why]);
    return;
  }
  const body = await readBody(req, opts.maxBodyBytes ?? DEFAULT_MAX_BODY);
  if (body === undefined || site === undefined) {
    opts.sink.lost(group, site ?? '', body === undefined ? 'report too large' : 'no site');
    done('lost', 200);
    return;
  }
  const report = opts.decode(body);
  // Every entry must be the site's own: one that names another deployment is not taken.
  const all = report.hints.length;
  report.hints = report.hints.filter((h) => h.deploymentID === site);
  opts.sink.deliver(group, site, report);
  if (report.malformed > 0) opts.sink.lost(group, site, 'malformed report');
  done(report.hints.length < all ? 'foreign-entries' : 'accepted', 200, report);
}

/** Starts the receiver; resolves once it listens. */
export async function startChangeReceiver(opts: ChangeReceiverOptions): Promise<ChangeReceiver> {
  let tls = await loadTls(opts);
  const server = createServer({ ...tls }, (req, res) => {
    handle(opts, req, res).catch(() => {
      if (!res.headersSent) answer(res, 500, 'error');
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 65_000;
  server.maxConnections = MAX_CONNECTIONS;
  const every = opts.reloadEveryMs ?? 60_000;
  const timer =
    every > 0
      ? setInterval(() => {
          loadTls(opts).then(
            (next) => {
              if (next.cert.equals(tls.cert) && next.key.equals(tls.key)) return;
              server.setSecureContext(next);
              tls = next;
            },
            () => undefined, // a half-written rotation: the next check takes it
          );
        }, every)
      : undefined;
  timer?.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
