import { describe, expect, it } from '@jest/globals';

import { findCondition } from '../../runtime/conditions.js';
import type { SiteOutcome } from './sites.js';
import { stalledStatus } from '../../runtime/kstatus.js';
import { deriveIdpStatus } from './status.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const D = 'sha256:1111111111111111';

const site = (name: string, over: Partial<SiteOutcome> = {}): SiteOutcome => ({
  group: 'g',
  site: name,
  configured: true,
  digest: D,
  restartRequired: false,
  applied: false,
  restarted: false,
  ...over,
});

const conditions = (sites: SiteOutcome[]) => {
  const s = deriveIdpStatus(undefined, { generation: 3, declaredDigest: D, sites }, NOW);
  const c = (t: string) => {
    const x = findCondition(s.conditions, t);
    return `${x?.status ?? ''} ${x?.reason ?? ''}`;
  };
  return {
    s,
    ready: c('Ready'),
    reconciling: c('Reconciling'),
    degraded: c('Degraded'),
    stalled: c('Stalled'),
  };
};

describe('deriveIdpStatus', () => {
  it('is Ready when every site is configured, with per-site digests and n/m', () => {
    const { s, ready, degraded, stalled, reconciling } = conditions([site('b'), site('a')]);
    expect([ready, reconciling, degraded, stalled]).toEqual([
      'True Configured',
      'False Idle',
      'False AsExpected',
      'False AsExpected',
    ]);
    expect(s.sitesConfigured).toBe('2/2');
    expect(s.digest).toBe(D);
    expect(s.observedGeneration).toBe(3);
    expect(s.sites?.map((x) => x.site)).toEqual(['a', 'b']);
  });

  it('is Ready with no site at all, saying nothing references it', () => {
    const { s, ready } = conditions([]);
    expect(ready).toBe('True NoSites');
    expect(s.sitesConfigured).toBe('0/0');
  });

  it('says which sites need a restart the operator may not do (Stalled, RestartRequired)', () => {
    const { s, ready, stalled } = conditions([
      site('a', { configured: false, restartRequired: true }),
      site('b', { configured: false, restartRequired: true }),
      site('c'),
    ]);
    expect(ready).toBe('False RestartRequired');
    expect(stalled).toBe('True RestartRequired');
    expect(findCondition(s.conditions, 'Stalled')?.message).toBe(
      'g/a and g/b need a restart for the identity configuration to take effect: restart them, or set spec.allowSiteRestart to let the operator do it',
    );
    expect(s.sites?.[0]?.restartRequired).toBe(true);
    expect(s.sitesConfigured).toBe('1/3');
  });

  it('is Reconciling while it writes and restarts', () => {
    const { s, ready, reconciling } = conditions([
      site('a', { configured: false, applied: true, restarted: true }),
    ]);
    expect(reconciling).toBe('True SiteRestarting');
    expect(ready).toBe('False SiteRestarting');
    expect(findCondition(s.conditions, 'Reconciling')?.message).toBe(
      'Wrote the identity configuration to g/a; restarted g/a; verifying',
    );
  });

  it('is Degraded per site, bad input first, naming each site', () => {
    const { s, ready, degraded } = conditions([
      site('a', { error: { reason: 'SiteUnreachable', message: 'cannot reach it' } }),
      site('b', {
        configured: false,
        error: { reason: 'LDAPBindRefused', message: 'the LDAP server x refused the bind DN' },
      }),
    ]);
    expect(degraded).toBe('True LDAPBindRefused');
    expect(ready).toBe('False LDAPBindRefused');
    expect(findCondition(s.conditions, 'Degraded')?.message).toBe(
      'g/b: the LDAP server x refused the bind DN; g/a: cannot reach it',
    );
    expect(s.sites?.find((x) => x.site === 'b')?.lastError).toBe(
      'LDAPBindRefused: the LDAP server x refused the bind DN',
    );
  });

  it('keeps lastTransitionTime while a condition keeps its status', () => {
    const first = deriveIdpStatus(
      undefined,
      { generation: 1, declaredDigest: D, sites: [site('a')] },
      NOW,
    );
    const later = new Date(NOW.getTime() + 60_000);
    const second = deriveIdpStatus(
      first,
      { generation: 1, declaredDigest: D, sites: [site('a')] },
      later,
    );
    expect(findCondition(second.conditions, 'Ready')?.lastTransitionTime).toBe(
      '2026-05-01T12:00:00Z',
    );
  });
});

describe('stalledStatus of a provider', () => {
  it('is Stalled with the reason and keeps the sites last reported', () => {
    const prev = deriveIdpStatus(
      undefined,
      { generation: 1, declaredDigest: D, sites: [site('a')] },
      NOW,
    );
    const s = stalledStatus(
      prev,
      2,
      { reason: 'SecretNotFound', message: 'spec.ldap.lookupBindPassword: Secret x not found' },
      NOW,
    );
    expect(findCondition(s.conditions, 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'SecretNotFound',
    });
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SecretNotFound',
    });
    expect(s.sites).toEqual(prev.sites);
    expect(s.observedGeneration).toBe(2);
  });
});
