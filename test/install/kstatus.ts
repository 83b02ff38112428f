/**
 * kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status, what Flux's health checks use) for a
 * custom resource, as a small pure function: deletionTimestamp -> Terminating; a
 * status.observedGeneration that differs from metadata.generation -> InProgress; the first of
 * Reconciling=True (InProgress) or Stalled=True (Failed) in condition order; otherwise Current.
 * Custom resources get no type-specific rules, so Ready is not read at all.
 */
export type KStatus = 'InProgress' | 'Failed' | 'Current' | 'Terminating';

export interface StatusObject {
  kind?: string | undefined;
  metadata: { generation?: number | undefined; deletionTimestamp?: string | undefined };
  spec?: unknown;
  status?:
    | {
        observedGeneration?: number | undefined;
        conditions?:
          | readonly {
              type: string;
              status: string;
              reason?: string | undefined;
              message?: string | undefined;
            }[]
          | undefined;
      }
    | undefined;
}

export interface KStatusResult {
  status: KStatus;
  message: string;
}

/** kstatus's checkGeneration: only when both fields exist. */
function generationBehind(obj: StatusObject): KStatusResult | undefined {
  const generation = obj.metadata.generation;
  const observed = obj.status?.observedGeneration;
  if (generation === undefined || observed === undefined || observed === generation)
    return undefined;
  const kind = obj.kind ?? 'Resource';
  return {
    status: 'InProgress',
    message: `${kind} generation is ${generation}, but latest observed generation is ${observed}`,
  };
}

export function kstatus(obj: StatusObject): KStatusResult {
  if (obj.metadata.deletionTimestamp)
    return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  const behind = generationBehind(obj);
  if (behind) return behind;
  for (const c of obj.status?.conditions ?? []) {
    if (c.type === 'Reconciling' && c.status === 'True')
      return { status: 'InProgress', message: c.message ?? '' };
    if (c.type === 'Stalled' && c.status === 'True')
      return { status: 'Failed', message: c.message ?? '' };
  }
  return { status: 'Current', message: 'Resource is current' };
}
