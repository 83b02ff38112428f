import { abortableSleep, aborted } from './informer.js';
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
   * Waits to become leader, then calls `lead` with a signal that aborts when leadership is lost
   * or `signal` aborts. Resolves `true` when leadership ended because `signal` aborted (the
   * lease is then released), `false` when it was lost.
   */
  async run(signal: AbortSignal, lead: (leading: AbortSignal) => Promise<void>): Promise<boolean> {
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) {
      await abortableSleep(this.retryMs * (1 + 0.2 * Math.random()), signal);
    }
    if (signal.aborted) return true;
    this.log.info({ identity: this.opts.identity }, 'Acquired leader lease');
    const leading = new AbortController();
    const onAbort = () => {
      leading.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const work = lead(leading.signal);
    const lost = await this.renewLoop(leading.signal);
    if (lost) {
      this.log.error({ identity: this.opts.identity }, 'Lost leader lease');
      leading.abort();
    }
    await work;
    signal.removeEventListener('abort', onAbort);
    if (!lost) await this.release();
    return !lost;
  }

  /** Renews every retry period; returns true if renewal failed for a whole renew deadline. */
  private async renewLoop(leading: AbortSignal): Promise<boolean> {
    let lastRenew = Date.now();
    while (!leading.aborted) {
      await abortableSleep(this.retryMs, leading);
      if (aborted(leading)) return false;
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.renewDeadlineMs) return true;
    }
    return false;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.opts;
    try {
      let lease: Lease;
      try {
        lease = await this.client.get<Lease>(LEASES, namespace, name);
      } catch (e: unknown) {
        if (!isNotFound(e)) throw e;
        this.current = await this.client.create<Lease>(LEASES, namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: this.nextSpec(undefined),
        });
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
        { patchType: 'merge', fieldManager: FIELD_MANAGER },
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
