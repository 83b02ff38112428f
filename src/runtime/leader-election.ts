import { LeadershipLostError } from './errors.js';
import { abortableSleep, aborted } from './signals.js';
import { type KubeClient, LEASES, isConflict, isNotFound } from './kube-client.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';
import { FIELD_MANAGER } from './status.js';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | undefined;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: Logger;
}

/** RFC 3339 with microseconds, the MicroTime format the Lease API stores. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it (15 s / 10 s / 2 s).
 * A lease held by another identity is taken over only when its record has not changed for a
 * whole lease duration, measured on our own clock (immune to skew between machines).
 */
export class LeaderElector {
  private observedRecord = '';
  private observedAt = 0;
  private current: Lease | undefined;
  private readonly log: Logger;
  private readonly durationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.log = (opts.log ?? silentLogger).child({ lease: `${opts.namespace}/${opts.name}` });
    this.durationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  /**
   * Waits to become leader, then calls `lead` with two signals: `stopping` aborts when `signal`
   * does (SIGTERM: stop taking work, drain) or leadership is lost; `lost` only when leadership
   * is lost (abort in-flight work at once: another replica may lead by now). The lease is
   * renewed until `lead` has finished, so a drain stays under it. Resolves `true` when
   * leadership ended because `signal` aborted (the lease is then released), `false` when it
   * was lost.
   */
  async run(
    signal: AbortSignal,
    lead: (stopping: AbortSignal, lost: AbortSignal) => Promise<void>,
  ): Promise<boolean> {
    let acquiredAt = Date.now();
    while (!signal.aborted) {
      acquiredAt = Date.now();
      const attempt = AbortSignal.any([signal, AbortSignal.timeout(this.renewDeadlineMs)]);
      if (await this.tryAcquireOrRenew(attempt)) break;
      await abortableSleep(this.retryMs * (1 + 0.2 * Math.random()), signal);
    }
    if (signal.aborted) return true;
    this.log.info({ identity: this.opts.identity }, 'Acquired leader lease');
    const lost = new AbortController();
    const finished = new AbortController();
    const work = lead(AbortSignal.any([signal, lost.signal]), lost.signal).finally(() => {
      finished.abort();
    });
    const isLost = await this.renewLoop(finished.signal, acquiredAt);
    if (isLost) {
      this.log.error({ identity: this.opts.identity }, 'Lost leader lease');
      lost.abort(new LeadershipLostError());
    }
    await work;
    if (!isLost) await this.release();
    return !isLost;
  }

  /**
   * Renews every retry period until `until` aborts; returns true when no renewal succeeded
   * within a renew deadline. A renewal counts from when it was sent (the apiserver recorded it
   * no earlier), and each request is cut off at the deadline: a renewal that hangs (a stalled
   * apiserver or network) cannot keep this replica leading past the deadline, which is well
   * inside the lease duration others wait for before they take over.
   */
  private async renewLoop(until: AbortSignal, acquiredAt: number): Promise<boolean> {
    let lastRenew = acquiredAt;
    while (!until.aborted) {
      await abortableSleep(this.retryMs, until);
      if (aborted(until)) return false;
      const left = lastRenew + this.renewDeadlineMs - Date.now();
      if (left <= 0) return true;
      const sent = Date.now();
      if (await this.tryAcquireOrRenew(AbortSignal.any([until, AbortSignal.timeout(left)]))) {
        lastRenew = sent;
      } else if (aborted(until)) {
        return false;
      }
    }
    return false;
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { namespace, name } = this.opts;
    try {
      let lease: Lease;
      try {
        lease = await this.client.get<Lease>(LEASES, namespace, name, signal);
      } catch (e: unknown) {
        if (!isNotFound(e)) throw e;
        this.current = await this.client.create<Lease>(
          LEASES,
          namespace,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: this.nextSpec(undefined),
          },
          signal,
        );
        return true;
      }
      if (!this.mayTake(lease.spec ?? {})) return false;
      this.current = await this.client.patch<Lease>(
        LEASES,
        { namespace, name },
        {
          metadata: { resourceVersion: lease.metadata.resourceVersion },
          spec: this.nextSpec(lease.spec),
        },
        { patchType: 'merge', fieldManager: FIELD_MANAGER, signal },
      );
      this.observedRecord = JSON.stringify(this.current.spec ?? {});
      this.observedAt = Date.now();
      return true;
    } catch (e: unknown) {
      if (!isConflict(e)) this.log.warn({ err: errorMessage(e) }, 'Lease update failed');
      return false;
    }
  }

  /** True when the lease is ours, free, or its record has not changed for a lease duration. */
  private mayTake(old: LeaseSpec): boolean {
    const record = JSON.stringify(old);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    const heldByOther = !!old.holderIdentity && old.holderIdentity !== this.opts.identity;
    const expired = this.observedAt + (old.leaseDurationSeconds ?? 0) * 1000 < Date.now();
    return !heldByOther || expired;
  }

  /** The spec we write: renewing keeps acquireTime and transitions; taking over counts one. */
  private nextSpec(old: LeaseSpec | undefined): LeaseSpec {
    const now = microTime(new Date());
    const ours = old?.holderIdentity === this.opts.identity;
    const transitions = old?.leaseTransitions ?? 0;
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.durationMs / 1000),
      acquireTime: ours ? (old.acquireTime ?? now) : now,
      renewTime: now,
      leaseTransitions: ours || old === undefined ? transitions : transitions + 1,
    };
  }

  /** Gives the lease up so another instance can take over at once. */
  private async release(): Promise<void> {
    const rv = this.current?.metadata.resourceVersion;
    if (!rv) return;
    try {
      await this.client.patch(
        LEASES,
        { namespace: this.opts.namespace, name: this.opts.name },
        {
          metadata: { resourceVersion: rv },
          spec: { holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
        },
        { patchType: 'merge', fieldManager: FIELD_MANAGER },
      );
      this.log.info({}, 'Released leader lease');
    } catch (e: unknown) {
      this.log.warn({ err: errorMessage(e) }, 'Could not release leader lease');
    }
  }
}
