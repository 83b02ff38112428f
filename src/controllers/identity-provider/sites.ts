/**
 * The sites an IdentityProvider governs and what to do on each: find them (every site of every
 * SiteReplicationGroup that references the provider), decide per site with a pure function
 * (in sync, write the configuration, wait for a restart, or give up), and carry the decision out
 * through the site's identity-configuration capability.
 */
import type { Site } from '../../api/common.js';
import type { IdpSiteStatus } from '../../api/identity-provider.js';
import {
  type SiteReplicationGroup,
  SiteReplicationGroupSpecSchema,
} from '../../api/site-replication-group.js';
import { errorMessage } from '../../runtime/logger.js';
import type {
  IdentityConfigOps,
  IdentityDeclaration,
  IdentitySpec,
  LiveIdentity,
} from '../../sites/identity.js';
import { SiteError, siteErrorReason } from '../../sites/site-error.js';
import { describeError } from '../../runtime/messages.js';

/** One site of one group that references the IdentityProvider. */
export interface SiteTarget {
  group: string;
  site: Site;
  /** Index in the group's spec.sites, for messages that name the field. */
  index: number;
}

/** The sites of every group in `namespace` that references `idp`, groups and sites sorted. */
export function targetsOf(
  groups: readonly SiteReplicationGroup[],
  namespace: string,
  idp: string,
): SiteTarget[] {
  const out: SiteTarget[] = [];
  const mine = groups
    .filter((g) => (g.metadata.namespace ?? '') === namespace && !g.metadata.deletionTimestamp)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  for (const g of mine) {
    const spec = SiteReplicationGroupSpecSchema.safeParse(g.spec);
    if (!spec.success || spec.data.identityProviderRef?.name !== idp) continue;
    spec.data.sites.forEach((site, index) => out.push({ group: g.metadata.name, site, index }));
  }
  return out;
}

export type SiteStep =
  | { kind: 'InSync' }
  | { kind: 'Apply'; why: 'Drift' | 'SecretChanged' }
  | { kind: 'AwaitRestart' }
  | { kind: 'EnvOverride'; vars: string[] };

export interface SiteFacts {
  declaredDigest: string;
  /** The declared digest in the status the previous pass wrote. */
  prevDeclaredDigest: string | undefined;
  liveDigest: string;
  envConflicts: readonly string[];
  /** `name/key@resourceVersion` of the Secret in use now. */
  secretVersion: string;
  prev: IdpSiteStatus | undefined;
  uptimeMs: number;
  nowMs: number;
}

/**
 * Has the site restarted since the operator wrote its configuration? Uptime comes in whole
 * seconds, so a restart within a second of the write cannot be told apart from none.
 */
export function restartedSince(appliedTime: string | undefined, f: SiteFacts): boolean {
  if (appliedTime === undefined) return true;
  const applied = Date.parse(appliedTime);
  return Number.isNaN(applied) || f.uptimeMs + 1000 < f.nowMs - applied;
}

/**
 * The step for one site. The live configuration is what the running server reports, so after
 * a write it shows the old values until a restart: a write whose restart has not happened yet
 * is waited for, not repeated. Secrets cannot be read back; they are written again when the
 * Secret changes. A site met for the first time with the declared configuration is adopted.
 */
export function decideSite(f: SiteFacts): SiteStep {
  if (f.envConflicts.length > 0) return { kind: 'EnvOverride', vars: [...f.envConflicts] };
  if (awaitingRestart(f)) return { kind: 'AwaitRestart' };
  if (f.liveDigest !== f.declaredDigest) return { kind: 'Apply', why: 'Drift' };
  const applied = f.prev?.secretVersion;
  return applied === undefined || applied === f.secretVersion
    ? { kind: 'InSync' }
    : { kind: 'Apply', why: 'SecretChanged' };
}

/** The operator wrote this very configuration and secret, and the site has not restarted. */
function awaitingRestart(f: SiteFacts): boolean {
  const prev = f.prev;
  if (prev?.restartRequired !== true) return false;
  if (f.prevDeclaredDigest !== f.declaredDigest || prev.secretVersion !== f.secretVersion) {
    return false;
  }
  // A write that changed the configuration shows in the live one once the site restarted.
  const tookEffect = prev.digest !== f.declaredDigest && f.liveDigest === f.declaredDigest;
  return !tookEffect && !restartedSince(prev.appliedTime, f);
}

/** What happened on one site in one pass: the input of the status and of the events. */
export interface SiteOutcome {
  group: string;
  site: string;
  configured: boolean;
  /** Digest of the live configuration, as read at the start of the pass. */
  digest?: string | undefined;
  /** Written, but waiting for a restart the operator may not do. */
  restartRequired: boolean;
  applied: boolean;
  restarted: boolean;
  error?: { reason: string; message: string } | undefined;
  secretVersion?: string | undefined;
  appliedTime?: string | undefined;
}

/**
 * At most `max` successful writes of the same configuration to one site per `windowMs`: a write
 * that never takes effect (the site keeps reporting something else after its restart) must not
 * turn into a restart loop. Refused writes do not count; they change nothing on the site.
 */
export class ApplyBudget {
  private readonly seen = new Map<string, { fingerprint: string; count: number; since: number }>();

  constructor(
    private readonly max = 3,
    private readonly windowMs = 600_000,
  ) {}

  allows(key: string, fingerprint: string, now: number): boolean {
    const e = this.seen.get(key);
    if (e?.fingerprint !== fingerprint || now - e.since > this.windowMs) return true;
    return e.count < this.max;
  }

  spend(key: string, fingerprint: string, now: number): void {
    const e = this.seen.get(key);
    if (e?.fingerprint !== fingerprint || now - e.since > this.windowMs) {
      this.seen.set(key, { fingerprint, count: 1, since: now });
    } else {
      e.count++;
    }
  }

  reset(key: string): void {
    this.seen.delete(key);
  }
}

export interface SiteRun {
  target: SiteTarget;
  spec: IdentitySpec;
  declared: IdentityDeclaration;
  secret: { value: string; version: string };
  prev: IdpSiteStatus | undefined;
  prevDeclaredDigest: string | undefined;
  allowRestart: boolean;
  now: Date;
  budget: ApplyBudget;
  signal: AbortSignal;
}

/** A site failure in words for a condition: reason by error kind, message without secrets. */
export function siteFailure(e: unknown, secret: string): { reason: string; message: string } {
  return { reason: siteErrorReason(e), message: redact(describeError(e), secret) };
}

function redact(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('***') : text;
}

function writeFailure(
  client: IdentityConfigOps,
  run: SiteRun,
  e: unknown,
): { reason: string; message: string } {
  run.signal.throwIfAborted();
  const secret = run.secret.value;
  if (e instanceof SiteError && e.status === 400) {
    const r = client.describeRejection(run.spec, errorMessage(e));
    return { reason: r.reason, message: redact(r.message, secret) };
  }
  if (e instanceof SiteError && e.kind === 'Timeout') {
    return {
      reason: 'IdentityConfigTimeout',
      message: redact(
        `${describeError(e)}; the site validates the configuration by contacting the identity provider: is it reachable from the site?`,
        secret,
      ),
    };
  }
  return siteFailure(e, secret);
}

const base = (run: SiteRun) => ({
  group: run.target.group,
  site: run.target.site.name,
  secretVersion: run.prev?.secretVersion,
  appliedTime: run.prev?.appliedTime,
});

/** Reads, decides and acts on one site. Never throws but when aborted: a failure is an outcome. */
export async function syncSite(client: IdentityConfigOps, run: SiteRun): Promise<SiteOutcome> {
  let live: LiveIdentity;
  let uptimeMs: number;
  try {
    [live, uptimeMs] = await Promise.all([
      client.read(run.spec, run.signal),
      client.uptimeSeconds(run.signal).then((s) => s * 1000),
    ]);
  } catch (e: unknown) {
    run.signal.throwIfAborted();
    return { ...base(run), ...idle, digest: run.prev?.digest, error: siteFailure(e, '') };
  }
  const facts: SiteFacts = {
    declaredDigest: run.declared.digest,
    prevDeclaredDigest: run.prevDeclaredDigest,
    liveDigest: live.digest,
    envConflicts: live.envConflicts,
    secretVersion: run.secret.version,
    prev: run.prev,
    uptimeMs,
    nowMs: run.now.getTime(),
  };
  const step = decideSite(facts);
  const out = { ...base(run), digest: live.digest };
  switch (step.kind) {
    case 'InSync':
      run.budget.reset(budgetKey(run));
      return { ...out, ...idle, configured: true, secretVersion: run.secret.version };
    case 'EnvOverride':
      return {
        ...out,
        ...idle,
        configured: live.digest === run.declared.digest,
        error: {
          reason: 'OverriddenByEnvironment',
          message: `environment variables on the site hold the identity configuration away from the declared one (the API cannot change them): ${step.vars.join(', ')}`,
        },
      };
    case 'AwaitRestart':
      return awaitRestart(client, run, out);
    case 'Apply':
      return apply(client, run, { ...out, stale: live.stale });
  }
}

const idle = { configured: false, restartRequired: false, applied: false, restarted: false };

function budgetKey(run: SiteRun): string {
  return run.target.site.endpoint;
}

async function awaitRestart(
  client: IdentityConfigOps,
  run: SiteRun,
  out: ReturnType<typeof base> & { digest: string },
): Promise<SiteOutcome> {
  if (!run.allowRestart) return { ...out, ...idle, restartRequired: true };
  try {
    await client.restart(run.signal);
    return { ...out, ...idle, restarted: true };
  } catch (e: unknown) {
    return { ...out, ...idle, restartRequired: true, error: restartFailure(run, e) };
  }
}

function restartFailure(run: SiteRun, e: unknown): { reason: string; message: string } {
  run.signal.throwIfAborted();
  return { reason: 'RestartFailed', message: `could not restart the site: ${describeError(e)}` };
}

async function apply(
  client: IdentityConfigOps,
  run: SiteRun,
  out: ReturnType<typeof base> & { digest: string; stale: readonly string[] },
): Promise<SiteOutcome> {
  const { stale, ...rest } = out;
  const fingerprint = `${run.declared.digest}/${run.secret.version}`;
  if (!run.budget.allows(budgetKey(run), fingerprint, run.now.getTime())) {
    return {
      ...rest,
      ...idle,
      error: {
        reason: 'ConfigNotEffective',
        message: `the declared configuration (${run.declared.digest}) was written and the site restarted, yet it still reports ${out.digest}; not writing it again for a while`,
      },
    };
  }
  let restartRequired: boolean;
  try {
    const written = await client.write(run.spec, run.secret.value, stale, run.signal);
    restartRequired = written.restartRequired;
  } catch (e: unknown) {
    return { ...rest, ...idle, error: writeFailure(client, run, e) };
  }
  run.budget.spend(budgetKey(run), fingerprint, run.now.getTime());
  const written = {
    ...rest,
    ...idle,
    applied: true,
    secretVersion: run.secret.version,
    appliedTime: run.now.toISOString(),
  };
  if (!restartRequired) return written;
  if (!run.allowRestart) return { ...written, restartRequired: true };
  try {
    await client.restart(run.signal);
    return { ...written, restarted: true };
  } catch (e: unknown) {
    return { ...written, restartRequired: true, error: restartFailure(run, e) };
  }
}
