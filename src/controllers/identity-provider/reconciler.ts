/**
 * The IdentityProvider controller: one external IdP configured on every site of every
 * SiteReplicationGroup that references it, verified by the digest of each site's live
 * configuration (secrets never part of it).
 * load -> validate -> read the Secret -> find the sites -> per site: read, decide, write,
 * restart if allowed -> write status and events.
 *
 * No finalizer: deleting an IdentityProvider leaves the sites configured as they are (removing
 * an identity provider from a live site would lock its users out and needs a restart).
 */
import { sitesyncResource } from './_resources.js';
import { checkCrossFieldRules } from '../api/common.js';
import {
  IDP_SPEC_RULES,
  type IdentityProvider,
  type IdentityProviderSpec,
  IdentityProviderSpecSchema,
  type IdentityProviderStatus,
  type IdpSiteStatus,
} from '../api/identity-provider.js';
import type { SiteReplicationGroup } from '../api/site-replication-group.js';
import { settleLimit } from '../runtime/concurrency.js';
import type { ObjectRef, Reconcile, ReconcileContext } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Informer } from '../runtime/informer.js';
import { type KubeClient, SECRETS, isNotFound } from '../runtime/kube-client.js';
import { errorMessage } from '../runtime/logger.js';
import { patchStatus, sameJSON } from '../runtime/status.js';
import { type DeclaredIdentity, declaredIdentity } from '../sites/minio/identity-config.js';
import { MinioIdentitySite } from '../sites/minio/minio-identity-site.js';
import type { SiteConnection } from '../sites/site-client.js';
import {
  ApplyBudget,
  type IdentitySite,
  type SiteOutcome,
  type SiteTarget,
  syncSite,
  targetsOf,
} from './_idp-sites.js';
import { blockedStatus, deriveIdpStatus } from './_idp-status.js';
import { CredentialsError, type Secret, loadCredentials } from './_srg-observe.js';

export const IDP_RESOURCE = sitesyncResource('identityproviders');

type Cached<T> = T & { metadata: { name: string } };

export interface IdpDeps {
  client: KubeClient;
  informer: Informer<Cached<IdentityProvider>>;
  /** The SiteReplicationGroup cache: which groups reference which provider. */
  groups: Informer<Cached<SiteReplicationGroup>>;
  recorder: EventRecorder;
  /** The identity port of a site (default: MinIO's; other flavors have none). */
  newIdentitySite?: ((conn: SiteConnection) => IdentitySite) | undefined;
  now?: (() => Date) | undefined;
  /** How often the live configuration of every site is checked when nothing changes. */
  syncIntervalMs?: number | undefined;
  /** The next pass after a site failed (default 15 s); a Secret is not watched either. */
  retryAfterMs?: number | undefined;
  /** Per-call timeout for site calls (default 15 s). */
  siteTimeoutMs?: number | undefined;
  /** Sites worked on at once (default 8). */
  concurrency?: number | undefined;
}

/**
 * Default resync: every site costs two encrypted get-config-kv calls (~75 ms of argon2 CPU each,
 * on the operator and on the site) per pass, so 3 sites every 2 minutes is ~0.4 s of CPU.
 */
export const DEFAULT_IDP_SYNC_MS = 120_000;
const PENDING_REQUEUE_MS = 3000;
const FAILING_REQUEUE_MS = 15_000;
const BLOCKED_REQUEUE_MS = 30_000;

interface Pass {
  obj: IdentityProvider;
  ref: ObjectRef;
  spec: IdentityProviderSpec;
  declared: DeclaredIdentity;
  secret: { value: string; version: string };
  ctx: ReconcileContext;
  now: Date;
}

function newMinioIdentitySite(conn: SiteConnection): IdentitySite {
  return new MinioIdentitySite(conn);
}

export class IdentityProviderController {
  private readonly now: () => Date;
  private readonly budget = new ApplyBudget();

  constructor(private readonly deps: IdpDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  reconcile: Reconcile = async (ref, ctx) => {
    // Without the groups the provider would look unused: wait for their cache.
    if (!this.deps.groups.hasSynced()) return { requeueAfterMs: 1000 };
    const obj = this.deps.informer.get(`${ref.namespace}/${ref.name}`);
    if (!obj || obj.metadata.deletionTimestamp) return undefined;
    const generation = obj.metadata.generation ?? 0;
    const spec = this.validate(obj);
    if (typeof spec === 'string') {
      await this.block(obj, ref, { reason: 'InvalidSpec', message: spec });
      ctx.log.info({ reason: 'InvalidSpec', message: spec }, 'Rejected spec of IdentityProvider');
      return undefined;
    }
    const secret = await this.loadSecret(ref.namespace, spec);
    if ('reason' in secret) {
      await this.block(obj, ref, secret);
      return { requeueAfterMs: this.deps.retryAfterMs ?? BLOCKED_REQUEUE_MS };
    }
    const pass: Pass = {
      obj,
      ref,
      spec,
      declared: declaredIdentity(spec),
      secret,
      ctx,
      now: this.now(),
    };
    const outcomes = await this.syncSites(pass);
    const status = deriveIdpStatus(
      obj.status,
      { generation, declaredDigest: pass.declared.digest, sites: outcomes },
      pass.now,
    );
    await this.writeStatus(obj, ref, status);
    await this.report(pass, outcomes);
    return { requeueAfterMs: this.nextPass(outcomes) };
  };

  /** zod (defaults, shapes), the cross-field rules, then what MinIO itself requires. */
  private validate(obj: IdentityProvider): IdentityProviderSpec | string {
    const parsed = IdentityProviderSpecSchema.safeParse(obj.spec);
    if (!parsed.success) {
      return parsed.error.issues
        .map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`)
        .join('; ');
    }
    const broken = checkCrossFieldRules(parsed.data, IDP_SPEC_RULES);
    if (broken.length > 0) return broken.join('; ');
    if (parsed.data.openid && !parsed.data.openid.clientSecret) {
      return 'spec.openid.clientSecret: required: MinIO does not accept an OpenID configuration without a client secret';
    }
    return parsed.data;
  }

  /** The client secret or bind password, and the Secret's version (to know when it changed). */
  private async loadSecret(
    namespace: string,
    spec: IdentityProviderSpec,
  ): Promise<{ value: string; version: string } | { reason: string; message: string }> {
    const ref = spec.ldap ? spec.ldap.lookupBindPassword : spec.openid?.clientSecret;
    const field = spec.ldap ? 'spec.ldap.lookupBindPassword' : 'spec.openid.clientSecret';
    if (!ref) return { reason: 'InvalidSpec', message: `${field}: required` };
    let secret: Secret;
    try {
      secret = await this.deps.client.get<Secret>(SECRETS, namespace, ref.name);
    } catch (e: unknown) {
      if (isNotFound(e)) {
        return { reason: 'SecretNotFound', message: `${field}: Secret ${ref.name} not found` };
      }
      throw e;
    }
    const raw = secret.data?.[ref.key];
    const value = raw === undefined ? '' : Buffer.from(raw, 'base64').toString('utf8');
    if (value === '') {
      return {
        reason: 'SecretNotFound',
        message: `${field}: Secret ${ref.name} has no key ${ref.key} (or it is empty)`,
      };
    }
    const version = `${ref.name}/${ref.key}@${secret.metadata.resourceVersion ?? ''}`;
    return { value, version };
  }

  private async block(
    obj: IdentityProvider,
    ref: ObjectRef,
    why: { reason: string; message: string },
  ): Promise<void> {
    const status = blockedStatus(obj.status, obj.metadata.generation ?? 0, why, this.now());
    await this.writeStatus(obj, ref, status);
    await this.deps.recorder.record(obj, 'Warning', why.reason, why.message);
  }

  /** Every site of every referencing group, each physical site (endpoint) worked on once. */
  private async syncSites(pass: Pass): Promise<SiteOutcome[]> {
    const groups = this.deps.groups.list();
    const targets = targetsOf(groups, pass.ref.namespace, pass.ref.name);
    const contested = contestedEndpoints(groups, pass.ref);
    const byEndpoint = new Map<string, SiteTarget[]>();
    for (const t of targets) {
      const key = t.site.endpoint.replace(/\/$/, '');
      byEndpoint.set(key, [...(byEndpoint.get(key) ?? []), t]);
    }
    const prevSites = pass.obj.status?.sites ?? [];
    const results = await settleLimit(
      [...byEndpoint.entries()],
      this.deps.concurrency ?? 8,
      async ([endpoint, [first]]) => {
        if (!first) throw new Error('no target');
        const other = contested.get(endpoint);
        if (other) return conflictOutcome(first, other, prevSites);
        return this.syncOne(pass, first, prevSites);
      },
    );
    return [...byEndpoint.values()].flatMap((list, i) => {
      const r = results[i];
      return list.map((t): SiteOutcome => {
        const ids = { group: t.group, site: t.site.name };
        if (r?.ok) return { ...r.value, ...ids };
        return {
          ...ids,
          configured: false,
          restartRequired: false,
          applied: false,
          restarted: false,
          error: { reason: 'SiteError', message: errorMessage(r?.error) },
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
    const idle = { configured: false, restartRequired: false, applied: false, restarted: false };
    if (target.site.flavor !== 'minio') {
      return {
        ...ids,
        ...idle,
        error: {
          reason: 'SiteUnsupported',
          message: `flavor ${target.site.flavor} has no identity configuration API`,
        },
      };
    }
    let creds;
    try {
      creds = await loadCredentials(
        this.deps.client,
        pass.ref.namespace,
        target.site,
        target.index,
      );
    } catch (e: unknown) {
      if (!(e instanceof CredentialsError)) throw e;
      return { ...ids, ...idle, error: { reason: 'CredentialsNotFound', message: e.message } };
    }
    const site = (this.deps.newIdentitySite ?? newMinioIdentitySite)({
      name: target.site.name,
      flavor: target.site.flavor,
      endpoint: target.site.endpoint,
      region: target.site.region,
      ...creds,
      insecureSkipVerify: target.site.tls?.insecureSkipVerify,
      timeoutMs: this.deps.siteTimeoutMs,
    });
    try {
      return await syncSite(site, {
        target,
        declared: pass.declared,
        secret: pass.secret,
        prev,
        prevDeclaredDigest: pass.obj.status?.digest,
        allowRestart: pass.spec.allowSiteRestart,
        now: pass.now,
        budget: this.budget,
      });
    } finally {
      site.close();
    }
  }

  private async writeStatus(obj: IdentityProvider, ref: ObjectRef, status: IdentityProviderStatus) {
    if (sameJSON(obj.status, status)) return;
    await patchStatus(this.deps.client, IDP_RESOURCE, ref, status);
  }

  /** Events for what a person cares about, and one log line per site that changed or failed. */
  private async report(pass: Pass, outcomes: readonly SiteOutcome[]): Promise<void> {
    const { obj, ctx } = pass;
    const subsystem = pass.declared.subsystem;
    for (const o of outcomes) {
      const where = `${o.group}/${o.site}`;
      const fields = { group: o.group, site: o.site, digest: o.digest };
      if (o.applied) {
        const msg = `Wrote ${subsystem} to ${where}${o.restarted ? ' and restarted it' : ''}`;
        await this.deps.recorder.record(obj, 'Normal', 'IdentityConfigured', msg);
        ctx.log.info({ ...fields, restarted: o.restarted }, 'Configured identity provider on site');
      } else if (o.restarted) {
        await this.deps.recorder.record(obj, 'Normal', 'SiteRestarted', `Restarted ${where}`);
        ctx.log.info(fields, 'Restarted site for its identity configuration');
      }
      if (o.error) {
        await this.deps.recorder.record(
          obj,
          'Warning',
          o.error.reason,
          `${where}: ${o.error.message}`,
        );
        ctx.log.warn({ ...fields, reason: o.error.reason, err: o.error.message }, 'Site failed');
      } else if (o.restartRequired) {
        const msg = `${where} needs a restart for ${subsystem} to take effect`;
        await this.deps.recorder.record(obj, 'Warning', 'RestartRequired', msg);
      }
    }
  }

  private nextPass(outcomes: readonly SiteOutcome[]): number {
    if (outcomes.some((o) => o.applied || o.restarted)) return PENDING_REQUEUE_MS;
    if (outcomes.some((o) => o.error)) return this.deps.retryAfterMs ?? FAILING_REQUEUE_MS;
    return this.deps.syncIntervalMs ?? DEFAULT_IDP_SYNC_MS;
  }
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
        s.endpoint.replace(/\/$/, ''),
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
    configured: false,
    digest: prev?.digest,
    restartRequired: false,
    applied: false,
    restarted: false,
    error: {
      reason: 'ConflictingIdentityProviders',
      message: `the site is also in ${why}; a site can have one identity provider: not touching it`,
    },
  };
}
