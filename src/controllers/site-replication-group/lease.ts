/**
 * The primary's write lease (PrimarySecondary; docs/decisions.md §28). Every writer of the
 * primary (each user, group and external mapping the fence would hold on a secondary) also
 * holds `sitesync-lease-<id>`: the fence's Deny statements, in force once `aws:CurrentTime`
 * (set by MinIO itself on every S3 and admin request) is later than the lease's expiry. The
 * operator moves the expiry forward when less than half the lease remains; a primary it cannot
 * reach fences itself when the lease runs out. A forced promotion unfences the new primary only
 * once the old primary's lease has ended for certain (`LeaseBook.endsBy`), so no two sites
 * are ever writable together, even when the old primary comes back before the operator sees it.
 */
import { RESERVED_PREFIX } from '../../api/names.js';
import { canonicalJSON } from '../../replication/digest.js';
import { canonicalPolicy } from '../../replication/policy.js';
import { accountId } from '../../sites/replication-account.js';
import { FENCE_POLICY } from './fence-policy.js';

/** The lease terms the operator runs with (PRIMARY_LEASE_MS, CLOCK_SKEW_MARGIN_MS). */
export interface LeaseTerms {
  /** How long a renewal keeps the primary writable. */
  leaseMs: number;
  /** How far a site's clock may be from the operator's. */
  skewMs: number;
}

export const DEFAULT_LEASE_TERMS: LeaseTerms = { leaseMs: 300_000, skewMs: 10_000 };

/** The group's lease policy on its primary. */
export function leasePolicyName(groupUid: string): string {
  return `${RESERVED_PREFIX}lease-${accountId(groupUid)}`;
}

const CURRENT_TIME = 'aws:CurrentTime';

/** RFC 3339 to the second, as MinIO compares it (`time.RFC3339`). */
const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The lease that ends at `expiresAt`: the fence, in force after it. */
export function leasePolicy(expiresAt: Date) {
  const Condition = { DateGreaterThan: { [CURRENT_TIME]: seconds(expiresAt) } };
  return {
    Version: FENCE_POLICY.Version,
    Statement: FENCE_POLICY.Statement.map((s) => ({ ...s, Condition })),
  };
}

/** The expiry a renewal at `now` writes: a whole second, never earlier than now + lease. */
export function nextExpiry(now: Date, terms: Pick<LeaseTerms, 'leaseMs'>): Date {
  return new Date(Math.ceil((now.getTime() + terms.leaseMs) / 1000) * 1000);
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;

/** One statement's `DateGreaterThan aws:CurrentTime` date (MinIO answers it as a list). */
function statementExpiry(statement: unknown): number | undefined {
  const cond = record(record(record(statement)?.['Condition'])?.['DateGreaterThan']);
  const raw = cond?.[CURRENT_TIME];
  const value: unknown = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw;
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The expiry of a lease policy as a site holds it, when the document is exactly the lease the
 * operator writes (anything else, edited or unreadable: undefined, so it is rewritten).
 */
export function leaseExpiryOf(doc: unknown): Date | undefined {
  const statements = record(canonicalPolicy(doc))?.['Statement'];
  if (!Array.isArray(statements) || statements.length === 0) return undefined;
  const first = statementExpiry(statements[0]);
  if (first === undefined) return undefined;
  const expiresAt = new Date(first);
  const same =
    canonicalJSON(canonicalPolicy(doc)) === canonicalJSON(canonicalPolicy(leasePolicy(expiresAt)));
  return same ? expiresAt : undefined;
}

/**
 * Whether the lease a site holds must be written now: missing or not the operator's, less than
 * half of it left, or ending later than a renewal now would set (the lease was shortened, or
 * the operator's clock went back).
 */
export function renewDue(
  held: Date | undefined,
  now: Date,
  terms: Pick<LeaseTerms, 'leaseMs'>,
): boolean {
  if (held === undefined) return true;
  const left = held.getTime() - now.getTime();
  return left <= terms.leaseMs / 2 || held.getTime() > nextExpiry(now, terms).getTime();
}

/** How long until a lease ending at `expiresAt` is due for renewal (never negative). */
export function renewInMs(expiresAt: Date, now: Date, terms: Pick<LeaseTerms, 'leaseMs'>): number {
  return Math.max(0, expiresAt.getTime() - terms.leaseMs / 2 - now.getTime());
}

/**
 * What this operator process gave each site: the latest expiry it wrote (recorded before the
 * write is sent, so one whose answer was lost counts), and when it started working. A site's
 * lease ends, at the latest, at the later of the two bounds: what this process wrote, and what
 * an earlier process (or leader) may have written before this one started, which cannot end
 * later than start + lease. Plus the clock-skew margin: the site's clock decides.
 */
export class LeaseBook {
  private startedAt: number | undefined;
  private readonly written = new Map<string, number>();

  constructor(readonly terms: LeaseTerms) {}

  /** The first pass of this process begins (before any lease it writes). */
  started(now: Date): void {
    this.startedAt ??= now.getTime();
  }

  wrote(group: string, site: string, expiresAt: Date): void {
    const key = `${group}\u0000${site}`;
    this.written.set(key, Math.max(this.written.get(key) ?? 0, expiresAt.getTime()));
  }

  /** When `site` refuses every write of a leased writer by its own clock, at the latest. */
  endsBy(group: string, site: string, now: Date): Date {
    const started = this.startedAt ?? now.getTime();
    const ours = this.written.get(`${group}\u0000${site}`) ?? 0;
    const before = nextExpiry(new Date(started), this.terms).getTime();
    return new Date(Math.max(ours, before) + this.terms.skewMs);
  }
}
