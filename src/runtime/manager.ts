import { LeaderElector, type LeaderElectionOptions } from './leader-election.js';
import type { KubeClient } from './kube-client.js';
import { type Logger, errorMessage, silentLogger } from './logger.js';

export interface Runnable {
  run(signal: AbortSignal): Promise<void>;
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
 * Runs the controllers, under leader election when configured. On `signal` (SIGTERM) it stops
 * taking work, lets in-flight reconciles finish and releases the lease. Losing the lease ends
 * the run with 'lost-leadership': the process should exit non-zero and be restarted.
 */
export async function runManager(opts: ManagerOptions, signal: AbortSignal): Promise<ManagerExit> {
  const log = opts.log ?? silentLogger;
  const runAll = async (s: AbortSignal) => {
    const results = await Promise.allSettled(opts.runnables.map((r) => r.run(s)));
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
