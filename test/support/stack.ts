/**
 * The local real stack: etcd + kube-apiserver (as controller-runtime's envtest runs them) +
 * kube-controller-manager running only the garbage collector (owner references are collected
 * as on a real cluster: the operator deletes nothing it owns by reference), three MinIO sites and one moto server (the AWS-compatible `s3` flavor), all on loopback. `make stack-up` / `make stack-down` and the tests use
 * these functions; the state lives in `.stack/` (or $SITESYNC_STACK_DIR) and survives the
 * process that started it, so it is idempotent and shared.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  CreateAccessKeyCommand,
  CreateUserCommand,
  IAMClient,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';

import { Agent, fetch as undiciFetch } from 'undici';

import { type LdapServer, type OidcIssuer, startOidcIssuer, startSlapd } from './idp.js';
import { requireCommand } from './prerequisites.js';
import {
  isAlive,
  readPid,
  readProcessSpec,
  startProcess,
  stopProcess,
  waitFor,
} from './processes.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const STACK_DIR = resolve(process.env['SITESYNC_STACK_DIR'] ?? join(REPO_ROOT, '.stack'));
export const TOOLS_BIN = join(
  process.env['SITESYNC_CACHE'] ?? join(homedir(), '.cache', 'sitesync'),
  'bin',
);
export const SITE_NAMES = ['a', 'b', 'c'] as const;

export interface MinioServer {
  name: string;
  /** `https://127.0.0.1:<port>` (a certificate of the sites' CA), or `http://` when started without TLS. */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** The PEM of the CA to trust for `endpoint` (absent on http). */
  ca?: string | undefined;
}

/** A moto server: an AWS-compatible S3 + IAM endpoint (flavor `s3`). */
export interface MotoServer {
  name: string;
  /** The process name in the stack. */
  process: string;
  endpoint: string;
  /** Credentials of the user `sitesync-admin` (every action allowed); moto checks signatures. */
  accessKey: string;
  secretKey: string;
  /** The AWS account moto serves (its fixed default). */
  accountId: string;
}

export interface StackInfo {
  dir: string;
  kubeconfig: string;
  apiserverURL: string;
  etcdURL: string;
  kmsSecretKey: string;
  /** The CA that signed every MinIO server's certificate (PEM file). */
  sitesCaFile: string;
  /** mc's configuration directory (it trusts the sites' CA); never the user's ~/.mc. */
  mcConfigDir: string;
  sites: MinioServer[];
  /** The stack's moto server (process `moto`): the `s3` flavor. */
  moto: MotoServer;
  /** The stack's LDAP server (process `slapd`); absent only in a stack.json of an older checkout. */
  ldap?: Omit<LdapServer, 'stop'> | undefined;
  /** The stack's OpenID issuer (process `oidc`; attachOidcIssuer('oidc') mints its tokens). */
  oidc?: Omit<OidcIssuer, 'stop' | 'mintToken'> | undefined;
}

const INFO_FILE = () => join(STACK_DIR, 'stack.json');

export function tool(name: string): string {
  const path = join(TOOLS_BIN, name);
  if (!existsSync(path)) throw new Error(`${name} is not installed: run 'make tools' first`);
  return path;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolvePort(port);
      });
    });
  });
}

function openssl(args: string[], cwd: string): void {
  execFileSync(requireCommand('openssl', 'openssl'), args, { cwd, stdio: 'pipe' });
}

/** One CA signs the serving certificate and the admin client certificate (ECDSA P-256). */
function makeCertificates(dir: string): void {
  if (existsSync(join(dir, 'admin.crt'))) return;
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      '/O=sitesync/CN=sitesync-stack-ca',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'serving.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  const sign = (name: string, subj: string, ext: string) => {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '30',
        '-extfile',
        ext,
      ],
      dir,
    );
  };
  sign('apiserver', '/CN=localhost', 'serving.ext');
  sign('admin', '/O=system:masters/CN=admin', 'client.ext');
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

/**
 * The sites' own CA (not the apiserver's): it signs one serving certificate for 127.0.0.1 and
 * localhost that every MinIO server of the stack presents. Groups trust it through
 * `tls.caSecret`, test clients and mc through `SITES_CA_FILE`.
 */
function makeSiteCertificates(dir: string): void {
  if (existsSync(join(dir, 'minio.crt'))) return;
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'sites-ca.key',
      '-out',
      'sites-ca.crt',
      '-days',
      '30',
      '-subj',
      '/O=sitesync/CN=sitesync-stack-sites-ca',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'minio.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    ['req', ...ec, '-keyout', 'minio.key', '-out', 'minio.csr', '-subj', '/CN=localhost'],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'minio.csr',
      '-CA',
      'sites-ca.crt',
      '-CAkey',
      'sites-ca.key',
      '-CAcreateserial',
      '-out',
      'minio.crt',
      '-days',
      '30',
      '-extfile',
      'minio.ext',
    ],
    dir,
  );
}

/** The PEM file of the CA that signed every MinIO server's certificate in the stack. */
export const sitesCaFile = (dir = STACK_DIR) => join(dir, 'pki', 'sites-ca.crt');

/** The PEM of the sites' CA (what a group's `tls.caSecret` holds). */
export function sitesCa(dir = STACK_DIR): string {
  return readFileSync(sitesCaFile(dir), 'utf8');
}

let siteAgent: { ca: string; agent: Agent } | undefined;

/**
 * `fetch` that trusts the sites' CA: the stack's MinIO servers serve https with a certificate of
 * the stack's own CA, which Node's global fetch does not know.
 */
export function siteFetch(url: string, init: { method?: string; body?: string } = {}) {
  if (!url.startsWith('https:')) return undiciFetch(url, init);
  const ca = sitesCa();
  if (siteAgent?.ca !== ca) siteAgent = { ca, agent: new Agent({ connect: { ca } }) };
  return undiciFetch(url, { ...init, dispatcher: siteAgent.agent });
}

function writeKubeconfig(path: string, server: string, pki: string): void {
  const b64 = (f: string) => readFileSync(join(pki, f)).toString('base64');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: sitesync-stack',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${b64('ca.crt')}`,
      'users:',
      '- name: admin',
      '  user:',
      `    client-certificate-data: ${b64('admin.crt')}`,
      `    client-key-data: ${b64('admin.key')}`,
      'contexts:',
      '- name: sitesync-stack',
      '  context: {cluster: sitesync-stack, user: admin, namespace: default}',
      'current-context: sitesync-stack',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

/** GET over https with the admin client certificate; resolves to the status code and body. */
export function apiserverGet(url: string, pki = join(STACK_DIR, 'pki')) {
  return new Promise<{ status: number; body: string }>((resolveGet, reject) => {
    const req = httpsRequest(
      url,
      {
        ca: readFileSync(join(pki, 'ca.crt')),
        cert: readFileSync(join(pki, 'admin.crt')),
        key: readFileSync(join(pki, 'admin.key')),
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolveGet({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function startEtcd(dir: string): Promise<string> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  startProcess(dir, {
    name: 'etcd',
    command: tool('etcd'),
    args: [
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=default=http://127.0.0.1:${peer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
  });
  await waitFor('etcd', async () => (await fetch(`${url}/health`)).ok, { timeoutMs: 30_000 });
  return url;
}

async function startApiserver(dir: string, etcdURL: string): Promise<string> {
  const pki = join(dir, 'pki');
  const port = await freePort();
  startProcess(dir, {
    name: 'kube-apiserver',
    command: tool('kube-apiserver'),
    args: [
      `--etcd-servers=${etcdURL}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--cert-dir=${pki}`,
      `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
      `--client-ca-file=${join(pki, 'ca.crt')}`,
      `--service-account-issuer=https://127.0.0.1:${port}/`,
      `--service-account-key-file=${join(pki, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--v=1',
    ],
  });
  const url = `https://127.0.0.1:${port}`;
  await waitApiserverReady(url);
  return url;
}

/**
 * kube-controller-manager with the garbage collector alone (no serving port, no leader
 * election), as the admin of the stack's kubeconfig.
 */
function startControllerManager(dir: string, kubeconfig: string): void {
  startProcess(dir, {
    name: 'kube-controller-manager',
    command: tool('kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      '--controllers=garbagecollector',
      '--leader-elect=false',
      '--secure-port=0',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
  });
}

/** Waits until every CRD is Established (served in discovery, where the collector finds it). */
async function waitCrdsEstablished(kubeconfig: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    // A CRD just created has no conditions yet, and kubectl's jsonpath filter then fails: retry.
    let out = '';
    try {
      out = execFileSync(
        tool('kubectl'),
        [
          '--kubeconfig',
          kubeconfig,
          'get',
          'crd',
          '-o',
          'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}',
        ],
        { encoding: 'utf8', stdio: 'pipe' },
      );
    } catch {
      out = '';
    }
    const lines = out.split('\n').filter((l) => l !== '');
    if (lines.length > 0 && lines.every((l) => l === 'True')) return;
    if (Date.now() > deadline) throw new Error(`CRDs not Established after 60 s: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until the garbage collector collects: a ConfigMap owned by another is gone once its
 * owner is deleted (the collector starts only after it has synced its informers).
 */
async function waitGarbageCollector(kubeconfig: string): Promise<void> {
  const kubectl = (args: string[], input?: string) =>
    execFileSync(tool('kubectl'), ['--kubeconfig', kubeconfig, '-n', 'default', ...args], {
      encoding: 'utf8',
      stdio: 'pipe',
      ...(input === undefined ? {} : { input }),
    });
  const name = `gc-probe-${randomBytes(4).toString('hex')}`;
  const uid = kubectl(['create', 'configmap', name, '-o', 'jsonpath={.metadata.uid}']);
  const owner = { apiVersion: 'v1', kind: 'ConfigMap', name, uid };
  kubectl(
    ['create', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${name}-owned`, ownerReferences: [owner] },
    }),
  );
  kubectl(['delete', 'configmap', name]);
  await waitFor(
    'the garbage collector',
    () =>
      Promise.resolve(
        kubectl(['get', 'configmap', `${name}-owned`, '--ignore-not-found', '-o', 'name']) === '',
      ),
    { timeoutMs: 90_000 },
  );
}

export async function waitApiserverReady(url: string): Promise<void> {
  await waitFor(
    'kube-apiserver',
    async () => (await apiserverGet(`${url}/readyz`)).status === 200,
    {
      timeoutMs: 90_000,
    },
  );
  await waitFor(
    'the default namespace',
    async () => (await apiserverGet(`${url}/api/v1/namespaces/default`)).status === 200,
    { timeoutMs: 30_000 },
  );
}

function randomSecret(): string {
  return randomBytes(18).toString('base64url');
}

/** Starts one MinIO server, single drive, on a free port. Used for the sites and by tests. */
export async function startMinio(
  dir: string,
  opts: {
    name: string;
    accessKey?: string;
    secretKey?: string;
    kmsSecretKey: string;
    env?: Record<string, string>;
    /** Serve https with the sites' CA (default); false: plain http. */
    tls?: boolean;
  },
): Promise<MinioServer> {
  const port = await freePort();
  const tls = opts.tls !== false;
  const server: MinioServer = {
    name: opts.name,
    endpoint: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    accessKey: opts.accessKey ?? `${opts.name}-admin`,
    secretKey: opts.secretKey ?? randomSecret(),
    ...(tls ? { ca: sitesCa(dir) } : {}),
  };
  const data = join(dir, `minio-${opts.name}`);
  mkdirSync(data, { recursive: true });
  startProcess(dir, {
    name: `minio-${opts.name}`,
    command: tool('minio'),
    args: [
      'server',
      data,
      '--address',
      `127.0.0.1:${port}`,
      ...minioCertsDir(dir, opts.name, tls),
      '--quiet',
    ],
    env: {
      MINIO_ROOT_USER: server.accessKey,
      MINIO_ROOT_PASSWORD: server.secretKey,
      MINIO_KMS_SECRET_KEY: opts.kmsSecretKey,
      MINIO_BROWSER: 'off',
      MINIO_CI_CD: '1',
      MINIO_UPDATE: 'off',
      ...opts.env,
    },
  });
  await waitMinioReady(server.endpoint);
  return server;
}

/**
 * MinIO's `--certs-dir`: its serving certificate (public.crt, private.key) and, in CAs/, the
 * sites' CA, so that it trusts its peers' certificates when it replicates to them. Without
 * public.crt MinIO serves http (and still trusts CAs/).
 */
function minioCertsDir(dir: string, name: string, tls: boolean): string[] {
  const pki = join(dir, 'pki');
  // A directory without the stack's PKI (the benchmark's workspace) runs plain http servers.
  if (!tls && !existsSync(join(pki, 'sites-ca.crt'))) return [];
  const certs = join(dir, `minio-${name}-certs`);
  mkdirSync(join(certs, 'CAs'), { recursive: true });
  copyFileSync(join(pki, 'sites-ca.crt'), join(certs, 'CAs', 'sites-ca.crt'));
  if (tls) {
    copyFileSync(join(pki, 'minio.crt'), join(certs, 'public.crt'));
    copyFileSync(join(pki, 'minio.key'), join(certs, 'private.key'));
  }
  return ['--certs-dir', certs];
}

/**
 * Waits until MinIO serves requests. /minio/health/ready answers once the object layer is up,
 * while IAM may still be loading: until it is, every request (an anonymous one too) is refused
 * with XMinioServerNotInitialized, which a loaded machine showed to a test's first write.
 */
export async function waitMinioReady(endpoint: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `MinIO at ${endpoint}`,
    async () => {
      if (!(await siteFetch(`${endpoint}/minio/health/ready`)).ok) return false;
      const anonymous = await (await siteFetch(`${endpoint}/`)).text();
      return !anonymous.includes('XMinioServerNotInitialized');
    },
    { timeoutMs },
  );
}

/** The account moto serves unless MOTO_ACCOUNT_ID says otherwise. */
export const MOTO_ACCOUNT_ID = '123456789012';

/**
 * Starts a moto server on a free port. With `auth` (the default) it then checks every request
 * as AWS would: the first requests (unsigned, any credentials) create the user `sitesync-admin`
 * with an allow-everything inline policy and an access key, then `/moto-api/reset-auth` turns
 * moto's signature and IAM checks on for every later request. Without `auth`, moto accepts any
 * credentials (its default).
 */
export async function startMoto(
  dir: string,
  opts: { name: string; process?: string; auth?: boolean },
): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = opts.process ?? `moto-${opts.name}`;
  startProcess(dir, {
    name: proc,
    command: tool('moto_server'),
    args: ['-H', '127.0.0.1', '-p', String(port)],
    env: { MOTO_ACCOUNT_ID, PYTHONUNBUFFERED: '1' },
  });
  await waitFor(
    `moto at ${endpoint}`,
    async () => (await fetch(`${endpoint}/moto-api/data.json`)).ok,
    {
      timeoutMs: 60_000,
    },
  );
  const base = { name: opts.name, process: proc, endpoint, accountId: MOTO_ACCOUNT_ID };
  if (opts.auth === false) return { ...base, accessKey: 'moto-any', secretKey: 'moto-any' };
  const iam = new IAMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bootstrap', secretAccessKey: 'bootstrap' },
  });
  try {
    const UserName = 'sitesync-admin';
    await iam.send(new CreateUserCommand({ UserName }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName,
        PolicyName: 'sitesync-admin-all',
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
        }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName }))).AccessKey;
    const reset = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
    if (!reset.ok || !key?.AccessKeyId || !key.SecretAccessKey) {
      throw new Error(`moto at ${endpoint}: could not turn authentication on`);
    }
    return { ...base, accessKey: key.AccessKeyId, secretKey: key.SecretAccessKey };
  } finally {
    iam.destroy();
  }
}

function envFile(info: StackInfo): string {
  const lines = [
    '# Written by make stack-up: source it to use the local stack.',
    `export SITESYNC_STACK_DIR='${info.dir}'`,
    `export KUBECONFIG='${info.kubeconfig}'`,
    `export PATH='${TOOLS_BIN}':"$PATH"`,
    `export KUBE_APISERVER='${info.apiserverURL}'`,
    `export ETCD_ENDPOINT='${info.etcdURL}'`,
    `export SITES_CA_FILE='${info.sitesCaFile}'`,
    `export MC_CONFIG_DIR='${info.mcConfigDir}'`,
  ];
  if (info.ldap) {
    lines.push(
      `export LDAP_SERVER_ADDR='${info.ldap.addr}'`,
      `export LDAP_BIND_DN='${info.ldap.adminDN}'`,
      `export LDAP_BIND_PASSWORD='${info.ldap.adminPassword}'`,
      `export LDAP_USER_BASE_DN='${info.ldap.usersBaseDN}'`,
      `export LDAP_GROUP_BASE_DN='${info.ldap.groupsBaseDN}'`,
      ...Object.values(info.ldap.users).map(
        (u) => `export LDAP_USER_${u.uid.toUpperCase()}_PASSWORD='${u.password}'`,
      ),
    );
  }
  if (info.oidc) {
    lines.push(
      `export OIDC_CONFIG_URL='${info.oidc.configURL}'`,
      `export OIDC_CLIENT_ID='${info.oidc.clientID}'`,
      `export OIDC_CLIENT_SECRET='${info.oidc.clientSecret}'`,
    );
  }
  lines.push(
    `export MOTO_ENDPOINT='${info.moto.endpoint}'`,
    `export MOTO_ACCESS_KEY='${info.moto.accessKey}'`,
    `export MOTO_SECRET_KEY='${info.moto.secretKey}'`,
    `export MOTO_ACCOUNT_ID='${info.moto.accountId}'`,
  );
  for (const s of info.sites) {
    const up = s.name.toUpperCase();
    const url = new URL(s.endpoint);
    lines.push(
      `export SITE_${up}_ENDPOINT='${s.endpoint}'`,
      `export SITE_${up}_ACCESS_KEY='${s.accessKey}'`,
      `export SITE_${up}_SECRET_KEY='${s.secretKey}'`,
      `export MC_HOST_site${s.name}='${url.protocol}//${s.accessKey}:${s.secretKey}@${url.host}'`,
    );
  }
  return lines.join('\n') + '\n';
}

export function readStack(): StackInfo | undefined {
  if (!existsSync(INFO_FILE())) return undefined;
  return JSON.parse(readFileSync(INFO_FILE(), 'utf8')) as StackInfo;
}

const PROCESS_NAMES = () => [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  ...SITE_NAMES.map((s) => `minio-${s}`),
  'moto',
];

/** The identity providers the recorded stack runs. */
const IDP_PROCESSES = (info: StackInfo) => [
  ...(info.ldap ? [info.ldap.process] : []),
  ...(info.oidc ? [info.oidc.process] : []),
];

/** True when every process of the recorded stack is alive and the apiserver answers. */
export async function stackHealthy(info: StackInfo): Promise<boolean> {
  const names = [...PROCESS_NAMES(), ...IDP_PROCESSES(info)];
  // A stack recorded before slapd was required has none: start a complete one.
  if (info.ldap === undefined) return false;
  // Nor a stack recorded before its MinIO sites served https.
  if ((info as Partial<StackInfo>).sitesCaFile === undefined) return false;
  if (!names.every((n) => isAlive(readPid(info.dir, n)))) return false;
  try {
    return (
      (await apiserverGet(`${info.apiserverURL}/readyz`, join(info.dir, 'pki'))).status === 200
    );
  } catch {
    return false;
  }
}

/** Starts the stack unless it is already up; returns what it runs. Idempotent. */
export async function stackUp(): Promise<StackInfo> {
  const existing = readStack();
  if (existing && (await stackHealthy(existing))) return existing;
  await stackDown();
  mkdirSync(STACK_DIR, { recursive: true });
  const pki = join(STACK_DIR, 'pki');
  makeCertificates(pki);
  makeSiteCertificates(pki);
  const mcConfigDir = join(STACK_DIR, 'mc');
  mkdirSync(join(mcConfigDir, 'certs', 'CAs'), { recursive: true });
  copyFileSync(sitesCaFile(), join(mcConfigDir, 'certs', 'CAs', 'sites-ca.crt'));
  const etcdURL = await startEtcd(STACK_DIR);
  const apiserverURL = await startApiserver(STACK_DIR, etcdURL);
  const kubeconfig = join(STACK_DIR, 'kubeconfig');
  writeKubeconfig(kubeconfig, apiserverURL, pki);
  // The project's CRDs exist before the garbage collector starts, so it watches their kinds from
  // its first sync. A kind it learns later (it rediscovers every 30 s) is missed meanwhile: an
  // owner deleted then is noticed only after its dependents' rate-limited retries, which grow
  // to minutes (seen in CI: a deleted group's token Secret outlived a 30 s wait).
  execFileSync(
    tool('kubectl'),
    ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', join(REPO_ROOT, 'crds')],
    { stdio: 'pipe' },
  );
  await waitCrdsEstablished(kubeconfig);
  startControllerManager(STACK_DIR, kubeconfig);
  const kmsSecretKey = `sitesync-key:${randomBytes(32).toString('base64')}`;
  const [sites, moto, ldap, oidc] = await Promise.all([
    Promise.all(SITE_NAMES.map((name) => startMinio(STACK_DIR, { name, kmsSecretKey }))),
    startMoto(STACK_DIR, { name: 'aws', process: 'moto' }),
    startStackLdap(),
    startOidcIssuer('oidc', { fixedName: true }),
  ]);
  await waitGarbageCollector(kubeconfig);
  const info: StackInfo = {
    dir: STACK_DIR,
    kubeconfig,
    apiserverURL,
    etcdURL,
    kmsSecretKey,
    sitesCaFile: sitesCaFile(),
    mcConfigDir,
    sites,
    moto,
    ldap: withoutFunctions(ldap),
    oidc: withoutFunctions(oidc),
  };
  writeFileSync(INFO_FILE(), JSON.stringify(info, null, 2), { mode: 0o600 });
  writeFileSync(join(STACK_DIR, 'env'), envFile(info), { mode: 0o600 });
  return info;
}

/** The stack's slapd (an error naming the package when slapd is not installed). */
function startStackLdap(): Promise<LdapServer> {
  return startSlapd('slapd', { fixedName: true });
}

/** What of a started server can be written to stack.json. */
function withoutFunctions<T extends object>(v: T): { [K in keyof T]: T[K] } {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Stops everything the stack started and removes its state. */
export async function stackDown(): Promise<void> {
  const extra = existsSync(STACK_DIR)
    ? execFileSync('find', [STACK_DIR, '-maxdepth', '1', '-name', '*.pid'], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map((p) => p.replace(/^.*\//, '').replace(/\.pid$/, ''))
    : [];
  const names = [...new Set([...extra, ...PROCESS_NAMES()])];
  // Servers first, then the apiserver, then etcd.
  const order = (n: string) => (n === 'etcd' ? 2 : n === 'kube-apiserver' ? 1 : 0);
  names.sort((x, y) => order(x) - order(y));
  for (const n of names) await stopProcess(STACK_DIR, n);
  rmSync(STACK_DIR, { recursive: true, force: true });
}

/** Stops a process of the stack and starts it again with the same command line. */
export async function restartProcess(
  name: string,
  opts: { downMs?: number; signal?: NodeJS.Signals } = {},
): Promise<void> {
  const spec = readProcessSpec(STACK_DIR, name);
  await stopProcess(STACK_DIR, name, opts.signal ? { signal: opts.signal } : {});
  if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
  startProcess(STACK_DIR, spec);
}

export async function restartApiserver(opts: { downMs?: number } = {}): Promise<void> {
  const info = readStack();
  if (!info) throw new Error('The stack is not up');
  await restartProcess('kube-apiserver', opts);
  await waitApiserverReady(info.apiserverURL);
}

/**
 * Stops the stack's garbage collector (kube-controller-manager) until `startGarbageCollector`:
 * for tests that show what is left when only the operator acts.
 */
export async function stopGarbageCollector(): Promise<void> {
  await stopProcess(STACK_DIR, 'kube-controller-manager');
}

/** Starts the garbage collector again, with the command line it had, and waits until it runs. */
export async function startGarbageCollector(): Promise<void> {
  const info = readStack();
  if (!info) throw new Error('The stack is not up');
  if (!isAlive(readPid(STACK_DIR, 'kube-controller-manager'))) {
    startProcess(STACK_DIR, readProcessSpec(STACK_DIR, 'kube-controller-manager'));
  }
  await waitGarbageCollector(info.kubeconfig);
}
