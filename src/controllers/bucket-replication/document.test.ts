import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import type { ReplicationConfig, ReplicationRule } from '../../replication/replication-config.js';
import { buildReplicationXML } from '../../replication/xml-codec.js';
import {
  documentDigest,
  foreignRules,
  groupRulesOnly,
  mergeWithGroupRules,
  parseCurrent,
  referencedTargets,
  S3_READ_BACK_REWRITES,
  s3ReadBackForm,
  sameDocument,
  serverForm,
  targetsToResync,
  unusedTargets,
} from './document.js';

const ARN_B = 'arn:minio:replication::1111:photos';
const ARN_C = 'arn:minio:replication::2222:photos';

const rule = (
  id: string,
  priority: number,
  extra: Partial<ReplicationRule> = {},
): ReplicationRule => ({
  id,
  priority,
  status: 'Enabled',
  filter: { prefix: '' },
  deleteMarkerReplication: { status: 'Disabled' },
  destination: { bucket: ARN_B },
  ...extra,
});

/** A rule as a SiteReplicationGroup writes it (see _srg-peer-links.ts). */
const peerRule = (peer: string, priority: number): ReplicationRule => ({
  id: `sitesync-${peer}`,
  status: 'Enabled',
  priority,
  filter: { prefix: '' },
  deleteMarkerReplication: { status: 'Enabled' },
  deleteReplication: { status: 'Enabled' },
  existingObjectReplication: { status: 'Enabled' },
  sourceSelectionCriteria: { replicaModifications: { status: 'Enabled' } },
  destination: { bucket: `arn:minio:replication::peer-${peer}:photos` },
});

/** What MinIO returned for a rule we put (observed on a real server). */
const MINIO_READBACK = `<ReplicationConfiguration><Rule><ID>r1</ID><Status>Enabled</Status><Priority>1</Priority><DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication><DeleteReplication><Status>Disabled</Status></DeleteReplication><Destination><Bucket>${ARN_B}</Bucket></Destination><SourceSelectionCriteria><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria><Filter><And><Prefix>raw/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><ExistingObjectReplication><Status>Disabled</Status></ExistingObjectReplication></Rule><Rule><Status>Enabled</Status><Priority>0</Priority><DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication><DeleteReplication><Status>Disabled</Status></DeleteReplication><Destination><Bucket>${ARN_B}</Bucket></Destination><SourceSelectionCriteria><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria><Filter><Prefix></Prefix></Filter><ExistingObjectReplication><Status>Disabled</Status></ExistingObjectReplication></Rule><Role></Role></ReplicationConfiguration>`;

describe('mergeWithGroupRules', () => {
  it('keeps the group sitesync- rules beside ours and drops other rules', () => {
    const current: ReplicationConfig = {
      role: '',
      rules: [peerRule('b', 5), rule('someone-else', 9), peerRule('c', 6)],
    };
    const own: ReplicationConfig = { rules: [rule('mine', 1)] };
    const merged = mergeWithGroupRules(own, current);
    expect(merged.rules.map((r) => [r.id, r.priority])).toEqual([
      ['mine', 1],
      ['sitesync-b', 5],
      ['sitesync-c', 6],
    ]);
    expect(groupRulesOnly(merged).rules.map((r) => r.id)).toEqual(['sitesync-b', 'sitesync-c']);
    expect(foreignRules(current, own)).toEqual(['someone-else']);
  });

  it('moves the group rules above ours only when a priority collides', () => {
    const current: ReplicationConfig = { rules: [peerRule('b', 1), peerRule('c', 2)] };
    const own: ReplicationConfig = { rules: [rule('x', 2), rule('y', 7)] };
    const merged = mergeWithGroupRules(own, current);
    expect(merged.rules.map((r) => [r.id, r.priority])).toEqual([
      ['x', 2],
      ['y', 7],
      ['sitesync-b', 8],
      ['sitesync-c', 9],
    ]);
  });

  it('counts an absent priority as 0, as MinIO does', () => {
    const current: ReplicationConfig = { rules: [peerRule('b', 0)] };
    const { priority: _p, ...noPriority } = rule('x', 0);
    const merged = mergeWithGroupRules({ rules: [noPriority] }, current);
    expect(merged.rules.map((r) => r.priority)).toEqual([undefined, 1]);
  });

  it('leaves operator-only metadata (destination.site) out of the document', () => {
    const own: ReplicationConfig = {
      rules: [rule('x', 1, { destination: { bucket: ARN_B, site: { name: 'b' } } })],
    };
    const merged = mergeWithGroupRules(own, { rules: [] });
    expect(merged.rules[0]?.destination).toEqual({ bucket: ARN_B });
  });

  it('always yields unique priorities, whatever the group holds (property)', () => {
    const prio = fc.integer({ min: 0, max: 20 });
    fc.assert(
      fc.property(
        fc.uniqueArray(prio, { minLength: 1, maxLength: 5 }),
        fc.uniqueArray(prio, { maxLength: 4 }),
        (mine, theirs) => {
          const own = { rules: mine.map((p, i) => rule(`r${i}`, p)) };
          const current = { rules: theirs.map((p, i) => peerRule(`p${i}`, p)) };
          const merged = mergeWithGroupRules(own, current);
          const priorities = merged.rules.map((r) => r.priority ?? 0);
          expect(new Set(priorities).size).toBe(priorities.length);
          expect(merged.rules.slice(0, mine.length).map((r) => r.priority)).toEqual(mine);
        },
      ),
    );
  });
});

describe('serverForm and sameDocument', () => {
  it('equates what we put with what MinIO reads back', () => {
    const put: ReplicationConfig = {
      rules: [
        rule('r1', 1, { filter: { and: { prefix: 'raw/', tags: [{ key: 'k', value: 'v' }] } } }),
        {
          status: 'Enabled',
          deleteMarkerReplication: { status: 'Enabled' },
          destination: { bucket: ARN_B },
        },
      ],
    };
    expect(sameDocument(put, parseCurrent(MINIO_READBACK), 'minio')).toBe(true);
    expect(documentDigest(put, 'minio')).toBe(
      documentDigest(parseCurrent(MINIO_READBACK), 'minio'),
    );
  });

  it('sees a real change', () => {
    const current = parseCurrent(MINIO_READBACK);
    const changed: ReplicationConfig = {
      ...current,
      rules: current.rules.map((r) => ({ ...r, deleteMarkerReplication: { status: 'Enabled' } })),
    };
    expect(sameDocument(current, changed, 'minio')).toBe(false);
  });

  it('does not depend on rule order', () => {
    const a: ReplicationConfig = {
      rules: [rule('a', 1), rule('b', 2, { destination: { bucket: ARN_C } })],
    };
    const b: ReplicationConfig = { rules: [...a.rules].reverse() };
    expect(sameDocument(a, b, 'minio')).toBe(true);
    expect(serverForm(a, 'minio').rules.map((r) => r.id)).toEqual(['b', 'a']);
  });

  it('round-trips: the XML we build reads back to the same document', () => {
    const doc: ReplicationConfig = {
      role: '',
      rules: [rule('a', 1, { existingObjectReplication: { status: 'Enabled' } }), peerRule('b', 2)],
    };
    expect(sameDocument(parseCurrent(buildReplicationXML(doc)), doc, 'minio')).toBe(true);
  });

  it('reads no configuration as an empty one', () => {
    expect(parseCurrent(undefined)).toEqual({ rules: [] });
    expect(parseCurrent('  ')).toEqual({ rules: [] });
  });
});

describe('targetsToResync', () => {
  it('names targets newly reached by an enabled rule with existing-object replication', () => {
    const eor = { existingObjectReplication: { status: 'Enabled' } };
    const before: ReplicationConfig = { rules: [rule('a', 1, eor)] };
    const after: ReplicationConfig = {
      rules: [
        rule('a', 1, eor),
        rule('b', 2, { ...eor, destination: { bucket: ARN_C } }),
        rule('c', 3, { ...eor, status: 'Disabled', destination: { bucket: 'arn:x' } }),
        rule('d', 4, { destination: { bucket: 'arn:y' } }),
      ],
    };
    expect(targetsToResync(before, after)).toEqual([ARN_C]);
    expect(targetsToResync({ rules: [] }, before)).toEqual([ARN_B]);
    expect(targetsToResync(after, after)).toEqual([]);
  });
});

describe('targets', () => {
  it('finds what a document uses and what owned targets it no longer uses', () => {
    const doc: ReplicationConfig = { role: '', rules: [rule('a', 1), peerRule('b', 2)] };
    expect([...referencedTargets(doc)]).toEqual([ARN_B, 'arn:minio:replication::peer-b:photos']);
    expect(unusedTargets([ARN_B, ARN_C], doc)).toEqual([ARN_C]);
    expect([...referencedTargets({ role: ARN_C, rules: [] })]).toEqual([ARN_C]);
  });
});

describe('s3ReadBackForm', () => {
  const rule = (over: Partial<ReplicationRule>): ReplicationRule => ({
    id: 'r',
    priority: 2,
    status: 'Enabled',
    filter: { prefix: 'a/' },
    deleteMarkerReplication: { status: 'Enabled' },
    existingObjectReplication: { status: 'Enabled' },
    destination: { bucket: 'arn:aws:s3:::dst' },
    ...over,
  });
  /** What moto 5.2.5 reads back for a rule. */
  const moto = (r: ReplicationRule, id = r.id): ReplicationRule => ({
    ...(id === undefined ? {} : { id }),
    priority: r.priority ?? 1,
    status: r.status,
    filter: { prefix: '' },
    deleteMarkerReplication: { status: 'Disabled' },
    destination: r.destination,
  });

  it('normalises the listed rewrites where the site shows them, and names them', () => {
    const { id: _i, priority: _p, filter: _f, ...rest } = rule({ prefix: 'x/' });
    const legacy: ReplicationRule = rest;
    const desired = { role: 'arn:aws:iam::1:role/r', rules: [rule({}), legacy] };
    const current = { role: desired.role, rules: [moto(rule({})), moto(legacy, 'made-up-id')] };
    const { config, rewrites } = s3ReadBackForm(desired, current);
    expect(config).toEqual(current);
    expect(sameDocument(current, config, 's3')).toBe(true);
    expect(rewrites).toEqual([
      'deleteMarkerReplication',
      'existingObjectReplication',
      'filter',
      'id',
      'prefix',
      'priority',
    ]);
    for (const r of rewrites) expect(S3_READ_BACK_REWRITES[r]).toMatch(/\S/);
  });

  it('compares element by element where the site reads the document back faithfully', () => {
    const desired = { rules: [rule({})] };
    const faithful = s3ReadBackForm(desired, desired);
    expect(faithful).toEqual({ config: desired, rewrites: [] });
    // A drifted filter on a faithful site is a difference, not a rewrite.
    const drifted = { rules: [rule({ filter: { prefix: 'b/' } })] };
    const r = s3ReadBackForm(desired, drifted);
    expect(r.rewrites).toEqual([]);
    expect(sameDocument(drifted, r.config, 's3')).toBe(false);
  });

  it('still sees a changed destination, status or priority on a rewriting site', () => {
    const desired = { rules: [rule({})] };
    for (const changed of [
      rule({ destination: { bucket: 'arn:aws:s3:::other' } }),
      rule({ status: 'Disabled' }),
      rule({ priority: 3 }),
    ]) {
      const current = { rules: [moto(changed)] };
      const { config } = s3ReadBackForm(desired, current);
      expect(sameDocument(current, config, 's3')).toBe(false);
    }
  });
});
