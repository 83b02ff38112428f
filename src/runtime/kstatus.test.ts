import { describe, expect, it } from '@jest/globals';

import { findCondition } from './conditions.js';
import { stalledStatus } from './kstatus.js';

describe('stalledStatus', () => {
  const now = new Date('2026-01-02T03:04:05Z');
  const why = { reason: 'InvalidSpec', message: 'spec.rules[1].priority: rule "b": taken' };

  it('reports Stalled and not Ready with the reason, for the generation', () => {
    const s = stalledStatus(undefined, 4, why, now);
    expect(s.observedGeneration).toBe(4);
    expect(findCondition(s.conditions, 'Stalled')).toMatchObject({ status: 'True', ...why });
    expect(findCondition(s.conditions, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
    });
    expect(findCondition(s.conditions, 'Reconciling')?.status).toBe('False');
  });

  it('keeps what the status said besides the conditions', () => {
    const prev = { observedGeneration: 3, appliedDigest: 'sha256:abc', conditions: [] };
    const s = stalledStatus(prev, 4, why, now);
    expect(s.appliedDigest).toBe('sha256:abc');
    expect(s.observedGeneration).toBe(4);
  });
});
