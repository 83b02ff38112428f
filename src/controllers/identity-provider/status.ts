/**
 * The status of an IdentityProvider, derived by a pure function from what one reconcile saw and
 * did on every site. Conditions follow kstatus: Reconciling and Stalled are abnormal-true.
 * A site waiting for a restart the operator may not do is `Stalled`, reason `RestartRequired`
 * (a person has to act); a site that refused the configuration or cannot be reached makes the
 * provider `Degraded`, naming the site and what it could not do.
 */
import type { IdentityProviderStatus, IdpSiteStatus } from '../../api/identity-provider.js';
import { type ConditionInput, setConditions } from '../../runtime/conditions.js';
import { AS_EXPECTED, type Why, cond } from '../../runtime/kstatus.js';
import type { SiteOutcome } from './sites.js';
import { MAX_PART_MESSAGE, bounded, joinBounded } from '../../runtime/messages.js';

export interface IdpOutcome {
  generation: number;
  declaredDigest: string;
  sites: readonly SiteOutcome[];
}

/** Reasons that say the declared configuration itself is wrong, reported first. */
const INPUT_REASONS = [
  'LDAPBindRefused',
  'LDAPServerUnreachable',
  'IssuerUnreachable',
  'IdentityConfigTimeout',
  'IdentityConfigRejected',
  'OverriddenByEnvironment',
  'ConflictingIdentityProviders',
  'ConfigNotEffective',
];

const severity = (reason: string) => {
  const i = INPUT_REASONS.indexOf(reason);
  return i < 0 ? INPUT_REASONS.length : i;
};

const siteName = (s: { group: string; site: string }) => `${s.group}/${s.site}`;

function names(list: readonly string[]): string {
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1] ?? ''}`;
}

function degradedWhy(sites: readonly SiteOutcome[]): Why | undefined {
  const failing = sites
    .filter((s) => s.error !== undefined)
    .sort((a, b) => severity(a.error?.reason ?? '') - severity(b.error?.reason ?? ''));
  const first = failing[0]?.error;
  if (!first) return undefined;
  return {
    reason: first.reason,
    message: joinBounded(failing.map((s) => `${siteName(s)}: ${s.error?.message ?? ''}`)),
  };
}

function restartWhy(sites: readonly SiteOutcome[]): Why | undefined {
  const waiting = sites.filter((s) => s.restartRequired).map(siteName);
  if (waiting.length === 0) return undefined;
  const verb = waiting.length === 1 ? 'needs' : 'need';
  return {
    reason: 'RestartRequired',
    message: `${names(waiting)} ${verb} a restart for the identity configuration to take effect: restart ${waiting.length === 1 ? 'it' : 'them'}, or set spec.allowSiteRestart to let the operator do it`,
  };
}

function progressWhy(sites: readonly SiteOutcome[]): Why | undefined {
  const written = sites.filter((s) => s.applied).map(siteName);
  const restarted = sites.filter((s) => s.restarted).map(siteName);
  if (written.length === 0 && restarted.length === 0) return undefined;
  const parts = [
    ...(written.length > 0 ? [`wrote the identity configuration to ${names(written)}`] : []),
    ...(restarted.length > 0 ? [`restarted ${names(restarted)}`] : []),
  ];
  const text = parts.join('; ');
  return {
    reason: restarted.length > 0 ? 'SiteRestarting' : 'Progressing',
    message: `${text.charAt(0).toUpperCase()}${text.slice(1)}; verifying`,
  };
}

function readyWhy(o: IdpOutcome, blocked: Why | undefined): Why {
  if (blocked) return blocked;
  const pending = o.sites.filter((s) => !s.configured).map(siteName);
  if (pending.length > 0) {
    return { reason: 'NotConfigured', message: `Not configured yet: ${names(pending)}` };
  }
  if (o.sites.length === 0) {
    return {
      reason: 'NoSites',
      message: 'No SiteReplicationGroup in this namespace references this IdentityProvider',
    };
  }
  return { reason: 'Configured', message: `${o.sites.length} sites configured` };
}

function conditionsOf(o: IdpOutcome): ConditionInput[] {
  const g = o.generation;
  const degraded = degradedWhy(o.sites);
  const stalled = restartWhy(o.sites);
  const progressing = progressWhy(o.sites);
  const ready = readyWhy(o, degraded ?? stalled ?? progressing);
  const isReady = ready.reason === 'Configured' || ready.reason === 'NoSites';
  return [
    cond('Ready', isReady, ready, g),
    cond(
      'Reconciling',
      progressing !== undefined,
      progressing ?? { reason: 'Idle', message: '' },
      g,
    ),
    cond('Degraded', degraded !== undefined, degraded ?? AS_EXPECTED, g),
    cond('Stalled', stalled !== undefined, stalled ?? AS_EXPECTED, g),
  ];
}

function siteStatus(s: SiteOutcome): IdpSiteStatus {
  return {
    group: s.group,
    site: s.site,
    configured: s.configured,
    ...(s.digest === undefined ? {} : { digest: s.digest }),
    ...(s.restartRequired ? { restartRequired: true } : {}),
    ...(s.error
      ? { lastError: bounded(`${s.error.reason}: ${s.error.message}`, MAX_PART_MESSAGE) }
      : {}),
    ...(s.secretVersion === undefined ? {} : { secretVersion: s.secretVersion }),
    ...(s.appliedTime === undefined ? {} : { appliedTime: s.appliedTime }),
  };
}

export function deriveIdpStatus(
  prev: IdentityProviderStatus | undefined,
  o: IdpOutcome,
  now: Date,
): IdentityProviderStatus {
  const sites = [...o.sites].sort((a, b) =>
    siteName(a) < siteName(b) ? -1 : siteName(a) > siteName(b) ? 1 : 0,
  );
  return {
    observedGeneration: o.generation,
    conditions: setConditions(prev?.conditions, conditionsOf(o), now),
    digest: o.declaredDigest,
    sites: sites.map(siteStatus),
    sitesConfigured: `${sites.filter((s) => s.configured).length}/${sites.length}`,
  };
}
