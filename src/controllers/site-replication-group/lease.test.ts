import { describe, expect, it } from '@jest/globals';

import { FENCE_POLICY } from './fence-policy.js';
import {
  LeaseBook,
  leaseExpiryOf,
  leasePolicy,
  leasePolicyName,
  nextExpiry,
  renewDue,
  renewInMs,
} from './lease.js';

const at = (s: string) => new Date(s);
const terms = { leaseMs: 60_000, skewMs: 5_000 };

describe('leasePolicy', () => {
  it('is the fence, in force only after the expiry (aws:CurrentTime, to the second)', () => {
    const doc = leasePolicy(at('2026-12-08T01:00:00Z'));
    expect(doc.Statement).toHaveLength(FENCE_POLICY.Statement.length);
    doc.Statement.forEach((s, i) => {
      expect(s).toEqual({
        ...FENCE_POLICY.Statement[i],
        Condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-12-08T01:00:00Z' } },
      });
      expect(s.Effect).toBe('Deny');
    });
  });

  it('is named after the group, in the reserved prefix', () => {
    expect(leasePolicyName('5d7f-uid')).toMatch(/^sitesync-lease-/);
    expect(leasePolicyName('a')).not.toBe(leasePolicyName('b'));
  });
});

describe('leaseExpiryOf', () => {
  it('reads back the expiry of the lease as MinIO answers it (values as lists, actions sorted)', () => {
    const answered = {
      Version: '2012-10-17',
      Statement: FENCE_POLICY.Statement.map((s) => ({
        ...s,
        ...('Action' in s ? { Action: [...s.Action].sort() } : {}),
        Condition: { DateGreaterThan: { 'aws:CurrentTime': ['2026-12-08T01:00:00Z'] } },
      })),
    };
    expect(leaseExpiryOf(answered)).toEqual(at('2026-12-08T01:00:00Z'));
    expect(leaseExpiryOf(JSON.stringify(leasePolicy(at('2026-12-08T02:00:00Z'))))).toEqual(
      at('2026-12-08T02:00:00Z'),
    );
  });

  it('refuses a document that is not exactly the lease (edited, missing a statement, garbage)', () => {
    const doc = leasePolicy(at('2026-12-08T01:00:00Z'));
    expect(leaseExpiryOf({ ...doc, Statement: doc.Statement.slice(0, 1) })).toBe(undefined);
    const other = {
      ...doc,
      Statement: [doc.Statement[0], { ...doc.Statement[1], Effect: 'Allow' }],
    };
    expect(leaseExpiryOf(other)).toBe(undefined);
    const twoDates = {
      ...doc,
      Statement: [doc.Statement[0], leasePolicy(at('2030-01-01T00:00:00Z')).Statement[1]],
    };
    expect(leaseExpiryOf(twoDates)).toBe(undefined);
    expect(leaseExpiryOf(FENCE_POLICY)).toBe(undefined);
    expect(leaseExpiryOf('not json')).toBe(undefined);
    expect(leaseExpiryOf(undefined)).toBe(undefined);
  });
});

describe('renewDue', () => {
  const now = at('2026-12-08T01:00:00Z');
  it('renews a missing lease, and one with half or less left', () => {
    expect(renewDue(undefined, now, terms)).toBe(true);
    expect(renewDue(at('2026-12-08T01:00:30Z'), now, terms)).toBe(true);
    expect(renewDue(at('2026-12-08T01:00:10Z'), now, terms)).toBe(true);
    expect(renewDue(at('2026-12-08T00:59:00Z'), now, terms)).toBe(true);
  });

  it('writes nothing while more than half is left', () => {
    expect(renewDue(at('2026-12-08T01:00:31Z'), now, terms)).toBe(false);
    expect(renewDue(at('2026-12-08T01:01:00Z'), now, terms)).toBe(false);
  });

  it('rewrites a lease that ends later than a renewal would set (lease shortened, clock back)', () => {
    expect(renewDue(at('2026-12-08T01:05:00Z'), now, terms)).toBe(true);
  });

  it('a renewal sets a whole second, at least a lease ahead; due again after half of it', () => {
    const next = nextExpiry(at('2026-12-08T01:00:00.200Z'), terms);
    expect(next).toEqual(at('2026-12-08T01:01:01Z'));
    expect(renewDue(next, at('2026-12-08T01:00:00.200Z'), terms)).toBe(false);
    expect(renewInMs(next, at('2026-12-08T01:00:00.200Z'), terms)).toBe(30_800);
    expect(renewInMs(next, at('2026-12-08T01:05:00Z'), terms)).toBe(0);
  });
});

describe('LeaseBook.endsBy', () => {
  it('a lease this process wrote ends at its expiry plus the skew margin', () => {
    const book = new LeaseBook(terms);
    book.started(at('2026-12-08T00:00:00Z'));
    book.wrote('g', 'p', at('2026-12-08T01:01:00Z'));
    book.wrote('g', 'p', at('2026-12-08T01:00:30Z'));
    expect(book.endsBy('g', 'p', at('2026-12-08T01:02:00Z'))).toEqual(at('2026-12-08T01:01:05Z'));
  });

  it('a site this process never leased: a lease an earlier process wrote ends by start + lease', () => {
    const book = new LeaseBook(terms);
    book.started(at('2026-12-08T01:00:00Z'));
    book.started(at('2026-12-08T02:00:00Z'));
    expect(book.endsBy('g', 'p', at('2026-12-08T01:00:10Z'))).toEqual(at('2026-12-08T01:01:05Z'));
    book.wrote('g', 'p', at('2026-12-08T01:00:50Z'));
    expect(book.endsBy('g', 'p', at('2026-12-08T01:00:10Z'))).toEqual(at('2026-12-08T01:01:05Z'));
    expect(book.endsBy('other', 'p', at('2026-12-08T01:00:10Z'))).toEqual(
      at('2026-12-08T01:01:05Z'),
    );
  });
});
