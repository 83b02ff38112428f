/**
 * The four conditions every sitesync resource carries, kstatus-style: Reconciling and Stalled
 * are abnormal-true, Ready is the summary, Degraded names what is failing.
 */
import { type Condition, type ConditionInput, setConditions } from './conditions.js';

/** The warning condition of a resource that reaches a site over an insecure transport. */
export const INSECURE_TRANSPORT = 'InsecureTransport';

export interface Why {
  reason: string;
  message: string;
}

export const AS_EXPECTED: Why = { reason: 'AsExpected', message: '' };

export const cond = (type: string, ok: boolean, why: Why, gen: number): ConditionInput => ({
  type,
  status: ok ? 'True' : 'False',
  reason: why.reason,
  message: why.message,
  observedGeneration: gen,
});

/** A resource that cannot proceed until its spec changes: Stalled, not Ready. */
export function blockedConditions(blocker: Why, gen: number): ConditionInput[] {
  return [
    cond('Ready', false, blocker, gen),
    cond('Stalled', true, blocker, gen),
    cond(
      'Reconciling',
      false,
      { reason: blocker.reason, message: 'Waiting for a change of the spec' },
      gen,
    ),
    cond('Degraded', false, AS_EXPECTED, gen),
  ];
}

/** The conditions of a pass that could act: `ready` is why it is (or is not) Ready. */
export function passConditions(
  p: { ready: Why; isReady: boolean; reconciling?: Why | undefined; degraded?: Why | undefined },
  gen: number,
): ConditionInput[] {
  return [
    cond('Ready', p.isReady, p.ready, gen),
    cond(
      'Reconciling',
      p.reconciling !== undefined,
      p.reconciling ?? { reason: 'Idle', message: '' },
      gen,
    ),
    cond('Degraded', p.degraded !== undefined, p.degraded ?? AS_EXPECTED, gen),
    cond('Stalled', false, AS_EXPECTED, gen),
  ];
}

/**
 * A warning condition beside the four kstatus ones (abnormal-true, like Degraded): `type` set
 * True with `why` while it holds, removed once it does not. kstatus ignores other types, so it
 * never hides Ready.
 */
export function withWarning(
  conditions: readonly Condition[] | undefined,
  warning: { type: string; why: Why | undefined; generation: number },
  now: Date,
): Condition[] {
  const { type, why, generation } = warning;
  if (why === undefined) return (conditions ?? []).filter((c) => c.type !== type);
  return setConditions(conditions, [cond(type, true, why, generation)], now);
}

/** Any status with conditions and the generation they describe. */
export interface ConditionedStatus {
  observedGeneration?: number | undefined;
  conditions?: Condition[] | undefined;
}

/**
 * The status of an object the operator cannot act on until its spec changes: Stalled with the
 * reason, Ready=False; everything else as last reported.
 */
export function stalledStatus<S extends ConditionedStatus>(
  prev: S | undefined,
  generation: number,
  why: Why,
  now: Date,
): S {
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setConditions(prev?.conditions, blockedConditions(why, generation), now),
  } as S;
}
