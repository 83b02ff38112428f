import { describe, expect, it } from '@jest/globals';

import { IdentityProviderSpecSchema, type IdpSiteStatus } from '../../api/identity-provider.js';
import type { SiteReplicationGroup } from '../../api/site-replication-group.js';
import {
  type IdentityConfigOps,
  type IdentitySpec,
  type LiveIdentity,
  declareIdentity,
} from '../../sites/identity.js';
// The fake site below keeps its configuration as MinIO does, with the driver's pure mapping.
import { type SubsysConfig, parseConfigKV } from '../../sites/minio/admin/config-kv.js';
import {
  conflictingEnv,
  declaredIdentity,
  describeRejection,
  liveIdentity,
  liveIdentityDigest,
  setConfigText,
  staleConfigKeys,
} from '../../sites/minio/identity-config.js';
import { SiteError } from '../../sites/site-error.js';
import {
  ApplyBudget,
  type SiteFacts,
  type SiteRun,
  decideSite,
  syncSite,
  targetsOf,
} from './sites.js';

const SECRET = 'bind-Pa55word-xyz';
const spec = IdentityProviderSpecSchema.parse({
  ldap: {
    serverAddr: '127.0.0.1:3389',
    lookupBindDN: 'cn=admin,dc=min,dc=io',
    lookupBindPassword: { name: 'bind' },
    userDNSearchBaseDN: 'ou=people,dc=min,dc=io',
    userDNSearchFilter: '(uid=%s)',
    tls: { insecure: true },
  },
});
const declared = declareIdentity(spec);
const D = declared.digest;
const OTHER = 'sha256:0000000000000000';
const NOW = Date.parse('2026-05-01T12:00:00Z');

const facts = (over: Partial<SiteFacts> = {}): SiteFacts => ({
  declaredDigest: D,
  prevDeclaredDigest: D,
  liveDigest: D,
  envConflicts: [],
  secretVersion: 'bind/password@7',
  prev: undefined,
  uptimeMs: 3_600_000,
  nowMs: NOW,
  ...over,
});

const prevSite = (over: Partial<IdpSiteStatus> = {}): IdpSiteStatus => ({
  group: 'g',
  site: 'a',
  configured: false,
  digest: OTHER,
  secretVersion: 'bind/password@7',
  ...over,
});

describe('decideSite', () => {
  it('adopts a site met for the first time with the declared configuration', () => {
    expect(decideSite(facts())).toEqual({ kind: 'InSync' });
  });

  it('writes when the live configuration differs', () => {
    expect(decideSite(facts({ liveDigest: OTHER }))).toEqual({ kind: 'Apply', why: 'Drift' });
  });

  it('writes again when the Secret changed, though the live configuration matches', () => {
    const prev = prevSite({ digest: D, configured: true, secretVersion: 'bind/password@6' });
    expect(decideSite(facts({ prev }))).toEqual({ kind: 'Apply', why: 'SecretChanged' });
  });

  it('waits for a restart after a write, instead of writing again', () => {
    const appliedTime = new Date(NOW - 60_000).toISOString();
    const prev = prevSite({ restartRequired: true, appliedTime });
    const f = facts({ prev, liveDigest: OTHER, uptimeMs: 7_200_000 });
    expect(decideSite(f)).toEqual({ kind: 'AwaitRestart' });
    // Restarted since (uptime shorter than the time since the write), still different: write.
    expect(decideSite({ ...f, uptimeMs: 10_000 })).toEqual({ kind: 'Apply', why: 'Drift' });
    // The spec changed meanwhile: write the new one.
    expect(decideSite({ ...f, prevDeclaredDigest: OTHER })).toEqual({
      kind: 'Apply',
      why: 'Drift',
    });
  });

  it('sees a restart in the live configuration once the written one shows', () => {
    const appliedTime = new Date(NOW - 60_000).toISOString();
    const prev = prevSite({ restartRequired: true, appliedTime, digest: OTHER });
    expect(decideSite(facts({ prev, uptimeMs: 7_200_000 }))).toEqual({ kind: 'InSync' });
  });

  it('waits for a restart after writing only a new secret (the live view cannot show it)', () => {
    const appliedTime = new Date(NOW - 60_000).toISOString();
    const prev = prevSite({ restartRequired: true, appliedTime, digest: D });
    expect(decideSite(facts({ prev, uptimeMs: 7_200_000 }))).toEqual({ kind: 'AwaitRestart' });
    expect(decideSite(facts({ prev, uptimeMs: 30_000 }))).toEqual({ kind: 'InSync' });
  });

  it('leaves a site whose environment overrides the configuration', () => {
    expect(decideSite(facts({ envConflicts: ['MINIO_IDENTITY_LDAP_SERVER_ADDR'] }))).toEqual({
      kind: 'EnvOverride',
      vars: ['MINIO_IDENTITY_LDAP_SERVER_ADDR'],
    });
  });
});

describe('targetsOf', () => {
  const group = (name: string, ns: string, idp: string | undefined, extra = {}) =>
    ({
      apiVersion: 'sitesync.io/v1alpha1',
      kind: 'SiteReplicationGroup',
      metadata: { name, namespace: ns, ...extra },
      spec: {
        ...(idp ? { identityProviderRef: { name: idp } } : {}),
        sites: ['x', 'y'].map((s) => ({
          name: `${name}-${s}`,
          endpoint: `http://127.0.0.1:9${s === 'x' ? 1 : 2}00`,
          credentialsSecret: { name: 'c' },
        })),
      },
    }) as SiteReplicationGroup;

  it('lists the sites of the groups of this namespace that reference the provider', () => {
    const t = targetsOf(
      [
        group('g2', 'ns', 'corp'),
        group('g1', 'ns', 'corp'),
        group('other-idp', 'ns', 'else'),
        group('no-idp', 'ns', undefined),
        group('other-ns', 'ns2', 'corp'),
        group('deleting', 'ns', 'corp', { deletionTimestamp: '2026-01-01T00:00:00Z' }),
      ],
      'ns',
      'corp',
    );
    expect(t.map((x) => `${x.group}/${x.site.name}#${x.index}`)).toEqual([
      'g1/g1-x#0',
      'g1/g1-y#1',
      'g2/g2-x#0',
      'g2/g2-y#1',
    ]);
  });
});

/** A MinIO-like site: writes go to the stored configuration, a restart makes them live. */
class FakeSite implements IdentityConfigOps {
  running: SubsysConfig[];
  stored: SubsysConfig[];
  uptime = 3600;
  restarts = 0;
  writes: string[] = [];
  failWrite: Error | undefined;
  failRestart: Error | undefined;

  constructor(text: string) {
    this.running = parseConfigKV(text);
    this.stored = this.running;
  }

  /** What get-config-kv answers: the running configuration without its secrets. */
  private get live(): SubsysConfig[] {
    return this.running.map((c) => ({
      ...c,
      values: Object.fromEntries(
        Object.entries(c.values).filter(([k]) => !/password|secret/.test(k)),
      ),
    }));
  }

  read(spec: IdentitySpec): Promise<LiveIdentity> {
    const d = declaredIdentity(spec);
    return Promise.resolve({
      digest: liveIdentityDigest(this.live),
      envConflicts: conflictingEnv(d, this.live),
      stale: staleConfigKeys(d, liveIdentity(this.live)),
    });
  }

  write(spec: IdentitySpec, secret: string, stale: readonly string[]) {
    if (this.failWrite) return Promise.reject(this.failWrite);
    const text = setConfigText(declaredIdentity(spec), secret);
    this.writes.push(text);
    const set = parseConfigKV(text);
    this.stored = [
      ...this.stored.filter(
        (c) => !set.some((s) => s.subsystem === c.subsystem) && !stale.includes(c.subsystem),
      ),
      ...set,
    ];
    return Promise.resolve({ restartRequired: true });
  }

  describeRejection(spec: IdentitySpec, message: string) {
    return describeRejection(declaredIdentity(spec), message);
  }

  uptimeSeconds() {
    return Promise.resolve(this.uptime);
  }

  restart() {
    if (this.failRestart) return Promise.reject(this.failRestart);
    this.restarts++;
    this.running = this.stored;
    this.uptime = 0;
    return Promise.resolve();
  }
}

const OPENID_ON =
  'identity_openid config_url=https://idp.example/.well-known/openid-configuration client_id=x claim_name=policy\n';

const run = (over: Partial<SiteRun> = {}): SiteRun => ({
  target: {
    group: 'g',
    index: 0,
    site: {
      name: 'a',
      endpoint: 'http://127.0.0.1:9000',
      flavor: 'minio',
      region: 'us-east-1',
      credentialsSecret: { name: 'c', accessKeyKey: 'accessKey', secretKeyKey: 'secretKey' },
    },
  },
  spec,
  declared,
  secret: { value: SECRET, version: 'bind/password@7' },
  prev: undefined,
  prevDeclaredDigest: undefined,
  allowRestart: false,
  now: new Date(NOW),
  budget: new ApplyBudget(),
  signal: new AbortController().signal,
  ...over,
});

describe('syncSite', () => {
  it('writes the declared configuration, removes the other IdP, and waits for a restart', async () => {
    const site = new FakeSite(OPENID_ON);
    const out = await syncSite(site, run());
    expect(out).toMatchObject({
      configured: false,
      applied: true,
      restarted: false,
      restartRequired: true,
      secretVersion: 'bind/password@7',
      appliedTime: new Date(NOW).toISOString(),
    });
    expect(out.error).toBeUndefined();
    expect(site.writes[0]).toContain(`lookup_bind_password=${SECRET}`);
    expect(site.stored.map((c) => c.subsystem)).toEqual(['identity_ldap']);
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });

  it('restarts when allowed, and reports the site configured on the next pass', async () => {
    const site = new FakeSite(OPENID_ON);
    const budget = new ApplyBudget();
    const first = await syncSite(site, run({ allowRestart: true, budget }));
    expect(first).toMatchObject({ applied: true, restarted: true, restartRequired: false });
    expect(site.restarts).toBe(1);
    const prev = { ...first, restartRequired: undefined } as unknown as IdpSiteStatus;
    const later = new Date(NOW + 5000);
    const second = await syncSite(site, run({ prev, prevDeclaredDigest: D, now: later, budget }));
    expect(second).toMatchObject({ configured: true, applied: false, restarted: false });
    expect(second.digest).toBe(D);
    expect(site.writes).toHaveLength(1);
  });

  it('restarts a site left waiting once the provider allows it', async () => {
    const site = new FakeSite(OPENID_ON);
    const first = await syncSite(site, run());
    const prev = { ...first, restartRequired: true } as unknown as IdpSiteStatus;
    const waiting = await syncSite(site, run({ prev, prevDeclaredDigest: D }));
    expect(waiting).toMatchObject({ applied: false, restartRequired: true });
    expect(site.writes).toHaveLength(1);
    const restarted = await syncSite(
      site,
      run({ prev, prevDeclaredDigest: D, allowRestart: true }),
    );
    expect(restarted).toMatchObject({ restarted: true, restartRequired: false });
  });

  it('reports a refused bind DN per site, without the secret', async () => {
    const site = new FakeSite(OPENID_ON);
    site.failWrite = new SiteError(
      'a',
      'setConfigKV',
      'Invalid',
      `PUT /minio/admin/v3/set-config-kv: HTTP 400 XMinioAdminConfigBadJSON: LDAP Lookup Bind Error: bad password ${SECRET}: LDAP Result Code 49 "Invalid Credentials"`,
      { status: 400, code: 'XMinioAdminConfigBadJSON' },
    );
    const out = await syncSite(site, run());
    expect(out.error?.reason).toBe('LDAPBindRefused');
    expect(out.error?.message).toContain('refused the lookup bind DN "cn=admin,dc=min,dc=io"');
    expect(JSON.stringify(out)).not.toContain(SECRET);
    expect(out).toMatchObject({ applied: false, configured: false });
  });

  it('reports a site it cannot read as unreachable', async () => {
    const site = new FakeSite(OPENID_ON);
    site.read = () =>
      Promise.reject(new SiteError('a', 'getConfigKV', 'Unreachable', 'cannot reach it'));
    const out = await syncSite(site, run());
    expect(out.error?.reason).toBe('SiteUnreachable');
  });

  it('keeps reporting a refused write, which spends no write budget', async () => {
    const site = new FakeSite(OPENID_ON);
    site.failWrite = new SiteError(
      'a',
      'setConfigKV',
      'Invalid',
      'HTTP 400 X: Invalid Credentials',
      {
        status: 400,
      },
    );
    const budget = new ApplyBudget(3, 600_000);
    for (let i = 0; i < 5; i++) {
      expect((await syncSite(site, run({ budget }))).error?.reason).toBe('LDAPBindRefused');
    }
  });

  it('gives up after three writes that never take effect', async () => {
    const site = new FakeSite(OPENID_ON);
    site.restart = () => Promise.resolve(); // a restart that changes nothing
    const budget = new ApplyBudget(3, 600_000);
    const outs = [];
    for (let i = 0; i < 4; i++) {
      outs.push(await syncSite(site, run({ allowRestart: true, budget })));
    }
    expect(outs.slice(0, 3).every((o) => o.applied)).toBe(true);
    expect(outs[3]?.error?.reason).toBe('ConfigNotEffective');
    expect(site.writes).toHaveLength(3);
  });
});
