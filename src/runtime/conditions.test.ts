import { describe, expect, it } from '@jest/globals';

import { setCondition, setConditions } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('setCondition', () => {
  it('adds a condition with the transition time', () => {
    const c = setCondition([], { type: 'Ready', status: 'False', reason: 'R', message: 'm' }, t0);
    expect(c).toEqual([
      {
        type: 'Ready',
        status: 'False',
        reason: 'R',
        message: 'm',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not flip', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'R', message: 'm' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'R2', message: 'n' }, t1);
    expect(b[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    expect(b[0]?.reason).toBe('R2');
  });

  it('moves lastTransitionTime when the status flips, and keeps other conditions', () => {
    const a = setConditions(
      [],
      [
        { type: 'Ready', status: 'False', reason: 'R', message: '' },
        { type: 'Degraded', status: 'True', reason: 'D', message: '' },
      ],
      t0,
    );
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'OK', message: '' }, t1);
    expect(b.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
    expect(b[0]?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(b[1]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });
});
