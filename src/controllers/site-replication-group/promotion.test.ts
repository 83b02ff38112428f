import { describe, expect, it } from '@jest/globals';

import {
  type PromotionStatus,
  type SiteReplicationGroup,
  SiteReplicationGroupSpecSchema,
} from '../../api/site-replication-group.js';
import { Failures } from './failures.js';
import type { Pass } from './pass.js';
import { advance, leaseWaitMs, promotionOf, rolesOf } from './promotion.js';

const spec = (extra: object = {}) =>
  SiteReplicationGroupSpecSchema.parse({
    sites: ['a', 'b', 'c'].map((n) => ({
      name: n,
      endpoint: `https://${n}:9000`,
      credentialsSecret: { name: n },
    })),
    mode: 'PrimarySecondary',
    primary: 'b',
    ...extra,
  });

const group = (status: object): SiteReplicationGroup =>
  ({ metadata: { name: 'g' }, spec: spec(), status }) as unknown as SiteReplicationGroup;

const now = new Date('2026-12-07T22:00:00Z');

describe('promotionOf', () => {
  it('starts one when spec.primary names another site than the primary in effect', () => {
    const p = promotionOf(group({ mode: 'PrimarySecondary', primary: 'a' }), spec(), now);
    expect(p).toEqual({
      from: 'a',
      to: 'b',
      step: 'FenceOldPrimary',
      steps: [{ name: 'FenceOldPrimary', startedAt: now.toISOString() }],
      waitingFor: '',
    });
  });

  it('starts none coming from ActiveActive, at creation, or when nothing changed', () => {
    expect(promotionOf(group({ mode: 'ActiveActive', primary: 'a' }), spec(), now)).toBe(undefined);
    expect(promotionOf(group({}), spec(), now)).toBe(undefined);
    expect(promotionOf(group({ mode: 'PrimarySecondary', primary: 'b' }), spec(), now)).toBe(
      undefined,
    );
    const aa = spec({ mode: 'ActiveActive' });
    expect(promotionOf(group({ mode: 'PrimarySecondary', primary: 'a' }), aa, now)).toBe(undefined);
  });

  it('continues the one running, even when spec.primary changed again', () => {
    const running = {
      from: 'a',
      to: 'c',
      step: 'WaitForSync',
      steps: [],
      waitingFor: 'x',
    };
    const g = group({ mode: 'PrimarySecondary', primary: 'a', promotion: running });
    expect(promotionOf(g, spec(), now)).toBe(running);
  });
});

describe('promotionOf after a switch to ActiveActive', () => {
  it('ends the running promotion, closing its step with why', () => {
    const running = {
      from: 'a',
      to: 'c',
      step: 'WaitForSync',
      steps: [
        { name: 'FenceOldPrimary', startedAt: 't0', endedAt: 't1' },
        { name: 'WaitForSync', startedAt: 't1' },
      ],
      waitingFor: 'x',
    };
    const g = group({ mode: 'PrimarySecondary', primary: 'a', promotion: running });
    const p = promotionOf(g, spec({ mode: 'ActiveActive' }), now);
    expect(p?.step).toBe('Done');
    expect(p?.steps[1]).toEqual({
      name: 'WaitForSync',
      startedAt: 't1',
      endedAt: now.toISOString(),
      message: 'ended: the group switched to ActiveActive',
    });
    expect(rolesOf(spec({ mode: 'ActiveActive' }), p)).toEqual({
      leader: undefined,
      fenced: new Set(),
    });
  });
});

describe('rolesOf', () => {
  const p = (step: PromotionStatus['step']): PromotionStatus => ({
    from: 'a',
    to: 'b',
    step,
    steps: [],
    waitingFor: '',
  });
  it('fences every site but the primary outside a promotion, none in ActiveActive', () => {
    expect(rolesOf(spec(), undefined)).toEqual({ leader: 'b', fenced: new Set(['a', 'c']) });
    expect(rolesOf(spec({ mode: 'ActiveActive' }), undefined)).toEqual({
      leader: undefined,
      fenced: new Set(),
    });
  });

  it('never leaves two sites writable: all fenced until the new primary is unfenced', () => {
    const all = new Set(['a', 'b', 'c']);
    expect(rolesOf(spec(), p('FenceOldPrimary'))).toEqual({ leader: 'a', fenced: all });
    expect(rolesOf(spec(), p('WaitForSync'))).toEqual({ leader: 'a', fenced: all });
    expect(rolesOf(spec(), p('SwitchLinks'))).toEqual({ leader: 'b', fenced: all });
    expect(rolesOf(spec(), p('UnfenceNewPrimary'))).toEqual({
      leader: 'b',
      fenced: new Set(['a', 'c']),
    });
  });
});

describe('a forced promotion and the old primary write lease', () => {
  const leaseEnd = new Date('2026-12-07T22:05:00Z');
  // The pass as advance() reads it: the annotation, which sites answered.
  const passOf = (up: readonly string[]) =>
    ({
      obj: { metadata: { name: 'g', annotations: { 'sitesync.io/force-promote': 'b' } } },
      spec: spec(),
      observed: ['a', 'b', 'c'].map((n) => ({ site: { name: n }, ok: up.includes(n) })),
      identity: { held: new Map() },
    }) as unknown as Pass;
  const facts = (at: Date) => ({
    failures: new Failures(),
    fenced: [],
    now: at,
    oldLeaseEndsAt: leaseEnd,
  });
  const start: PromotionStatus = {
    from: 'a',
    to: 'b',
    step: 'FenceOldPrimary',
    steps: [{ name: 'FenceOldPrimary', startedAt: now.toISOString() }],
    waitingFor: '',
  };

  it('records when the old lease ends, and keeps every site fenced until then, saying why', () => {
    const pass = passOf(['b', 'c']);
    const forced = advance(pass, start, facts(now));
    expect(forced).toMatchObject({
      step: 'SwitchLinks',
      forced: true,
      oldLeaseEndsAt: leaseEnd.toISOString(),
    });
    const before = new Date(leaseEnd.getTime() - 1000);
    expect(leaseWaitMs(forced, before)).toBe(1000);
    const waiting = advance(pass, forced, facts(before));
    expect(waiting.step).toBe('SwitchLinks');
    expect(waiting.waitingFor).toContain(`write lease of a`);
    expect(waiting.waitingFor).toContain(leaseEnd.toISOString());
    expect(rolesOf(spec(), waiting).fenced).toEqual(new Set(['a', 'b', 'c']));

    const after = advance(pass, waiting, facts(leaseEnd));
    expect(after.step).toBe('UnfenceNewPrimary');
    expect(leaseWaitMs(after, leaseEnd)).toBe(0);
    expect(after.steps.find((s) => s.name === 'UnfenceNewPrimary')?.startedAt).toBe(
      leaseEnd.toISOString(),
    );
  });

  it('no lease wait when the operator fenced the old primary itself before it went away', () => {
    const fenced: PromotionStatus = {
      ...start,
      step: 'WaitForSync',
      steps: [
        { name: 'FenceOldPrimary', startedAt: 't0', endedAt: 't1' },
        { name: 'WaitForSync', startedAt: 't1' },
      ],
    };
    const forced = advance(passOf(['b', 'c']), fenced, facts(now));
    expect(forced.step).toBe('SwitchLinks');
    expect(forced.oldLeaseEndsAt).toBe(undefined);
    expect(advance(passOf(['b', 'c']), forced, facts(now)).step).toBe('UnfenceNewPrimary');
  });
});
