/**
 * The IdentityProvider reconciler: one external IdP configured on every site of every
 * SiteReplicationGroup that references it, verified by the digest of each site's live
 * configuration (secrets never part of it).
 * load -> validate -> read the Secret -> find the sites -> per site: read, decide, write,
 * restart if allowed -> write status and events. Every call outside runs under the reconcile's
 * signal: once it aborts the pass writes nothing more.
 *
 * No finalizer: deleting an IdentityProvider leaves the sites configured as they are (removing
 * an identity provider from a live site would lock its users out and needs a restart).
 */
import { checkSpec } from '../../api/common.js';
import {
  IDP_SPEC_RULES,
  type IdentityProvider,
  type IdentityProviderSpec,
  IdentityProviderSpecSchema,
  type IdentityProviderStatus,
  type IdpSiteStatus,
} from '../../api/identity-provider.js';
import { IDP_RESOURCE } from '../../api/names.js';
import type { SiteReplicationGroup } from '../../api/site-replication-group.js';
import { settleLimit } from '../../runtime/concurrency.js';
import type {
  ObjectRef,
  Reconcile,
  ReconcileContext,
  ReconcileResult,
} from '../../runtime/controller.js';
import { TerminalError } from '../../runtime/errors.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { Informer } from '../../runtime/informer.js';
import { type KubeClient, SECRETS, isNotFound } from '../../runtime/kube-client.js';
import { type Why, stalledStatus } from '../../runtime/kstatus.js';
import { type Secret, secretReader } from '../../runtime/secrets.js';
import { patchStatus, sameJSON } from '../../runtime/status.js';
import { connectSite } from '../../sites/connect.js';
import { type IdentityDeclaration, declareIdentity } from '../../sites/identity.js';
import type { SiteClient, SiteConnection } from '../../sites/site-client.js';
import { ApplyBudget, type SiteOutcome, type SiteTarget, syncSite, targetsOf } from './sites.js';
import { deriveIdpStatus } from './status.js';
import { describeError } from '../../runtime/messages.js';

type Cached<T> = T & { metadata: { name: string } };

export interface IdpReconcilerDeps {
  client: KubeClient;
  informer: Informer<Cached<IdentityProvider>>;
  /** The SiteReplicationGroup cache: which groups reference which provider. */
  groups: Informer<Cached<SiteReplicationGroup>>;
  newSite: (conn: SiteConnection) => SiteClient;
  recorder: EventRecorder;
  now?: (() => Date) | undefined;
  /** How often the live configuration of every site is checked when nothing changes. */
  syncIntervalMs?: number | undefined;
  /**
   * The longest wait before a failing site is tried again (default 15 s): failures are retried
   * with exponential backoff up to it. A Secret is not watched either: it is read again then.
   */
  retryAfterMs?: number | undefined;
  /** Per-call timeout for site calls (driver default 15 s). */
  siteTimeoutMs?: number | undefined;
  /** Accept http endpoints and unverified certificates (ALLOW_INSECURE_SITES). */
  allowInsecureSites?: boolean | undefined;
}

/**
 * Default resync: every site costs two encrypted get-config-kv calls (~75 ms of argon2 CPU each,
 * on the operator and on the site) per pass, so 3 sites every 2 minutes is ~0.4 s of CPU.
 */
export const DEFAULT_IDP_SYNC_MS = 120_000;
const PENDING_REQUEUE_MS = 3000;
/** Sites worked on at once. */
const SITES_AT_ONCE = 8;
const FAILING_REQUEUE_MS = 15_000;
const BLOCKED_REQUEUE_MS = 30_000;

interface Pass {
  obj: IdentityProvider;
  ref: ObjectRef;
  spec: IdentityProviderSpec;
  declared: IdentityDeclaration;
  secret: { value: string; version: string };
  ctx: ReconcileContext;
  kube: KubeClient;
  events: EventRecorder;
  now: Date;
}

/** zod (defaults, shapes), the cross-field rules, then what the sites require; else terminal. */
function validateSpec(obj: IdentityProvider): IdentityProviderSpec {
  const parsed = checkSpec(IdentityProviderSpecSchema, obj.spec, IDP_SPEC_RULES);
  if (!parsed.ok) throw new TerminalError('InvalidSpec', parsed.message);
  if (parsed.value.openid && !parsed.value.openid.clientSecret) {
    throw new TerminalError(
      'InvalidSpec',
      'spec.openid.clientSecret: required: MinIO does not accept an OpenID configuration without a client secret',
    );
  }
  return parsed.value;
}

const normalEndpoint = (e: string) => e.replace(/\/$/, '');

export class IdentityProviderReconciler {
  private readonly now: () => Date;
  private readonly budget = new ApplyBudget();

  constructor(private readonly deps: IdpReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  reconcile: Reconcile = async (ref, ctx) => {
    // Without the groups the provider would look unused: wait for their cache.
    if (!this.deps.groups.hasSynced()) return { requeueAfterMs: 1000 };
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj || obj.metadata.deletionTimestamp) return undefined;
    const spec = validateSpec(obj);
    const kube = this.deps.client.withSignal(ctx.signal);
    const events = this.deps.recorder.withSignal(ctx.signal);
    const secret = await this.loadSecret(kube, ref.namespace, spec);
    if ('reason' in secret) {
      await this.block({ obj, ref, kube, events }, secret);
      return { requeueAfterMs: this.deps.retryAfterMs ?? BLOCKED_REQUEUE_MS, backoff: true };
    }
    const pass: Pass = {
      obj,
      ref,
      spec,
      declared: declareIdentity(spec),
      secret,
      ctx,
      kube,
      events,
      now: this.now(),
    };
    const outcomes = await this.syncSites(pass);
    const status = deriveIdpStatus(
      obj.status,
      {
        generation: obj.metadata.generation ?? 0,
        declaredDigest: pass.declared.digest,
        sites: outcomes,
      },
      pass.now,
    );
    await writeStatus(kube, obj, ref, status);
    await this.report(pass, outcomes);
    return this.nextPass(outcomes);
  };

  /** The client secret or bind password, and the Secret's version (to know when it changed). */
  private async loadSecret(
    kube: KubeClient,
    namespace: string,
    spec: IdentityProviderSpec,
  ): Promise<{ value: string; version: string } | Why> {
    const ref = spec.ldap ? spec.ldap.lookupBindPassword : spec.openid?.clientSecret;
    const field = spec.ldap ? 'spec.ldap.lookupBindPassword' : 'spec.openid.clientSecret';
    if (!ref) return { reason: 'InvalidSpec', message: `${field}: required` };
    const { data, resourceVersion } = (await secretWithVersion(kube, namespace, ref.name)) ?? {};
    if (data === undefined) {
      return { reason: 'SecretNotFound', message: `${field}: Secret ${ref.name} not found` };
    }
    const raw = data[ref.key];
    const value = raw === undefined ? '' : Buffer.from(raw, 'base64').toString('utf8');
    if (value === '') {
      return {
        reason: 'SecretNotFound',
        message: `${field}: Secret ${ref.name} has no key ${ref.key} (or it is empty)`,
      };
    }
    return { value, version: `${ref.name}/${ref.key}@${resourceVersion ?? ''}` };
  }

  private async block(
    p: { obj: IdentityProvider; ref: ObjectRef; kube: KubeClient; events: EventRecorder },
    why: Why,
  ): Promise<void> {
    const status = stalledStatus(p.obj.status, p.obj.metadata.generation ?? 0, why, this.now());
    await writeStatus(p.kube, p.obj, p.ref, status);
    await p.events.record(p.obj, 'Warning', why.reason, why.message);
  }

  /** Every site of every referencing group, each physical site (endpoint) worked on once. */
  private async syncSites(pass: Pass): Promise<SiteOutcome[]> {
    const groups = this.deps.groups.list();
    const targets = targetsOf(groups, pass.ref.namespace, pass.ref.name);
    const contested = contestedEndpoints(groups, pass.ref);
    const byEndpoint = new Map<string, SiteTarget[]>();
    for (const t of targets) {
      const key = normalEndpoint(t.site.endpoint);
      byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), t]);
    }
    const prevSites = pass.obj.status?.sites ?? [];
    const results = await settleLimit(
      [...byEndpoint.entries()],
      SITES_AT_ONCE,
      async ([endpoint, [first]]) => {
        if (!first) throw new Error('no target');
        const other = contested.get(endpoint);
        if (other) return conflictOutcome(first, other, prevSites);
        return this.syncOne(pass, first, prevSites);
      },
    );
    pass.ctx.signal.throwIfAborted();
    return [...byEndpoint.values()].flatMap((list, i) => {
      const r = results[i];
      return list.map((t): SiteOutcome => {
        const ids = { group: t.group, site: t.site.name };
        if (r?.ok) return { ...r.value, ...ids };
        return {
          ...ids,
          ...IDLE,
          error: { reason: 'SiteError', message: describeError(r?.error) },
        };
      });
    });
  }

  private async syncOne(
    pass: Pass,
    target: SiteTarget,
    prevSites: readonly IdpSiteStatus[],
  ): Promise<SiteOutcome> {
    const prev = prevSites.find((s) => s.group === target.group && s.site === target.site.name);
    const ids = { group: target.group, site: target.site.name };
    const connected = await connectSite(target.site, {
      readSecret: secretReader(pass.kube, pass.ref.namespace),
      newSite: this.deps.newSite,
      field: `SiteReplicationGroup ${target.group} spec.sites[${target.index}]`,
      timeoutMs: this.deps.siteTimeoutMs,
      allowInsecure: this.deps.allowInsecureSites,
    });
    if (!connected.ok) {
      return { ...ids, ...IDLE, error: { reason: connected.reason, message: connected.message } };
    }
    const { client } = connected;
    try {
      if (client.identity === undefined) {
        const message = `flavor ${target.site.flavor} has no identity configuration API`;
        return { ...ids, ...IDLE, error: { reason: 'SiteUnsupported', message } };
      }
      return await syncSite(client.identity, {
        target,
        spec: pass.spec,
        declared: pass.declared,
        secret: pass.secret,
        prev,
        prevDeclaredDigest: pass.obj.status?.digest,
        allowRestart: pass.spec.allowSiteRestart,
        now: pass.now,
        budget: this.budget,
        signal: pass.ctx.signal,
      });
    } finally {
      client.close();
    }
  }

  /** Events for what a person cares about, and one log line per site that changed or failed. */
  private async report(pass: Pass, outcomes: readonly SiteOutcome[]): Promise<void> {
    const { obj, ctx, events } = pass;
    const target = pass.declared.target;
    for (const o of outcomes) {
      const where = `${o.group}/${o.site}`;
      const fields = { group: o.group, site: o.site, digest: o.digest };
      if (o.applied) {
        const msg = `Wrote ${target} to ${where}${o.restarted ? ' and restarted it' : ''}`;
        await events.record(obj, 'Normal', 'IdentityConfigured', msg);
        ctx.log.info({ ...fields, restarted: o.restarted }, 'Configured identity provider on site');
      } else if (o.restarted) {
        await events.record(obj, 'Normal', 'SiteRestarted', `Restarted ${where}`);
        ctx.log.info(fields, 'Restarted site for its identity configuration');
      }
      if (o.error) {
        await events.record(obj, 'Warning', o.error.reason, `${where}: ${o.error.message}`);
        ctx.log.warn({ ...fields, reason: o.error.reason, err: o.error.message }, 'Site failed');
      } else if (o.restartRequired) {
        const msg = `${where} needs a restart for ${target} to take effect`;
        await events.record(obj, 'Warning', 'RestartRequired', msg);
      }
    }
  }

  private nextPass(outcomes: readonly SiteOutcome[]): ReconcileResult {
    if (outcomes.some((o) => o.applied || o.restarted))
      return { requeueAfterMs: PENDING_REQUEUE_MS };
    // A site that keeps failing is retried with this provider's exponential backoff.
    if (outcomes.some((o) => o.error)) {
      return { requeueAfterMs: this.deps.retryAfterMs ?? FAILING_REQUEUE_MS, backoff: true };
    }
    return { requeueAfterMs: this.deps.syncIntervalMs ?? DEFAULT_IDP_SYNC_MS };
  }
}

const IDLE = { configured: false, restartRequired: false, applied: false, restarted: false };

/** A Secret's data and version (to know when a secret that cannot be read back changed). */
async function secretWithVersion(kube: KubeClient, namespace: string, name: string) {
  try {
    const secret = await kube.get<Secret>(SECRETS, namespace, name);
    return { data: secret.data ?? {}, resourceVersion: secret.metadata.resourceVersion };
  } catch (e: unknown) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function writeStatus(
  kube: KubeClient,
  obj: IdentityProvider,
  ref: ObjectRef,
  status: IdentityProviderStatus,
) {
  if (sameJSON(obj.status, status)) return;
  await patchStatus(kube, IDP_RESOURCE, ref, status);
}

/**
 * Endpoints this provider's groups share with a group that references another provider: two
 * providers would overwrite each other (and restart the site) forever, so neither touches them.
 */
function contestedEndpoints(
  groups: readonly SiteReplicationGroup[],
  ref: ObjectRef,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const g of groups) {
    const ns = g.metadata.namespace ?? '';
    const other = g.spec?.identityProviderRef?.name;
    if (other === undefined || (ns === ref.namespace && other === ref.name)) continue;
    for (const s of g.spec?.sites ?? []) {
      out.set(
        normalEndpoint(s.endpoint),
        `group ${ns}/${g.metadata.name} references IdentityProvider ${other}`,
      );
    }
  }
  return out;
}

function conflictOutcome(
  target: SiteTarget,
  why: string,
  prevSites: readonly IdpSiteStatus[],
): SiteOutcome {
  const prev = prevSites.find((s) => s.group === target.group && s.site === target.site.name);
  return {
    group: target.group,
    site: target.site.name,
    ...IDLE,
    digest: prev?.digest,
    error: {
      reason: 'ConflictingIdentityProviders',
      message: `the site is also in ${why}; a site can have one identity provider: not touching it`,
    },
  };
}
