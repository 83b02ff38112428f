/**
 * The manager, as controller-runtime has it: one client, one shared informer per resource
 * type (the cache), one event recorder, the controllers registered by each kind's `setup`, and
 * leader election around all of them.
 */
import { Controller, type ControllerOptions, type Reconcile } from './controller.js';
import { EventRecorder } from './events.js';
import { Informer } from './informer.js';
import type { MetaObject } from './meta.js';
import { abortableSleep } from './signals.js';
import { type StallableObject, stalledReporter } from './stalled.js';
import type { KubeClient, ResourceType } from './kube-client.js';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';

export interface Runnable {
  /**
   * Runs until `signal` aborts (stop taking work, finish what is in flight). `lost` aborts
   * when leadership is lost: work in flight must stop at once.
   */
  run(signal: AbortSignal, lost?: AbortSignal): Promise<void>;
}

export interface ManagerOptions {
  client: KubeClient;
  runnables: Runnable[];
  /** Without it every instance acts (single replica, tests). */
  leaderElection?: Omit<LeaderElectionOptions, 'log'>;
  log?: Logger;
}

export type ManagerExit = 'stopped' | 'lost-leadership';

/**
 * Runs the runnables, under leader election when configured. On `signal` (SIGTERM) it stops
 * taking work, lets in-flight reconciles finish and releases the lease. Losing the lease aborts
 * in-flight reconciles and ends the run with 'lost-leadership': the process should exit
 * non-zero and be restarted.
 */
export async function runManager(opts: ManagerOptions, signal: AbortSignal): Promise<ManagerExit> {
  const log = opts.log ?? silentLogger;
  const runAll = async (s: AbortSignal, lost?: AbortSignal) => {
    const results = await Promise.allSettled(opts.runnables.map((r) => r.run(s, lost)));
    for (const r of results) {
      if (r.status === 'rejected') log.error({ err: errorMessage(r.reason) }, 'Runnable failed');
    }
  };
  if (!opts.leaderElection) {
    await runAll(signal);
    return 'stopped';
  }
  const elector = new LeaderElector(opts.client, { ...opts.leaderElection, log });
  log.info({ identity: opts.leaderElection.identity }, 'Waiting for leader lease');
  return (await elector.run(signal, runAll)) ? 'stopped' : 'lost-leadership';
}

/** What every controller of a manager shares unless its setup says otherwise. */
export type ControllerDefaults = Pick<
  ControllerOptions<MetaObject>,
  'workers' | 'timeoutMs' | 'resyncMs' | 'backoff' | 'observer'
>;

export interface ManagerConfig {
  client: KubeClient;
  /** Watch one namespace (as `namespaces: [namespace]`). */
  namespace?: string | undefined;
  /** The namespaces watched (each listed and watched on its own); neither set, or empty: all. */
  namespaces?: readonly string[] | undefined;
  leaderElection?: Omit<LeaderElectionOptions, 'log'> | undefined;
  /** The Event source (`kubectl describe` shows it). */
  component?: string | undefined;
  controllers?: ControllerDefaults | undefined;
  log?: Logger | undefined;
}

export class Manager {
  readonly client: KubeClient;
  readonly recorder: EventRecorder;
  readonly log: Logger;
  private readonly informers = new Map<string, Informer<MetaObject>>();
  private readonly runnables: Runnable[] = [];

  constructor(private readonly config: ManagerConfig) {
    this.client = config.client;
    this.log = config.log ?? silentLogger;
    this.recorder = new EventRecorder(config.client, config.component ?? 'sitesync-operator', {
      log: this.log,
    });
  }

  /** The informers' namespaces: every namespace when none is named. */
  private scope(): { namespaces?: readonly string[] } {
    const { namespace, namespaces } = this.config;
    const list = namespaces ?? (namespace === undefined ? [] : [namespace]);
    return list.length === 0 ? {} : { namespaces: list };
  }

  /** The shared informer of `type` (created on first use; it runs with the controllers). */
  informer<T extends MetaObject>(type: ResourceType): Informer<T> {
    const key = `${type.group}/${type.version}/${type.plural}`;
    let informer = this.informers.get(key);
    if (!informer) {
      informer = new Informer<MetaObject>(this.client, type, {
        ...this.scope(),
        log: this.log,
      });
      this.informers.set(key, informer);
    }
    return informer as unknown as Informer<T>;
  }

  /**
   * A controller of `resource` with the manager's defaults, registered to run with the manager.
   * A TerminalError of its reconcile is reported the one way every kind reports it
   * (`stalledReporter`: Stalled in the status, one Warning Event).
   */
  controller<T extends StallableObject>(opts: {
    name: string;
    resource: ResourceType;
    informer: Informer<T>;
    reconcile: Reconcile;
    now?: (() => Date) | undefined;
  }): Controller<T> {
    const { resource, now, ...rest } = opts;
    const stalled = stalledReporter({
      resource,
      informer: opts.informer,
      client: this.client,
      recorder: this.recorder,
      now,
    });
    const controller = new Controller<T>({
      ...this.config.controllers,
      log: this.log,
      ...rest,
      stalled,
    });
    this.add(controller);
    return controller;
  }

  add(runnable: Runnable): void {
    this.runnables.push(runnable);
  }

  /**
   * Resolves true once every informer created so far has listed its objects, false when
   * `signal` aborts first.
   */
  async waitForCacheSync(signal: AbortSignal): Promise<boolean> {
    const synced = Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    await Promise.race([synced, abortableSleep(2 ** 31 - 1, signal)]);
    return !signal.aborted;
  }

  run(signal: AbortSignal): Promise<ManagerExit> {
    return runManager(
      {
        client: this.client,
        runnables: this.runnables,
        ...(this.config.leaderElection ? { leaderElection: this.config.leaderElection } : {}),
        log: this.log,
      },
      signal,
    );
  }
}
