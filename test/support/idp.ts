/**
 * Real identity providers on loopback for the tests: a private OpenLDAP `slapd` (Debian) with a
 * small seeded directory, and an OpenID Connect issuer (npm `oidc-provider`) whose signing key
 * the test also holds, so it can mint the JWTs MinIO's AssumeRoleWithWebIdentity wants. Both run
 * as detached processes recorded under STACK_DIR like the rest of the stack (pid files, logs),
 * so `make stack-up` can start them too.
 *
 * The issuer runs this very file through tsx: `idp.ts oidc-issuer <dir>`.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { requireCommand } from './prerequisites.js';
import { startProcess, stopProcess, waitFor } from './processes.js';
import { freePort, REPO_ROOT, STACK_DIR } from './stack.js';

// ---------------------------------------------------------------------------------------------
// LDAP

export const LDAP_BASE_DN = 'dc=min,dc=io';
export const LDAP_ADMIN_DN = `cn=admin,${LDAP_BASE_DN}`;

export interface LdapUser {
  uid: string;
  dn: string;
  password: string;
}

export interface LdapGroup {
  cn: string;
  dn: string;
  members: string[];
}

export type LdapUserName = 'dillon' | 'alice' | 'bob';
export type LdapGroupName = 'projecta' | 'projectb';

export interface LdapServer {
  /** Process name under STACK_DIR. */
  process: string;
  /** `127.0.0.1:<port>`, as MinIO's `server_addr` takes it. */
  addr: string;
  url: string;
  baseDN: string;
  adminDN: string;
  adminPassword: string;
  usersBaseDN: string;
  groupsBaseDN: string;
  users: Record<LdapUserName, LdapUser>;
  groups: Record<LdapGroupName, LdapGroup>;
  stop(): Promise<void>;
}

const SLAPD_CANDIDATES = ['/usr/sbin/slapd', '/usr/local/sbin/slapd'];
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

/** slapd, or an error saying how to install it (Debian's slapd; ldapwhoami from ldap-utils). */
export function requireSlapd(): string {
  requireCommand('ldap-utils', 'ldapwhoami');
  return requireCommand('slapd', ...SLAPD_CANDIDATES);
}

function slapdConf(dir: string, adminPassword: string): string {
  return [
    ...SCHEMAS.map((s) => `include /etc/ldap/schema/${s}.schema`),
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    'database mdb',
    'maxsize 104857600',
    `suffix "${LDAP_BASE_DN}"`,
    `rootdn "${LDAP_ADMIN_DN}"`,
    `rootpw ${adminPassword}`,
    `directory ${join(dir, 'data')}`,
    'index objectClass eq',
    '',
  ].join('\n');
}

function directory(): {
  users: Record<LdapUserName, LdapUser>;
  groups: Record<LdapGroupName, LdapGroup>;
} {
  const people = `ou=people,${LDAP_BASE_DN}`;
  const swengg = `ou=swengg,${LDAP_BASE_DN}`;
  const user = (uid: string): LdapUser => ({
    uid,
    dn: `uid=${uid},${people}`,
    password: `${uid}-${randomBytes(6).toString('hex')}`,
  });
  const users = { dillon: user('dillon'), alice: user('alice'), bob: user('bob') };
  const group = (cn: string, members: LdapUser[]): LdapGroup => ({
    cn,
    dn: `cn=${cn},${swengg}`,
    members: members.map((m) => m.dn),
  });
  return {
    users,
    groups: {
      projecta: group('projecta', [users.dillon]),
      projectb: group('projectb', [users.bob]),
    },
  };
}

function seedLdif(dir: ReturnType<typeof directory>): string {
  const entries = [
    [
      `dn: ${LDAP_BASE_DN}`,
      'objectClass: dcObject',
      'objectClass: organization',
      'dc: min',
      'o: MinIO test',
    ],
    [`dn: ou=people,${LDAP_BASE_DN}`, 'objectClass: organizationalUnit', 'ou: people'],
    [`dn: ou=swengg,${LDAP_BASE_DN}`, 'objectClass: organizationalUnit', 'ou: swengg'],
    ...Object.values(dir.users).map((u) => [
      `dn: ${u.dn}`,
      'objectClass: inetOrgPerson',
      `uid: ${u.uid}`,
      `cn: ${u.uid}`,
      `sn: ${u.uid}`,
      `userPassword: ${u.password}`,
    ]),
    ...Object.values(dir.groups).map((g) => [
      `dn: ${g.dn}`,
      'objectClass: groupOfNames',
      `cn: ${g.cn}`,
      ...g.members.map((m) => `member: ${m}`),
    ]),
  ];
  return entries.map((e) => e.join('\n')).join('\n\n') + '\n';
}

/** `prefix-<random>`, or `prefix` itself for the stack's own long-lived instances. */
function processName(prefix: string, opts: StartOptions): string {
  return opts.fixedName ? prefix : `${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface StartOptions {
  /** Use the prefix as the process name (one instance, e.g. the stack's). */
  fixedName?: boolean;
}

/**
 * Starts a private slapd on a free loopback port with a seeded directory: users dillon, alice,
 * bob under ou=people; groups projecta (dillon) and projectb (bob) under ou=swengg. Loaded with
 * slapadd before the server starts, so it is ready as soon as it answers.
 */
export async function startSlapd(prefix = 'slapd', opts: StartOptions = {}): Promise<LdapServer> {
  const slapd = requireSlapd();
  const name = processName(prefix, opts);
  const dir = join(STACK_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  const adminPassword = randomBytes(12).toString('hex');
  const conf = join(dir, 'slapd.conf');
  writeFileSync(conf, slapdConf(dir, adminPassword), { mode: 0o600 });
  const dirData = directory();
  writeFileSync(join(dir, 'seed.ldif'), seedLdif(dirData), { mode: 0o600 });
  execFileSync(slapd.replace(/slapd$/, 'slapadd'), ['-f', conf, '-l', join(dir, 'seed.ldif')], {
    stdio: 'pipe',
  });
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  startProcess(STACK_DIR, {
    name,
    command: slapd,
    args: ['-f', conf, '-h', `${url}/`, '-d', '0'],
  });
  await waitFor(`slapd at ${url}`, () => ldapAnswers(url, LDAP_ADMIN_DN, adminPassword), {
    timeoutMs: 20_000,
  });
  return {
    process: name,
    addr: `127.0.0.1:${port}`,
    url,
    baseDN: LDAP_BASE_DN,
    adminDN: LDAP_ADMIN_DN,
    adminPassword,
    usersBaseDN: `ou=people,${LDAP_BASE_DN}`,
    groupsBaseDN: `ou=swengg,${LDAP_BASE_DN}`,
    ...dirData,
    stop: () => stopAndForget(name),
  };
}

/** Stops the process and removes its state directory (its data holds the passwords). */
async function stopAndForget(name: string): Promise<void> {
  await stopProcess(STACK_DIR, name);
  rmSync(join(STACK_DIR, name), { recursive: true, force: true });
}

/** True when a simple bind as `dn` succeeds (ldapwhoami from ldap-utils). */
function ldapAnswers(url: string, dn: string, password: string): Promise<boolean> {
  try {
    execFileSync('ldapwhoami', ['-x', '-H', url, '-D', dn, '-w', password], { stdio: 'pipe' });
    return Promise.resolve(true);
  } catch {
    return Promise.resolve(false);
  }
}

// ---------------------------------------------------------------------------------------------
// OpenID Connect

interface IssuerConfig {
  port: number;
  issuer: string;
  clientID: string;
  clientSecret: string;
  /** The RS256 private key as a JWK, with kid/alg/use. */
  jwk: Record<string, unknown>;
}

export interface MintOptions {
  ttlSeconds?: number;
  audience?: string;
}

export interface OidcIssuer {
  process: string;
  issuer: string;
  /** The discovery document, what MinIO's `config_url` takes. */
  configURL: string;
  clientID: string;
  clientSecret: string;
  /** Signs a JWT with the issuer's key: iss, aud (default the client ID), iat, exp, `claims`. */
  mintToken(claims: Record<string, unknown>, opts?: MintOptions): Promise<string>;
  stop(): Promise<void>;
}

const THIS_FILE = fileURLToPath(import.meta.url);
// Computed when used: stack.ts may import this module while it is itself being loaded.
const tsxCli = () => join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/**
 * Starts an OpenID Connect issuer (npm oidc-provider) on a free loopback port, in its own
 * process. Its one client has the client-credentials grant; its RS256 key is shared with the
 * test through the state directory so tokens can be minted for STS.
 */
export async function startOidcIssuer(
  prefix = 'oidc',
  opts: StartOptions = {},
): Promise<OidcIssuer> {
  const name = processName(prefix, opts);
  const dir = join(STACK_DIR, name);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cfg: IssuerConfig = {
    port,
    issuer: `http://127.0.0.1:${port}`,
    clientID: 'sitesync-test',
    clientSecret: randomBytes(18).toString('base64url'),
    jwk: {
      ...privateKey.export({ format: 'jwk' }),
      kid: randomBytes(6).toString('hex'),
      alg: 'RS256',
      use: 'sig',
    },
  };
  writeFileSync(join(dir, 'issuer.json'), JSON.stringify(cfg), { mode: 0o600 });
  startProcess(STACK_DIR, {
    name,
    command: process.execPath,
    args: [tsxCli(), THIS_FILE, 'oidc-issuer', dir],
  });
  const issuer = issuerOf(name, cfg);
  await waitFor(
    `the OIDC issuer at ${cfg.issuer}`,
    async () => (await fetch(issuer.configURL)).ok,
    {
      timeoutMs: 30_000,
    },
  );
  return issuer;
}

function issuerOf(name: string, cfg: IssuerConfig): OidcIssuer {
  return {
    process: name,
    issuer: cfg.issuer,
    configURL: `${cfg.issuer}/.well-known/openid-configuration`,
    clientID: cfg.clientID,
    clientSecret: cfg.clientSecret,
    mintToken: (claims, opts) => mintToken(cfg, claims, opts),
    stop: () => stopAndForget(name),
  };
}

/** The issuer a process under STACK_DIR runs (e.g. the stack's `oidc`), to mint its tokens. */
export function attachOidcIssuer(name: string): OidcIssuer {
  const cfg = JSON.parse(
    readFileSync(join(STACK_DIR, name, 'issuer.json'), 'utf8'),
  ) as IssuerConfig;
  return issuerOf(name, cfg);
}

async function mintToken(
  cfg: IssuerConfig,
  claims: Record<string, unknown>,
  opts: MintOptions = {},
): Promise<string> {
  const { SignJWT, importJWK } = await import('jose');
  const key = await importJWK(cfg.jwk, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: String(cfg.jwk['kid']), typ: 'JWT' })
    .setIssuer(cfg.issuer)
    .setAudience(opts.audience ?? cfg.clientID)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.ttlSeconds ?? 600))
    .sign(key);
}

type ProviderClass = new (
  issuer: string,
  config: Record<string, unknown>,
) => { listen(port: number, host: string): unknown };

/** The issuer process: oidc-provider with one client, listening on loopback. */
async function runIssuer(dir: string): Promise<void> {
  const cfg = JSON.parse(readFileSync(join(dir, 'issuer.json'), 'utf8')) as IssuerConfig;
  // oidc-provider ships no type declarations; this is the part of its API used here.
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: ProviderClass };
  const provider = new Provider(cfg.issuer, {
    jwks: { keys: [cfg.jwk] },
    clients: [
      {
        client_id: cfg.clientID,
        client_secret: cfg.clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
    ],
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    claims: { openid: ['sub'], policy: ['policy'] },
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub }),
    }),
  });
  provider.listen(cfg.port, '127.0.0.1');
}

if (process.argv[1] === THIS_FILE && process.argv[2] === 'oidc-issuer') {
  const dir = process.argv[3];
  if (!dir) throw new Error('usage: idp.ts oidc-issuer <dir>');
  runIssuer(dir).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
