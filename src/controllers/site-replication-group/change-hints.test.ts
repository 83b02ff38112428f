import { afterEach, describe, expect, it, jest } from '@jest/globals';

import type { ChangeHint, DecodedReport } from '../../sites/change-feed.js';
import {
  ChangeHints,
  MAX_DELAY_MS,
  MAX_PENDING_BUCKETS,
  QUEUED_HOLD_MS,
  QUIET_MS,
  REPORT_GRACE_MS,
  isOwnWrite,
} from './change-hints.js';

const own = { operatorAccessKey: 'op', replicators: new Set(['sitesync-replicator']) };

function hint(extra: Partial<ChangeHint> = {}): ChangeHint {
  return {
    scope: { kind: 'iam' },
    op: 'AddUser',
    deploymentID: 'dep-b',
    accessKey: 'admin',
    userAgent: 'mc',
    ...extra,
  };
}

const report = (...hints: ChangeHint[]): DecodedReport => ({ hints, ignored: 0, malformed: 0 });

function board(now = () => Date.now()) {
  const queued: string[] = [];
  const hints = new ChangeHints({ now, active: true });
  hints.connect({ enqueue: (k) => queued.push(k), known: (uid) => uid === 'uid-new' });
  const sites = new Map([
    ['dep-a', { name: 'a', own }],
    ['dep-b', { name: 'b', own }],
  ]);
  const group = { uid: 'uid-1', key: 'ns/g', token: 'secret-token' };
  hints.register({ ...group, observedAt: now() }, sites);
  // Both sites have reported once (a first report asks for a full observation), and a later
  // observation's reads are expected to be reported.
  hints.deliver('uid-1', 'dep-a', report());
  hints.deliver('uid-1', 'dep-b', report());
  hints.take('ns/g');
  hints.register({ ...group, observedAt: now() }, sites);
  return { hints, queued };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('isOwnWrite', () => {
  it("drops the operator's writes (its key and its user agent) and the replicators'", () => {
    expect(
      isOwnWrite(hint({ accessKey: 'op', userAgent: 'aws-sdk-js/3 sitesync-operator' }), own),
    ).toBe(true);
    expect(isOwnWrite(hint({ accessKey: 'sitesync-replicator' }), own)).toBe(true);
    expect(isOwnWrite(hint({ parentUser: 'sitesync-replicator', accessKey: 'svc' }), own)).toBe(
      true,
    );
  });

  it('keeps a person using the same key with another client', () => {
    expect(isOwnWrite(hint({ accessKey: 'op', userAgent: 'MinIO (linux) mc/2025' }), own)).toBe(
      false,
    );
    expect(isOwnWrite(hint({ accessKey: 'alice', userAgent: 'sitesync-operator' }), own)).toBe(
      false,
    );
  });
});

describe('ChangeHints admission', () => {
  it("takes only the group's token from one of its sites", () => {
    const { hints } = board();
    expect(hints.admit('uid-1', 'Bearer secret-token', 'dep-b')).toEqual({ ok: true });
    expect(hints.admit('uid-1', undefined, 'dep-b')).toEqual({ ok: false, why: 'unauthorized' });
    expect(hints.admit('uid-1', 'Bearer wrong', 'dep-b')).toEqual({
      ok: false,
      why: 'unauthorized',
    });
    expect(hints.admit('uid-1', 'secret-token', 'dep-b')).toEqual({
      ok: false,
      why: 'unauthorized',
    });
    expect(hints.admit('uid-1', 'Bearer secret-token', 'dep-x')).toEqual({
      ok: false,
      why: 'foreign-site',
    });
    expect(hints.admit('uid-1', 'Bearer secret-token', undefined)).toEqual({
      ok: false,
      why: 'foreign-site',
    });
    expect(hints.admit('uid-x', 'Bearer secret-token', 'dep-b')).toEqual({
      ok: false,
      why: 'unknown-group',
    });
    expect(hints.admit('uid-new', 'Bearer x', 'dep-b')).toEqual({ ok: false, why: 'not-ready' });
  });

  it('answers not ready until this replica leads', () => {
    const hints = new ChangeHints();
    hints.register(
      { uid: 'uid-1', key: 'ns/g', token: 't', observedAt: 0 },
      new Map([['dep-b', { name: 'b', own }]]),
    );
    expect(hints.admit('uid-1', 'Bearer t', 'dep-b')).toEqual({ ok: false, why: 'not-ready' });
    hints.activate();
    expect(hints.admit('uid-1', 'Bearer t', 'dep-b')).toEqual({ ok: true });
  });

  it('refuses everything once the group is forgotten', () => {
    const { hints } = board();
    hints.forget('ns/g');
    expect(hints.admit('uid-1', 'Bearer secret-token', 'dep-b')).toEqual({
      ok: false,
      why: 'unknown-group',
    });
  });
});

describe('ChangeHints accumulation', () => {
  it('debounces a burst into one queued key and hands over what it named', () => {
    jest.useFakeTimers();
    const { hints, queued } = board();
    const t0 = Date.now();
    hints.deliver('uid-1', 'dep-b', report(hint({ at: t0 - 5 })));
    jest.advanceTimersByTime(QUIET_MS - 1);
    hints.deliver(
      'uid-1',
      'dep-b',
      report(hint({ scope: { kind: 'bucket', bucket: 'photos', listed: false } })),
    );
    hints.deliver(
      'uid-1',
      'dep-a',
      report(hint({ scope: { kind: 'bucket', bucket: 'new', listed: true } })),
    );
    expect(queued).toEqual([]);
    jest.advanceTimersByTime(QUIET_MS);
    expect(queued).toEqual(['ns/g']);
    const taken = hints.take('ns/g');
    expect(taken.catchUp).toBeUndefined();
    expect(taken.pending?.iam).toBe(true);
    expect([...(taken.pending?.buckets ?? [])]).toEqual([
      ['photos', false],
      ['new', true],
    ]);
    expect([...(taken.pending?.sites ?? [])].sort()).toEqual(['a', 'b']);
    // When the first hint came and when its site says the change was made (for the log).
    expect(taken.pending?.firstAt).toBe(t0);
    expect(taken.pending?.changedAt).toBe(t0 - 5);
    expect(hints.take('ns/g')).toEqual({});
  });

  it('queues a steady stream no later than MAX_DELAY_MS after its first hint', () => {
    jest.useFakeTimers();
    const { hints, queued } = board();
    for (let t = 0; t < MAX_DELAY_MS + 100; t += QUIET_MS / 2) {
      hints.deliver('uid-1', 'dep-b', report(hint()));
      jest.advanceTimersByTime(QUIET_MS / 2);
      if (queued.length > 0) break;
    }
    expect(queued).toEqual(['ns/g']);
  });

  it('does not queue the key again for hints its queued pass has not taken yet', () => {
    jest.useFakeTimers();
    const { hints, queued } = board();
    hints.deliver('uid-1', 'dep-b', report(hint()));
    jest.advanceTimersByTime(QUIET_MS);
    expect(queued).toEqual(['ns/g']);
    // The second call of the same change, before the pass takes the first: that pass takes it.
    hints.deliver(
      'uid-1',
      'dep-b',
      report(hint({ scope: { kind: 'bucket', bucket: 'photos', listed: false } })),
    );
    jest.advanceTimersByTime(QUIET_MS * 2);
    expect(queued).toEqual(['ns/g']);
    expect([...(hints.take('ns/g').pending?.buckets.keys() ?? [])]).toEqual(['photos']);
    // After the take, a hint queues the key again.
    hints.deliver('uid-1', 'dep-b', report(hint()));
    jest.advanceTimersByTime(QUIET_MS);
    expect(queued).toEqual(['ns/g', 'ns/g']);
    // A pass that never takes them (it failed before): the key is queued again after the hold.
    jest.advanceTimersByTime(QUEUED_HOLD_MS);
    hints.deliver('uid-1', 'dep-b', report(hint()));
    jest.advanceTimersByTime(QUIET_MS);
    expect(queued).toEqual(['ns/g', 'ns/g', 'ns/g']);
  });

  it("never queues for the operator's own writes, ignored or malformed entries", () => {
    jest.useFakeTimers();
    const { hints, queued } = board();
    hints.deliver('uid-1', 'dep-b', {
      hints: [hint({ accessKey: 'op', userAgent: 'sitesync-operator' })],
      ignored: 10_000,
      malformed: 0,
    });
    jest.advanceTimersByTime(1000);
    expect(queued).toEqual([]);
    expect(hints.take('ns/g')).toEqual({ pending: undefined, catchUp: undefined });
  });

  it('asks for everything past MAX_PENDING_BUCKETS buckets, on a lost report, an unscoped call', () => {
    jest.useFakeTimers();
    const { hints } = board();
    for (let i = 0; i <= MAX_PENDING_BUCKETS; i++) {
      hints.deliver(
        'uid-1',
        'dep-b',
        report(hint({ scope: { kind: 'bucket', bucket: `b${i}`, listed: false } })),
      );
    }
    expect(hints.take('ns/g').catchUp).toBe('unscoped');
    hints.lost('uid-1');
    expect(hints.take('ns/g').catchUp).toBe('lost-report');
    hints.deliver('uid-1', 'dep-b', report(hint({ scope: { kind: 'everything' } })));
    expect(hints.take('ns/g').catchUp).toBe('unscoped');
  });

  it('asks for everything when reports resume after a silence longer than the grace', () => {
    let now = 1_000_000;
    const { hints } = board(() => now);
    // An observation at 1_000_100 produced reports; none came, and one arrives much later.
    now += 100;
    const sites = new Map([['dep-b', { name: 'b', own }]]);
    hints.register({ uid: 'uid-1', key: 'ns/g', token: 'secret-token', observedAt: now }, sites);
    now += REPORT_GRACE_MS + 1;
    hints.deliver('uid-1', 'dep-b', report());
    expect(hints.take('ns/g').catchUp).toBe('reports-resumed');
    now += 1000;
    hints.deliver('uid-1', 'dep-b', report());
    expect(hints.take('ns/g').catchUp).toBeUndefined();
    expect(hints.reportingSites('ns/g', now - 10)).toEqual(['b']);
  });

  it("asks for everything at a site's first report, not for the reads made before it", () => {
    let now = 1_000_000;
    const hints = new ChangeHints({ now: () => now, active: true });
    const sites = new Map([['dep-b', { name: 'b', own }]]);
    // The first observation configured the target after its reads: nothing of it is reported,
    // and a change made between its reads and the target was reported nowhere.
    hints.register({ uid: 'uid-1', key: 'ns/g', token: 't', observedAt: now - 500 }, sites);
    now += REPORT_GRACE_MS + 1;
    hints.deliver('uid-1', 'dep-b', report());
    expect(hints.take('ns/g').catchUp).toBe('reports-started');
    // The next observation's reads are reported: those that came before its end count.
    const startedAt = now;
    now += 200;
    hints.deliver('uid-1', 'dep-b', report());
    now += 300;
    hints.register({ uid: 'uid-1', key: 'ns/g', token: 't', observedAt: startedAt }, sites);
    now += REPORT_GRACE_MS + 1;
    hints.deliver('uid-1', 'dep-b', report());
    expect(hints.take('ns/g').catchUp).toBeUndefined();
  });
});
