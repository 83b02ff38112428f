/**
 * The Argo CD health check of docs/argocd-health.lua, the same decision in TypeScript. The
 * integration tests run both (the Lua file with lua5.4) against the same real status objects;
 * both must agree.
 */
import type { StatusObject } from './kstatus.js';

export type ArgoHealth = 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended';

export interface ArgoHealthResult {
  status: ArgoHealth;
  message: string;
}

type Cond = NonNullable<NonNullable<StatusObject['status']>['conditions']>[number];

function find(obj: StatusObject, type: string): Cond | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

function describe(c: Cond | undefined, fallback: string): string {
  if (c?.message) return c.message;
  if (c?.reason) return c.reason;
  return fallback;
}

const isTrue = (c: Cond | undefined) => c?.status === 'True';

const isPaused = (spec: unknown) =>
  typeof spec === 'object' && spec !== null && 'paused' in spec && spec.paused === true;

export function argoHealth(obj: StatusObject): ArgoHealthResult {
  if (obj.status === undefined)
    return {
      status: 'Progressing',
      message: 'Waiting for the sitesync operator to report status',
    };
  const generation = obj.metadata.generation;
  const observed = obj.status.observedGeneration;
  if (observed === undefined || (generation !== undefined && observed !== generation)) {
    return {
      status: 'Progressing',
      message: `Waiting for the sitesync operator to observe generation ${String(generation)}`,
    };
  }
  const [stalled, degraded, reconciling, ready] = [
    'Stalled',
    'Degraded',
    'Reconciling',
    'Ready',
  ].map((t) => find(obj, t));
  if (isTrue(stalled)) return { status: 'Degraded', message: describe(stalled, 'Stalled') };
  if (isTrue(degraded)) return { status: 'Degraded', message: describe(degraded, 'Degraded') };
  if (isTrue(reconciling))
    return { status: 'Progressing', message: describe(reconciling, 'Reconciling') };
  if (isTrue(ready)) return { status: 'Healthy', message: describe(ready, 'Ready') };
  if (isPaused(obj.spec))
    return { status: 'Suspended', message: describe(ready, 'spec.paused is true') };
  return { status: 'Progressing', message: describe(ready, 'Waiting for Ready') };
}
