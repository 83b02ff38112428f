import { describe, expect, it } from '@jest/globals';
import type { z } from 'zod';

import { checkCrossFieldRules } from './common.js';
import { openAPISchema } from './crd.js';
import {
  REPLICATION_DESTINATION_RULES,
  REPLICATION_FILTER_RULES,
  REPLICATION_RULES_RULES,
  REPLICATION_RULE_RULES,
  type ReplicationRuleInput,
  ReplicationConfigurationSchema,
  ReplicationDestinationSchema,
  ReplicationFilterSchema,
  ReplicationRuleSchema,
  ReplicationRulesSchema,
} from './replication-config.js';

const rule = (extra: Partial<ReplicationRuleInput> = {}): ReplicationRuleInput => ({
  id: 'r1',
  priority: 1,
  filter: { prefix: 'logs/' },
  deleteMarkerReplication: { status: 'Disabled' },
  destination: { bucket: 'arn:aws:s3:::dest' },
  ...extra,
});

/** `value` without `key`. */
function omit<T extends object>(value: T, key: keyof T): T {
  const copy = { ...value };
  Reflect.deleteProperty(copy, key);
  return copy;
}

const issues = (schema: z.ZodType, value: unknown) =>
  (schema.safeParse(value).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.code}`);

describe('ReplicationRuleSchema', () => {
  it('fills in the defaults the CRD applies', () => {
    const parsed = ReplicationRuleSchema.parse(
      rule({
        destination: {
          site: 'site-b',
          metrics: { status: 'Enabled', eventThreshold: {} },
          replicationTime: { status: 'Enabled' },
        },
      }),
    );
    expect(parsed.status).toBe('Enabled');
    expect(parsed.destination.replicationTime?.time).toEqual({ minutes: 15 });
    expect(parsed.destination.metrics?.eventThreshold).toEqual({ minutes: 15 });
  });

  it('bounds what the apiserver can check', () => {
    const d = { bucket: 'arn:aws:s3:::dest' };
    expect(issues(ReplicationRuleSchema, rule({ id: 'i'.repeat(256) }))).toEqual(['id: too_big']);
    expect(issues(ReplicationRuleSchema, rule({ id: '' }))).toEqual(['id: too_small']);
    expect(issues(ReplicationRuleSchema, rule({ priority: -1 }))).toEqual(['priority: too_small']);
    expect(issues(ReplicationRuleSchema, rule({ priority: 1.5 }))).toEqual([
      'priority: invalid_type',
    ]);
    expect(issues(ReplicationRuleSchema, rule({ prefix: 'p'.repeat(1025) }))).toEqual([
      'prefix: too_big',
    ]);
    expect(issues(ReplicationRuleSchema, rule({ status: 'On' as 'Enabled' }))).toEqual([
      'status: invalid_value',
    ]);
    expect(
      issues(
        ReplicationRuleSchema,
        rule({
          filter: {
            and: { tags: Array.from({ length: 11 }, (_, i) => ({ key: `${i}`, value: '' })) },
          },
        }),
      ),
    ).toEqual(['filter.and.tags: too_big']);
    expect(
      issues(ReplicationRuleSchema, rule({ filter: { tag: { key: '', value: 'v'.repeat(257) } } })),
    ).toEqual(['filter.tag.key: too_small', 'filter.tag.value: too_big']);
    expect(
      issues(
        ReplicationRuleSchema,
        rule({
          destination: { ...d, replicationTime: { status: 'Enabled', time: { minutes: 10 } } },
        }),
      ),
    ).toEqual(['destination.replicationTime.time.minutes: too_small']);
    expect(
      issues(
        ReplicationRuleSchema,
        rule({
          destination: { ...d, metrics: { status: 'Enabled', eventThreshold: { minutes: 60 } } },
        }),
      ),
    ).toEqual(['destination.metrics.eventThreshold.minutes: too_big']);
    expect(
      issues(ReplicationRuleSchema, rule({ destination: { ...d, account: '12345' } })),
    ).toEqual(['destination.account: too_small', 'destination.account: invalid_format']);
    expect(issues(ReplicationRuleSchema, rule({ destination: { site: 'Site_B' } }))).toEqual([
      'destination.site: invalid_format',
    ]);
    expect(
      issues(
        ReplicationRuleSchema,
        rule({ destination: { ...d, accessControlTranslation: { owner: 'Me' as 'Destination' } } }),
      ),
    ).toEqual(['destination.accessControlTranslation.owner: invalid_value']);
  });
});

describe('ReplicationRulesSchema', () => {
  it('holds 1 to 1000 rules', () => {
    expect(issues(ReplicationRulesSchema, [])).toEqual([': too_small']);
    expect(
      issues(
        ReplicationRulesSchema,
        Array.from({ length: 1001 }, () => rule()),
      ),
    ).toEqual([': too_big']);
    expect(
      issues(
        ReplicationRulesSchema,
        Array.from({ length: 1000 }, () => rule()),
      ),
    ).toEqual([]);
  });
});

describe('cross-field rules (checked as CEL by the apiserver)', () => {
  const parsedRule = (extra: Partial<ReplicationRuleInput> = {}) =>
    ReplicationRuleSchema.parse(rule(extra));

  it('hold for a valid rule', () => {
    const r = parsedRule();
    expect(checkCrossFieldRules(r, REPLICATION_RULE_RULES)).toEqual([]);
    expect(checkCrossFieldRules(r.destination, REPLICATION_DESTINATION_RULES)).toEqual([]);
    expect(checkCrossFieldRules(r.filter ?? {}, REPLICATION_FILTER_RULES)).toEqual([]);
    expect(checkCrossFieldRules([r], REPLICATION_RULES_RULES)).toEqual([]);
  });

  it('filter: at most one of prefix, tag and and', () => {
    const f = ReplicationFilterSchema.parse({ prefix: 'a', and: { prefix: 'b' } });
    expect(checkCrossFieldRules(f, REPLICATION_FILTER_RULES)).toEqual([
      'filter takes at most one of prefix, tag and and',
    ]);
    expect(checkCrossFieldRules({}, REPLICATION_FILTER_RULES)).toEqual([]);
  });

  it('destination: bucket or site; site takes a bucket name; RTC needs metrics; ownership needs account', () => {
    const check = (d: unknown) =>
      checkCrossFieldRules(ReplicationDestinationSchema.parse(d), REPLICATION_DESTINATION_RULES);
    expect(check({})).toEqual([
      'destination needs bucket (an ARN or a bucket name) or site (a managed site)',
    ]);
    expect(check({ site: 'b', bucket: 'arn:aws:s3:::x' })).toEqual([
      'with destination.site, destination.bucket names the bucket on that site, not an ARN',
    ]);
    expect(check({ site: 'b', bucket: 'photos' })).toEqual([]);
    expect(check({ site: 'b', replicationTime: { status: 'Enabled' } })).toEqual([
      'destination.replicationTime Enabled requires destination.metrics Enabled',
    ]);
    expect(
      check({ site: 'b', replicationTime: { status: 'Enabled' }, metrics: { status: 'Enabled' } }),
    ).toEqual([]);
    expect(check({ site: 'b', accessControlTranslation: { owner: 'Destination' } })).toEqual([
      'destination.accessControlTranslation requires destination.account',
    ]);
  });

  it('rule: filter or prefix; filter needs priority and deleteMarkerReplication; tag disables delete markers; KMS needs a key', () => {
    const check = (r: ReplicationRuleInput) =>
      checkCrossFieldRules(ReplicationRuleSchema.parse(r), REPLICATION_RULE_RULES);
    expect(check(rule({ prefix: 'old/' }))).toEqual([
      'a rule takes filter (V2) or the legacy prefix (V1), not both',
    ]);
    expect(check(omit(rule(), 'priority'))).toEqual([
      'a rule with a filter needs priority and deleteMarkerReplication',
    ]);
    expect(
      check(
        rule({
          filter: { tag: { key: 'k', value: 'v' } },
          deleteMarkerReplication: { status: 'Enabled' },
        }),
      ),
    ).toEqual(['deleteMarkerReplication must be Disabled when filter.tag is used']);
    expect(
      check(rule({ sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } } })),
    ).toEqual([
      'sourceSelectionCriteria.sseKmsEncryptedObjects Enabled requires destination.encryptionConfiguration.replicaKmsKeyID',
    ]);
  });

  it('rules: V1 and V2 not mixed', () => {
    const v1 = omit(rule({ prefix: 'old/' }), 'filter');
    const rs = ReplicationRulesSchema.parse([rule(), v1]);
    expect(checkCrossFieldRules(rs, REPLICATION_RULES_RULES)).toEqual([
      'rules cannot mix filter (V2) and the legacy rule-level prefix (V1)',
    ]);
  });
});

type Json = Record<string, unknown>;

/** Every schema node below `node`, with its path. */
function* nodes(node: unknown, path = ''): Generator<[string, Json]> {
  if (typeof node !== 'object' || node === null) return;
  const n = node as Json;
  yield [path, n];
  for (const [k, v] of Object.entries((n['properties'] ?? {}) as Json))
    yield* nodes(v, `${path}.${k}`);
  if (n['items'] !== undefined) yield* nodes(n['items'], `${path}[]`);
}

describe('the CRD schema generated from these schemas', () => {
  const schema = openAPISchema(ReplicationConfigurationSchema);
  const all = [...nodes(schema)];

  it('is structural: typed nodes, no unions, no free-form maps', () => {
    for (const [path, n] of all) {
      expect([path, n['type']]).not.toEqual([path, undefined]);
      for (const key of ['anyOf', 'oneOf', 'allOf', 'not', 'additionalProperties']) {
        expect([path, key in n]).toEqual([path, false]);
      }
    }
  });

  it('describes every field for kubectl explain (list items share the list description)', () => {
    const undescribed = all.filter(
      ([path, n]) => path !== '' && !path.endsWith('[]') && typeof n['description'] !== 'string',
    );
    expect(undescribed.map(([p]) => p)).toEqual([]);
  });

  it('bounds every string and list, so CEL cost estimates stay small', () => {
    for (const [path, n] of all) {
      if (n['type'] === 'string') expect([path, typeof n['maxLength']]).toEqual([path, 'number']);
      if (n['type'] === 'array') expect([path, typeof n['maxItems']]).toEqual([path, 'number']);
    }
  });

  it('carries the CEL rules where their fields are', () => {
    const rulesOf = (path: string) =>
      (all.find(([p]) => p === path)?.[1]['x-kubernetes-validations'] as { rule: string }[]).map(
        (v) => v.rule,
      );
    expect(rulesOf('.rules')).toEqual(REPLICATION_RULES_RULES.map((r) => r.rule));
    expect(rulesOf('.rules[]')).toEqual(REPLICATION_RULE_RULES.map((r) => r.rule));
    expect(rulesOf('.rules[].filter')).toEqual(REPLICATION_FILTER_RULES.map((r) => r.rule));
    expect(rulesOf('.rules[].destination')).toEqual(
      REPLICATION_DESTINATION_RULES.map((r) => r.rule),
    );
  });

  it('makes And tags a list-map keyed by key (duplicate keys rejected at admission)', () => {
    const tags = all.find(([p]) => p === '.rules[].filter.and.tags')?.[1];
    expect(tags?.['x-kubernetes-list-type']).toBe('map');
    expect(tags?.['x-kubernetes-list-map-keys']).toEqual(['key']);
  });
});
