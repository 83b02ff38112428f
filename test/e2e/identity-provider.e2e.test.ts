/**
 * IdentityProvider end to end: a real slapd and a real OpenID issuer, four throwaway MinIO
 * servers (two groups of two: MinIO runs LDAP or OpenID as a site's user directory, and with
 * LDAP on it refuses internal users, so the LDAP and OpenID cases get their own sites), the real
 * apiserver, and the controller running in this process (set up as main.ts sets it up: a Manager
 * and `setupIdentityProvider`). Every check goes to the sites themselves: logins through STS, S3 calls with the
 * temporary credentials, and get-config-kv; status is checked, never trusted.
 */
import { Writable } from 'node:stream';

import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';

import type { IdentityProvider } from '../../src/api/identity-provider.js';
import { IDP_RESOURCE } from '../../src/api/names.js';
import { setupIdentityProvider } from '../../src/controllers/identity-provider/setup.js';
import { identityMismatch } from '../../src/controllers/site-replication-group/identity-check.js';
import { newLogger } from '../../src/observe/logger.js';
import { findCondition } from '../../src/runtime/conditions.js';
import type { Controller } from '../../src/runtime/controller.js';
import type { Informer } from '../../src/runtime/informer.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import type { Logger } from '../../src/runtime/logger.js';
import { Manager } from '../../src/runtime/manager.js';
import { MinioAdminClient } from '../../src/sites/minio/admin/admin-client.js';
import { DEFAULT_TARGET } from '../../src/sites/minio/admin/config-kv.js';
import { liveIdentity, liveIdentityDigest } from '../../src/sites/minio/identity-config.js';
import { newSiteClient } from '../../src/sites/new-site-client.js';
import { MinioServiceAdmin } from '../../src/sites/minio/minio-service-admin.js';
import { eventually } from '../support/eventually.js';
import { type LdapServer, type OidcIssuer, startOidcIssuer, startSlapd } from '../support/idp.js';
import { applyCrds, createNamespace, kubeClient, mustKubectl } from '../support/kube.js';
import { startThrowawayMinio, type ThrowawayMinio } from '../support/minio.js';
import { s3For } from '../support/seed.js';
import { ensureCaSecret, siteSpec } from '../support/site-spec.js';
import { siteFetch } from '../support/stack.js';

type Cached<T> = T & { metadata: { name: string } };

let client: KubeClient;
let ns: string;
let ldap: LdapServer;
let ldap2: LdapServer;
let oidc: OidcIssuer;
const sites = new Map<string, ThrowawayMinio>();
const logLines: string[] = [];
const stop = new AbortController();
let running: Promise<unknown>;
let idps: Informer<Cached<IdentityProvider>>;
let controller: Controller<Cached<IdentityProvider>>;

const LDAP_SITES = ['l1', 'l2'];
const OIDC_SITES = ['o1', 'o2'];
const PROJECT_POLICY = 'projecta-rw';

const admin = (s: ThrowawayMinio) =>
  new MinioAdminClient({
    site: s.name,
    endpoint: s.endpoint,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    ca: s.ca,
  });

const service = (s: ThrowawayMinio) =>
  new MinioServiceAdmin({
    site: s.name,
    endpoint: s.endpoint,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    ca: s.ca,
  });

function site(name: string): ThrowawayMinio {
  const s = sites.get(name);
  if (!s) throw new Error(`no site ${name}`);
  return s;
}

async function apply(doc: object): Promise<void> {
  await mustKubectl(['apply', '-n', ns, '-f', '-'], stringify(doc));
}

function group(name: string, members: string[], idp: string) {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'SiteReplicationGroup',
    metadata: { name },
    spec: {
      identityProviderRef: { name: idp },
      sites: members.map((m) => siteSpec(m, site(m))),
    },
  };
}

function ldapProvider(bindDN: string) {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'IdentityProvider',
    metadata: { name: 'corp-ldap' },
    spec: {
      allowSiteRestart: true,
      ldap: {
        serverAddr: ldap.addr,
        lookupBindDN: bindDN,
        lookupBindPassword: { name: 'ldap-bind' },
        userDNSearchBaseDN: ldap.usersBaseDN,
        userDNSearchFilter: '(uid=%s)',
        groupSearchBaseDN: ldap.groupsBaseDN,
        groupSearchFilter: '(&(objectclass=groupOfNames)(member=%d))',
        tls: { insecure: true },
      },
    },
  };
}

function oidcProvider(configURL: string, allowSiteRestart: boolean) {
  return {
    apiVersion: 'sitesync.io/v1alpha1',
    kind: 'IdentityProvider',
    metadata: { name: 'corp-oidc' },
    spec: {
      allowSiteRestart,
      openid: {
        configURL,
        clientID: oidc.clientID,
        clientSecret: { name: 'oidc-client' },
        claimName: 'policy',
        scopes: ['openid', 'policy'],
      },
    },
  };
}

async function getIdp(name: string): Promise<IdentityProvider> {
  return client.get<IdentityProvider>(IDP_RESOURCE, ns, name);
}

function conditionOf(idp: IdentityProvider, type: string) {
  const c = findCondition(idp.status?.conditions, type);
  return { status: c?.status, reason: c?.reason, message: c?.message };
}

async function waitReady(name: string, timeoutMs = 60_000): Promise<IdentityProvider> {
  return eventually(
    async () => {
      const idp = await getIdp(name);
      expect(conditionOf(idp, 'Ready')).toMatchObject({ status: 'True', reason: 'Configured' });
      expect(idp.status?.observedGeneration).toBe(idp.metadata.generation);
      return idp;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

interface StsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

/** A plain, unsigned STS call, as a person's tool would make it; throws with the STS error. */
async function sts(endpoint: string, params: Record<string, string>): Promise<StsCredentials> {
  const query = new URLSearchParams({ ...params, Version: '2011-06-15' });
  const res = await siteFetch(`${endpoint}/?${query.toString()}`, { method: 'POST' });
  const body = await res.text();
  const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(body)?.[1];
  const creds = {
    accessKeyId: tag('AccessKeyId'),
    secretAccessKey: tag('SecretAccessKey'),
    sessionToken: tag('SessionToken'),
  };
  if (!res.ok || !creds.accessKeyId || !creds.secretAccessKey || !creds.sessionToken) {
    throw new Error(`STS ${params['Action'] ?? ''}: HTTP ${res.status} ${tag('Code') ?? ''}`);
  }
  return creds as StsCredentials;
}

const ldapLogin = (s: ThrowawayMinio, user: string, password: string) =>
  sts(s.endpoint, {
    Action: 'AssumeRoleWithLDAPIdentity',
    LDAPUsername: user,
    LDAPPassword: password,
  });

function s3With(s: ThrowawayMinio, creds?: StsCredentials): S3Client {
  return s3For(
    s,
    creds && {
      accessKey: creds.accessKeyId,
      secretKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    },
  );
}

/** 'ok' or the S3 error code of a call. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    const r = (await p) as { Body?: { transformToString(): Promise<string> } };
    await r.Body?.transformToString();
    return 'ok';
  } catch (e: unknown) {
    return (e as S3ServiceException).name;
  }
}

/** Both identity subsystems as the site's running server reports them. */
async function identityConfig(s: ThrowawayMinio) {
  const a = admin(s);
  try {
    const both = await Promise.all([
      a.getConfigKV('identity_ldap'),
      a.getConfigKV('identity_openid'),
    ]);
    return both.flatMap((x) => [...x.subsystems]);
  } finally {
    await a.close();
  }
}

const liveDigestOf = async (s: ThrowawayMinio) => liveIdentityDigest(await identityConfig(s));

/** Buckets and one object, written as root. */
async function seedBuckets(
  s: ThrowawayMinio,
  buckets: string[],
  object: { bucket: string; key: string },
) {
  const root = s3With(s);
  try {
    for (const b of buckets) await root.send(new CreateBucketCommand({ Bucket: b }));
    await root.send(new PutObjectCommand({ Bucket: object.bucket, Key: object.key, Body: 'x' }));
  } finally {
    root.destroy();
  }
}

/** A logger that keeps every line, to scan for secrets. */
function capturingLogger(): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  return newLogger('debug', sink);
}

beforeAll(async () => {
  client = kubeClient();
  await applyCrds();
  ns = await createNamespace('idp');
  await ensureCaSecret(ns, client);
  [ldap, ldap2, oidc] = await Promise.all([
    startSlapd('e2e-slapd'),
    startSlapd('e2e-slapd-other'),
    startOidcIssuer('e2e-oidc'),
  ]);
  const names = [...LDAP_SITES, ...OIDC_SITES];
  const started = await Promise.all(names.map((n) => startThrowawayMinio(`e2e-idp-${n}`)));
  names.forEach((n, i) => sites.set(n, started[i] as ThrowawayMinio));
  for (const n of names) {
    const s = site(n);
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${n}-credentials` },
      stringData: { accessKey: s.accessKey, secretKey: s.secretKey },
    });
  }
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'ldap-bind' },
    stringData: { password: ldap.adminPassword },
  });
  await apply({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'oidc-client' },
    stringData: { clientSecret: oidc.clientSecret },
  });
  await apply(group('ldap-group', LDAP_SITES, 'corp-ldap'));
  await apply(group('oidc-group', OIDC_SITES, 'corp-oidc'));

  const log = capturingLogger();
  // As main.ts sets it up: a Manager and `setupIdentityProvider`.
  const manager = new Manager({
    client,
    namespace: ns,
    log,
    controllers: { backoff: { baseMs: 500, maxMs: 5000 } },
  });
  controller = setupIdentityProvider(manager, {
    newSite: newSiteClient,
    syncIntervalMs: 2000,
    retryAfterMs: 2000,
    siteTimeoutMs: 10_000,
  });
  idps = manager.informer<Cached<IdentityProvider>>(IDP_RESOURCE);
  running = manager.run(stop.signal);
}, 120_000);

afterAll(async () => {
  stop.abort();
  await running;
  await Promise.all([...sites.values()].map((s) => s.stop()));
  await Promise.all([ldap.stop(), ldap2.stop(), oidc.stop()]);
});

describe('LDAP', () => {
  it('a bind DN the LDAP server refuses: Degraded, saying so for each site, nothing changed', async () => {
    await apply(ldapProvider(`cn=intruder,${ldap.baseDN}`));
    const idp = await eventually(
      async () => {
        const x = await getIdp('corp-ldap');
        expect(conditionOf(x, 'Degraded')).toMatchObject({
          status: 'True',
          reason: 'LDAPBindRefused',
        });
        return x;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const message = conditionOf(idp, 'Degraded').message ?? '';
    for (const s of LDAP_SITES) {
      expect(message).toContain(
        `ldap-group/${s}: the LDAP server ${ldap.addr} refused the lookup bind DN "cn=intruder,${ldap.baseDN}"`,
      );
    }
    expect(conditionOf(idp, 'Ready').status).toBe('False');
    expect(idp.status?.sitesConfigured).toBe('0/2');
    expect(idp.status?.sites?.map((s) => s.lastError?.split(':')[0])).toEqual([
      'LDAPBindRefused',
      'LDAPBindRefused',
    ]);
    // The sites refused the whole configuration: still no identity provider.
    for (const s of LDAP_SITES)
      expect(liveIdentity(await identityConfig(site(s))).ldap).toBeUndefined();
  });

  it('once fixed, every site is configured and restarted; the live digests are the declared one', async () => {
    await apply(ldapProvider(ldap.adminDN));
    const idp = await waitReady('corp-ldap', 60_000);
    expect(idp.status?.sitesConfigured).toBe('2/2');
    expect(conditionOf(idp, 'Degraded').status).toBe('False');
    for (const s of LDAP_SITES) {
      const st = idp.status?.sites?.find((x) => x.site === s);
      expect(st).toMatchObject({
        group: 'ldap-group',
        configured: true,
        digest: idp.status?.digest,
      });
      expect(await liveDigestOf(site(s))).toBe(idp.status?.digest);
    }
  });

  it('an LDAP user gets STS credentials on every site and may do exactly what its mapping allows', async () => {
    for (const name of LDAP_SITES) {
      const s = site(name);
      // The group controller mirrors IdP policy mappings; it is not running here, so set them.
      const a = admin(s);
      const svc = service(s);
      await a.addCannedPolicy(PROJECT_POLICY, {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:*'],
            Resource: ['arn:aws:s3:::projecta', 'arn:aws:s3:::projecta/*'],
          },
        ],
      });
      await svc.attachLDAPPolicies({ policies: [PROJECT_POLICY], group: ldap.groups.projecta.dn });
      await svc.attachLDAPPolicies({ policies: ['readonly'], user: ldap.users.alice.dn });
      const mappings = await svc.listLDAPPolicyEntities();
      expect(mappings.policyMappings).toEqual(
        expect.arrayContaining([
          { policy: PROJECT_POLICY, users: [], groups: [ldap.groups.projecta.dn] },
          { policy: 'readonly', users: [ldap.users.alice.dn], groups: [] },
        ]),
      );
      await Promise.all([a.close(), svc.close()]);
      await seedBuckets(s, ['projecta', 'other'], { bucket: 'projecta', key: 'seed' });

      // dillon (group projecta -> projecta-rw): everything in projecta, nothing elsewhere.
      const dillon = s3With(s, await ldapLogin(s, 'dillon', ldap.users.dillon.password));
      expect(
        await outcome(
          dillon.send(new PutObjectCommand({ Bucket: 'projecta', Key: 'd', Body: 'd' })),
        ),
      ).toBe('ok');
      expect(
        await outcome(dillon.send(new GetObjectCommand({ Bucket: 'projecta', Key: 'seed' }))),
      ).toBe('ok');
      expect(
        await outcome(dillon.send(new PutObjectCommand({ Bucket: 'other', Key: 'd', Body: 'd' }))),
      ).toBe('AccessDenied');
      dillon.destroy();
      // alice (user mapping readonly): reads, never writes.
      const alice = s3With(s, await ldapLogin(s, 'alice', ldap.users.alice.password));
      expect(
        await outcome(alice.send(new GetObjectCommand({ Bucket: 'projecta', Key: 'seed' }))),
      ).toBe('ok');
      expect(
        await outcome(
          alice.send(new PutObjectCommand({ Bucket: 'projecta', Key: 'a', Body: 'a' })),
        ),
      ).toBe('AccessDenied');
      alice.destroy();
      // bob has no mapping at all, and a wrong password is a wrong password.
      await expect(ldapLogin(s, 'bob', ldap.users.bob.password)).rejects.toThrow(/HTTP 400/);
      await expect(ldapLogin(s, 'dillon', 'not-the-password')).rejects.toThrow(/HTTP 400/);
    }
  });

  it('a site changed by hand to another LDAP server is detected and restored', async () => {
    const target = site('l2');
    const declared = (await getIdp('corp-ldap')).status?.digest;
    const a = admin(target);
    await a.setConfigKV(
      `identity_ldap server_addr=${ldap2.addr} server_insecure=on lookup_bind_dn="${ldap2.adminDN}" lookup_bind_password=${ldap2.adminPassword} user_dn_search_base_dn="${ldap2.usersBaseDN}" user_dn_search_filter="(uid=%s)"`,
    );
    await a.close();
    const since = logLines.length;
    await target.restart();
    // The controller finds l2's live configuration changed, rewrites it and restarts it.
    const rewritten = await eventually(
      () => {
        const line = logLines
          .slice(since)
          .map((l) => JSON.parse(l) as { msg?: string; site?: string; digest?: string })
          .find((l) => l.msg === 'Configured identity provider on site' && l.site === 'l2');
        expect(line?.digest).toBeDefined();
        return line;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    // The digest it read is the hand-made one; the group check names l2 as the odd one out.
    expect(rewritten?.digest).not.toBe(declared);
    const l1 = (await getIdp('corp-ldap')).status?.sites?.find((x) => x.site === 'l1')?.digest;
    expect(
      identityMismatch(
        [
          { name: 'l1', digest: l1 },
          { name: 'l2', digest: rewritten?.digest },
        ],
        declared,
      ),
    ).toEqual({
      reason: 'IdentityProviderMismatch',
      message: expect.stringMatching(
        /^site l2 has an identity provider configuration other than the declared one/,
      ) as unknown,
    });
    const idp = await waitReady('corp-ldap');
    expect(await liveDigestOf(target)).toBe(idp.status?.digest);
    // Restored for real: dillon logs in with the password of the declared directory.
    await eventually(() => ldapLogin(target, 'dillon', ldap.users.dillon.password), {
      timeoutMs: 20_000,
    });
    await expect(ldapLogin(target, 'dillon', ldap2.users.dillon.password)).rejects.toThrow();
  });
});

describe('OpenID Connect', () => {
  it('an issuer the sites cannot reach: Degraded, saying so for each site', async () => {
    const dead = 'http://127.0.0.1:1/.well-known/openid-configuration';
    await apply(oidcProvider(dead, false));
    const idp = await eventually(
      async () => {
        const x = await getIdp('corp-oidc');
        expect(conditionOf(x, 'Degraded')).toMatchObject({
          status: 'True',
          reason: 'IssuerUnreachable',
        });
        return x;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const s of OIDC_SITES) {
      expect(conditionOf(idp, 'Degraded').message).toContain(
        `oidc-group/${s}: the site cannot fetch the OpenID discovery document ${dead} (spec.openid.configURL)`,
      );
    }
  });

  it('without allowSiteRestart it says which sites need a restart; with it, they are configured', async () => {
    await apply(oidcProvider(oidc.configURL, false));
    const waiting = await eventually(
      async () => {
        const x = await getIdp('corp-oidc');
        expect(conditionOf(x, 'Stalled')).toMatchObject({
          status: 'True',
          reason: 'RestartRequired',
        });
        return x;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(conditionOf(waiting, 'Stalled').message).toBe(
      'oidc-group/o1 and oidc-group/o2 need a restart for the identity configuration to take effect: restart them, or set spec.allowSiteRestart to let the operator do it',
    );
    expect(conditionOf(waiting, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'RestartRequired',
    });
    expect(waiting.status?.sites?.every((s) => s.restartRequired === true && !s.configured)).toBe(
      true,
    );
    // Not restarted: the running servers still have no OpenID configuration.
    for (const s of OIDC_SITES)
      expect(await liveDigestOf(site(s))).not.toBe(waiting.status?.digest);

    await apply(oidcProvider(oidc.configURL, true));
    const idp = await waitReady('corp-oidc');
    expect(idp.status?.sitesConfigured).toBe('2/2');
  });

  it('the configuration is present and identical on every site', async () => {
    const idp = await getIdp('corp-oidc');
    const live = await Promise.all(OIDC_SITES.map((s) => identityConfig(site(s))));
    const views = live.map(liveIdentity);
    for (const view of views) {
      expect(view.ldap).toBeUndefined();
      expect(Object.keys(view.openid)).toEqual([DEFAULT_TARGET]);
      expect(view.openid[DEFAULT_TARGET]).toMatchObject({
        config_url: oidc.configURL,
        client_id: oidc.clientID,
        claim_name: 'policy',
        scopes: 'openid,policy',
      });
    }
    expect(views[1]).toEqual(views[0]);
    const digests = live.map((l, i) => ({
      name: OIDC_SITES[i] ?? '',
      digest: liveIdentityDigest(l),
    }));
    expect(digests.map((d) => d.digest)).toEqual([idp.status?.digest, idp.status?.digest]);
    expect(identityMismatch(digests, idp.status?.digest)).toBeUndefined();
  });

  it('a token from the issuer is accepted by each site (AssumeRoleWithWebIdentity)', async () => {
    const token = await oidc.mintToken({ sub: 'oidc-user', policy: 'readonly' });
    const foreign = await oidc.mintToken(
      { sub: 'oidc-user', policy: 'readonly' },
      { audience: 'someone-else' },
    );
    for (const name of OIDC_SITES) {
      const s = site(name);
      await seedBuckets(s, ['oidc-data'], { bucket: 'oidc-data', key: 'k' });
      const creds = await sts(s.endpoint, {
        Action: 'AssumeRoleWithWebIdentity',
        WebIdentityToken: token,
        DurationSeconds: '900',
      });
      const user = s3With(s, creds);
      expect(
        await outcome(user.send(new GetObjectCommand({ Bucket: 'oidc-data', Key: 'k' }))),
      ).toBe('ok');
      expect(
        await outcome(
          user.send(new PutObjectCommand({ Bucket: 'oidc-data', Key: 'w', Body: 'w' })),
        ),
      ).toBe('AccessDenied');
      user.destroy();
      await expect(
        sts(s.endpoint, { Action: 'AssumeRoleWithWebIdentity', WebIdentityToken: foreign }),
      ).rejects.toThrow(/HTTP 400/);
    }
  });
});

describe('secrets and deletion', () => {
  it('bind passwords and client secrets appear nowhere in status, events or logs', async () => {
    const secrets = [ldap.adminPassword, ldap2.adminPassword, oidc.clientSecret];
    const idps = await mustKubectl(['get', 'identityproviders', '-n', ns, '-o', 'json']);
    const events = await mustKubectl(['get', 'events', '-n', ns, '-o', 'json']);
    const groups = await mustKubectl(['get', 'sitereplicationgroups', '-n', ns, '-o', 'json']);
    const logs = logLines.join('');
    expect((JSON.parse(events) as { items: unknown[] }).items.length).toBeGreaterThan(0);
    expect(logs).toContain('Configured identity provider on site');
    for (const secret of secrets) {
      for (const [what, text] of Object.entries({ idps, events, groups, logs })) {
        expect({ what, found: text.includes(secret) }).toEqual({ what, found: false });
      }
    }
  });

  it('deleting an IdentityProvider leaves the sites as they are and breaks nothing', async () => {
    const since = logLines.length;
    await mustKubectl(['delete', 'identityprovider', 'corp-oidc', '-n', ns, '--wait=true']);
    // The group still names it; a change of the group requeues the providers of the namespace.
    await mustKubectl(['annotate', 'sitereplicationgroup', 'oidc-group', '-n', ns, 'touched=1']);
    await eventually(() => {
      expect(idps.get(`${ns}/corp-oidc`)).toBeUndefined();
    });
    await controller.idle();
    expect(logLines.slice(since).join('')).not.toContain('Reconcile failed');
    expect(conditionOf(await getIdp('corp-ldap'), 'Ready').status).toBe('True');
    for (const s of OIDC_SITES) {
      const view = liveIdentity(await identityConfig(site(s)));
      expect(view.openid[DEFAULT_TARGET]?.['client_id']).toBe(oidc.clientID);
    }
  });
});
