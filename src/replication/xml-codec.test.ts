import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import type {
  Destination,
  Filter,
  ReplicationConfig,
  ReplicationRule,
  StatusElement,
  Tag,
} from './replication-config.js';
import { documentOf } from './replication-config.js';
import {
  ReplicationXMLError,
  S3_XMLNS,
  buildReplicationXML,
  invalidXmlCharIndex,
  parseReplicationXML,
} from './xml-codec.js';

// The sample documents of the seeds, verbatim (whitespace as the seeds print it).

/** AWS PutBucketReplication, "Sample Request: Add a replication configuration". */
const AWS_SAMPLE =
  '<ReplicationConfiguration> <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role> <Rule> <ID>rule1</ID> <Status>Enabled</Status> <Priority>1</Priority> <DeleteMarkerReplication> <Status>Disabled</Status> </DeleteMarkerReplication> <Filter> <And> <Prefix>TaxDocs</Prefix> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> </And> </Filter> <Destination> <Bucket>arn:aws:s3:::exampletargetbucket</Bucket> </Destination> </Rule> </ReplicationConfiguration>';

/** AWS, "Sample Request: ... with Amazon S3 Replication Time Control Enabled". */
const AWS_RTC_SAMPLE =
  '<?xml version="1.0" encoding="UTF-8"?> <ReplicationConfiguration> <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role> <Rule> <ID>rule1</ID> <Status>Enabled</Status> <Priority>1</Priority> <Filter> <And> <Prefix>TaxDocs</Prefix> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> <Tag> <Key>key1</Key> <Value>value1</Value> </Tag> </And> </Filter> <Destination> <Bucket>arn:aws:s3:::exampletargetbucket</Bucket> <Metrics> <Status>Enabled</Status> <EventThreshold> <Minutes>15</Minutes> </EventThreshold> </Metrics> <ReplicationTime> <Status>Enabled</Status> <Time> <Minutes>15</Minutes> </Time> </ReplicationTime> </Destination> </Rule> </ReplicationConfiguration>';

/** AWS "Request Syntax", with `integer` made 15 and the `...` continuation marks removed. */
const AWS_REQUEST_SYNTAX =
  '<?xml version="1.0" encoding="UTF-8"?> <ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"> <Role>string</Role> <Rule> <DeleteMarkerReplication> <Status>string</Status> </DeleteMarkerReplication> <Destination> <AccessControlTranslation> <Owner>string</Owner> </AccessControlTranslation> <Account>string</Account> <Bucket>string</Bucket> <EncryptionConfiguration> <ReplicaKmsKeyID>string</ReplicaKmsKeyID> </EncryptionConfiguration> <Metrics> <EventThreshold> <Minutes>15</Minutes> </EventThreshold> <Status>string</Status> </Metrics> <ReplicationTime> <Status>string</Status> <Time> <Minutes>15</Minutes> </Time> </ReplicationTime> <StorageClass>string</StorageClass> </Destination> <ExistingObjectReplication> <Status>string</Status> </ExistingObjectReplication> <Filter> <And> <Prefix>string</Prefix> <Tag> <Key>string</Key> <Value>string</Value> </Tag> </And> <Prefix>string</Prefix> <Tag> <Key>string</Key> <Value>string</Value> </Tag> </Filter> <ID>string</ID> <Prefix>string</Prefix> <Priority>15</Priority> <SourceSelectionCriteria> <SseKmsEncryptedObjects> <Status>string</Status> </SseKmsEncryptedObjects> </SourceSelectionCriteria> <Status>string</Status> </Rule> </ReplicationConfiguration>';

/** Zenko PUT Bucket Replication, "Add Replication Configuration" request sample. */
const ZENKO_SAMPLE = `<ReplicationConfiguration>
  <Role>arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3</Role>
  <Rule>
    <ID>rule1</ID>
    <Prefix>TaxDocs</Prefix>
    <Status>Enabled</Status>
    <Destination>
      <Bucket>arn:aws:s3:::{{exampleTargetBucket}}</Bucket>
    </Destination>
  </Rule>
</ReplicationConfiguration>`;

/** Zenko's request-body example, with its placeholders filled and the `...` marks removed. */
const ZENKO_BODY = `<ReplicationConfiguration>
    <Role>IAM-role-ARN</Role>
    <Rule>
        <ID>Rule-1</ID>
        <Status>rule-status</Status>
        <Prefix>key-prefix</Prefix>
        <Destination>
           <Bucket>arn:aws:s3:::bucket-name</Bucket>
           <StorageClass>optional-destination-storage-class-override</StorageClass>
        </Destination>
    </Rule>
    <Rule>
        <ID>Rule-2</ID>
        <Status>Enabled</Status>
        <Destination><Bucket>arn:aws:s3:::bucket-name</Bucket></Destination>
    </Rule>
</ReplicationConfiguration>`;

/** The MinIO example of shared/reference/minio-admin-api.md §4.3 (first rule; ARN shortened). */
const MINIO_SAMPLE = `<ReplicationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Role></Role>
  <Rule>
    <ID>to-site-b</ID>
    <Status>Enabled</Status>
    <Priority>1</Priority>
    <DeleteMarkerReplication><Status>Enabled</Status></DeleteMarkerReplication>
    <DeleteReplication><Status>Enabled</Status></DeleteReplication>
    <Destination><Bucket>arn:minio:replication::7f1c-b:photos</Bucket></Destination>
    <Filter><Prefix></Prefix></Filter>
    <SourceSelectionCriteria><ReplicaModifications><Status>Enabled</Status></ReplicaModifications></SourceSelectionCriteria>
    <ExistingObjectReplication><Status>Enabled</Status></ExistingObjectReplication>
  </Rule>
</ReplicationConfiguration>`;

const TAX_TAGS = [
  { key: 'key1', value: 'value1' },
  { key: 'key1', value: 'value1' },
];
const AWS_ROLE = 'arn:aws:iam::35667example:role/CrossRegionReplicationRoleForS3';

function parseError(xml: string): ReplicationXMLError {
  try {
    parseReplicationXML(xml);
  } catch (e: unknown) {
    if (e instanceof ReplicationXMLError) return e;
    throw e;
  }
  throw new Error('parsed without error');
}

const wrap = (rule: string, role = '') =>
  `<ReplicationConfiguration>${role}<Rule>${rule}</Rule></ReplicationConfiguration>`;
const DEST = '<Destination><Bucket>arn:aws:s3:::b</Bucket></Destination>';

describe('parseReplicationXML: the seeds', () => {
  it('parses the AWS sample request', () => {
    expect(parseReplicationXML(AWS_SAMPLE)).toEqual({
      role: AWS_ROLE,
      rules: [
        {
          id: 'rule1',
          status: 'Enabled',
          priority: 1,
          deleteMarkerReplication: { status: 'Disabled' },
          filter: { and: { prefix: 'TaxDocs', tags: TAX_TAGS } },
          destination: { bucket: 'arn:aws:s3:::exampletargetbucket' },
        },
      ],
    });
  });

  it('parses the AWS Replication Time Control sample', () => {
    expect(parseReplicationXML(AWS_RTC_SAMPLE)).toEqual({
      role: AWS_ROLE,
      rules: [
        {
          id: 'rule1',
          status: 'Enabled',
          priority: 1,
          filter: { and: { prefix: 'TaxDocs', tags: TAX_TAGS } },
          destination: {
            bucket: 'arn:aws:s3:::exampletargetbucket',
            metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } },
            replicationTime: { status: 'Enabled', time: { minutes: 15 } },
          },
        },
      ],
    });
  });

  it('reads every element of the AWS request syntax', () => {
    const s = 'string';
    const status = { status: s };
    expect(parseReplicationXML(AWS_REQUEST_SYNTAX)).toEqual({
      role: s,
      rules: [
        {
          id: s,
          priority: 15,
          status: s,
          prefix: s,
          filter: {
            prefix: s,
            tag: { key: s, value: s },
            and: { prefix: s, tags: [{ key: s, value: s }] },
          },
          deleteMarkerReplication: status,
          existingObjectReplication: status,
          sourceSelectionCriteria: { sseKmsEncryptedObjects: status },
          destination: {
            bucket: s,
            account: s,
            storageClass: s,
            accessControlTranslation: { owner: s },
            encryptionConfiguration: { replicaKmsKeyID: s },
            metrics: { status: s, eventThreshold: { minutes: 15 } },
            replicationTime: { status: s, time: { minutes: 15 } },
          },
        },
      ],
    });
  });

  it('parses the Zenko sample request (V1, rule-level Prefix)', () => {
    expect(parseReplicationXML(ZENKO_SAMPLE)).toEqual({
      role: AWS_ROLE,
      rules: [
        {
          id: 'rule1',
          prefix: 'TaxDocs',
          status: 'Enabled',
          destination: { bucket: 'arn:aws:s3:::{{exampleTargetBucket}}' },
        },
      ],
    });
  });

  it('parses the Zenko request body: several rules, StorageClass', () => {
    const config = parseReplicationXML(ZENKO_BODY);
    expect(config.rules).toHaveLength(2);
    expect(config.rules[0]?.destination.storageClass).toBe(
      'optional-destination-storage-class-override',
    );
    expect(config.rules[1]).toEqual({
      id: 'Rule-2',
      status: 'Enabled',
      destination: { bucket: 'arn:aws:s3:::bucket-name' },
    });
  });

  it('parses the MinIO multi-target form: empty Role, DeleteReplication, empty Filter prefix', () => {
    expect(parseReplicationXML(MINIO_SAMPLE)).toEqual({
      role: '',
      rules: [
        {
          id: 'to-site-b',
          status: 'Enabled',
          priority: 1,
          deleteMarkerReplication: { status: 'Enabled' },
          deleteReplication: { status: 'Enabled' },
          destination: { bucket: 'arn:minio:replication::7f1c-b:photos' },
          filter: { prefix: '' },
          sourceSelectionCriteria: { replicaModifications: { status: 'Enabled' } },
          existingObjectReplication: { status: 'Enabled' },
        },
      ],
    });
  });

  it('round-trips every seed sample', () => {
    for (const xml of [
      AWS_SAMPLE,
      AWS_RTC_SAMPLE,
      AWS_REQUEST_SYNTAX,
      ZENKO_SAMPLE,
      MINIO_SAMPLE,
    ]) {
      const config = parseReplicationXML(xml);
      expect(parseReplicationXML(buildReplicationXML(config))).toEqual(config);
      expect(parseReplicationXML(buildReplicationXML(config, { pretty: true }))).toEqual(config);
    }
  });
});

describe('parseReplicationXML: structure', () => {
  it('takes the S3 namespace or none', () => {
    const body = `<Rule><Status>Enabled</Status>${DEST}</Rule>`;
    const withNs = `<ReplicationConfiguration xmlns="${S3_XMLNS}">${body}</ReplicationConfiguration>`;
    const without = `<ReplicationConfiguration>${body}</ReplicationConfiguration>`;
    expect(parseReplicationXML(withNs)).toEqual(parseReplicationXML(without));
    expect(
      parseError(`<ReplicationConfiguration xmlns="urn:other">${body}</ReplicationConfiguration>`)
        .message,
    ).toBe(
      "ReplicationConfiguration must be in the S3 namespace http://s3.amazonaws.com/doc/2006-03-01/ or none, not 'urn:other'",
    );
  });

  it('reads one Rule and many Rules alike, keeping their order', () => {
    const rule = (id: string) => `<Rule><ID>${id}</ID><Status>Enabled</Status>${DEST}</Rule>`;
    const one = parseReplicationXML(
      `<ReplicationConfiguration>${rule('a')}</ReplicationConfiguration>`,
    );
    const three = parseReplicationXML(
      `<ReplicationConfiguration>${rule('c')}${rule('a')}${rule('b')}</ReplicationConfiguration>`,
    );
    expect(one.rules.map((r) => r.id)).toEqual(['a']);
    expect(three.rules.map((r) => r.id)).toEqual(['c', 'a', 'b']);
  });

  it('reads one Tag and many Tags in And alike', () => {
    const and = (tags: string) =>
      parseReplicationXML(
        wrap(`<Status>Enabled</Status><Filter><And>${tags}</And></Filter>${DEST}`),
      ).rules[0]?.filter?.and;
    const tag = (k: string) => `<Tag><Key>${k}</Key><Value>v</Value></Tag>`;
    expect(and(tag('a'))).toEqual({ tags: [{ key: 'a', value: 'v' }] });
    expect(and(tag('a') + tag('b'))?.tags.map((t) => t.key)).toEqual(['a', 'b']);
    expect(and('')).toEqual({ tags: [] });
  });

  it('keeps IDs, prefixes and values as strings, whitespace and all', () => {
    const config = parseReplicationXML(
      wrap(`<ID>007</ID><Status>Enabled</Status><Prefix> 1e3 </Prefix>${DEST}`),
    );
    expect(config.rules[0]?.id).toBe('007');
    expect(config.rules[0]?.prefix).toBe(' 1e3 ');
  });

  it('tells an empty element from a missing one', () => {
    const config = parseReplicationXML(wrap(`<Status>Enabled</Status><Filter/>${DEST}`, '<Role/>'));
    expect(config.role).toBe('');
    expect(config.rules[0]?.filter).toEqual({});
    expect(config.rules[0]?.prefix).toBeUndefined();
  });

  it('decodes entities, character references and CDATA', () => {
    const config = parseReplicationXML(
      wrap(
        `<ID>a &amp; &lt;b&gt; &#65;&#x42; &amp;#65;</ID><Status>Enabled</Status><Prefix><![CDATA[x&amp;<y>]]></Prefix>${DEST}`,
      ),
    );
    expect(config.rules[0]?.id).toBe('a & <b> AB &#65;');
    expect(config.rules[0]?.prefix).toBe('x&amp;<y>');
  });

  it('takes a BOM, a declaration, comments and a Tag without Value', () => {
    const xml = `\uFEFF<?xml version="1.0" encoding="UTF-8"?><!-- c -->${wrap(
      `<Status>Enabled</Status><Filter><Tag><Key>k</Key></Tag></Filter>${DEST}`,
    )}`;
    expect(parseReplicationXML(xml).rules[0]?.filter).toEqual({ tag: { key: 'k', value: '' } });
  });

  it('can ignore elements it does not know, as MinIO does', () => {
    const xml = wrap(`<Status>Enabled</Status><Future><X>1</X></Future>${DEST}`);
    expect(parseError(xml).message).toBe(
      'ReplicationConfiguration.Rule[0] has an unknown element Future',
    );
    expect(parseReplicationXML(xml, { unknownElements: 'ignore' }).rules[0]).toEqual({
      status: 'Enabled',
      destination: { bucket: 'arn:aws:s3:::b' },
    });
  });
});

describe('parseReplicationXML: errors are ReplicationXMLError with a clear message', () => {
  const cases: [string, string, string][] = [
    ['empty input', '', 'malformed XML at line 1: Start tag expected.'],
    ['not XML', 'hello', "malformed XML at line 1, column 1: char 'h' is not expected."],
    [
      'an unclosed element',
      '<ReplicationConfiguration><Rule></ReplicationConfiguration>',
      "malformed XML at line 1, column 33: Expected closing tag 'Rule' (opened in line 1, col 27) instead of closing tag 'ReplicationConfiguration'.",
    ],
    [
      'another root',
      '<LifecycleConfiguration/>',
      'the document must have one root element ReplicationConfiguration (found LifecycleConfiguration)',
    ],
    [
      'two roots',
      '<ReplicationConfiguration/><ReplicationConfiguration/>',
      'the document must have one root element ReplicationConfiguration (found ReplicationConfiguration)',
    ],
    [
      'a DOCTYPE',
      '<!DOCTYPE r [<!ENTITY e "x">]><ReplicationConfiguration/>',
      'DOCTYPE declarations are not allowed (line 1, column 1)',
    ],
    [
      'an HTML entity',
      wrap('<ID>&nbsp;</ID>'),
      'entity reference &nbsp; at line 1, column 37 is not defined in XML',
    ],
    [
      'a reference to NUL',
      wrap('<ID>&#0;</ID>'),
      'entity reference &#0; at line 1, column 37 is not defined in XML',
    ],
    [
      'a control character',
      wrap('<ID>\u0001</ID>'),
      'character U+0001 at line 1, column 37 is not allowed in XML',
    ],
    ['a rule without Status', wrap(DEST), 'ReplicationConfiguration.Rule[0] has no Status'],
    [
      'a rule without Destination',
      wrap('<Status>Enabled</Status>'),
      'ReplicationConfiguration.Rule[0] has no Destination',
    ],
    [
      'a repeated element',
      wrap(`<Status>Enabled</Status><Status>Disabled</Status>${DEST}`),
      'ReplicationConfiguration.Rule[0].Status appears 2 times; it is allowed once',
    ],
    [
      'a non-integer Priority',
      wrap(`<Priority>high</Priority><Status>Enabled</Status>${DEST}`),
      "ReplicationConfiguration.Rule[0].Priority must be an integer, not 'high'",
    ],
    [
      'a fractional Minutes',
      wrap(
        '<Status>Enabled</Status><Destination><Bucket>b</Bucket><ReplicationTime><Status>Enabled</Status><Time><Minutes>1.5</Minutes></Time></ReplicationTime></Destination>',
      ),
      "ReplicationConfiguration.Rule[0].Destination.ReplicationTime.Time.Minutes must be an integer, not '1.5'",
    ],
    [
      'elements where text belongs',
      wrap(`<ID><X/></ID><Status>Enabled</Status>${DEST}`),
      'ReplicationConfiguration.Rule[0].ID must be text, not elements (found X)',
    ],
    [
      'text where elements belong',
      wrap('<Status>Enabled</Status><Destination>arn:aws:s3:::b</Destination>'),
      'ReplicationConfiguration.Rule[0].Destination must hold elements, not text',
    ],
    [
      'a status element without Status',
      wrap(`<Status>Enabled</Status><DeleteMarkerReplication/>${DEST}`),
      'ReplicationConfiguration.Rule[0].DeleteMarkerReplication has no Status',
    ],
    [
      'a Tag without Key',
      wrap(`<Status>Enabled</Status><Filter><Tag><Value>v</Value></Tag></Filter>${DEST}`),
      'ReplicationConfiguration.Rule[0].Filter.Tag has no Key',
    ],
    [
      'a misspelt element',
      wrap(`<Priorty>1</Priorty><Status>Enabled</Status>${DEST}`),
      'ReplicationConfiguration.Rule[0] has an unknown element Priorty',
    ],
    [
      'an element named like an Object property',
      wrap(`<__proto__>1</__proto__><Status>Enabled</Status>${DEST}`),
      'malformed XML: [SECURITY] Invalid name: "__proto__" is a reserved JavaScript keyword that could cause prototype pollution',
    ],
  ];

  it.each(cases)('rejects %s', (_what, xml, message) => {
    const e = parseError(xml);
    expect(e).toBeInstanceOf(ReplicationXMLError);
    expect(e.name).toBe('ReplicationXMLError');
    expect(e.message).toBe(message);
  });

  it('names the element at fault', () => {
    expect(parseError(wrap(`<Priority>x</Priority><Status>Enabled</Status>${DEST}`)).element).toBe(
      'ReplicationConfiguration.Rule[0].Priority',
    );
  });

  it('rejects a document over 2 MiB before parsing it', () => {
    const xml = wrap(`<ID>${'x'.repeat(2 * 1024 * 1024)}</ID>`);
    expect(parseError(xml).message).toBe(
      `the document is ${xml.length} bytes; S3 takes at most 2097152`,
    );
  });
});

describe('buildReplicationXML', () => {
  const config: ReplicationConfig = {
    role: '',
    rules: [
      {
        id: 'r<1>',
        priority: 1,
        status: 'Enabled',
        filter: { prefix: 'a&b' },
        deleteMarkerReplication: { status: 'Disabled' },
        destination: { bucket: 'arn:minio:replication::id:b' },
      },
    ],
  };

  it('writes the S3 namespace, a declaration and escaped text', () => {
    expect(buildReplicationXML(config)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>' +
        `<ReplicationConfiguration xmlns="${S3_XMLNS}"><Role></Role><Rule><ID>r&lt;1&gt;</ID>` +
        '<Priority>1</Priority><Status>Enabled</Status><Filter><Prefix>a&amp;b</Prefix></Filter>' +
        '<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>' +
        '<Destination><Bucket>arn:minio:replication::id:b</Bucket></Destination></Rule>' +
        '</ReplicationConfiguration>',
    );
  });

  it('keeps a carriage return through XML line-end handling', () => {
    const withCr: ReplicationConfig = {
      rules: [{ status: 'Enabled', prefix: 'a\r\nb\r', destination: { bucket: 'x' } }],
    };
    expect(buildReplicationXML(withCr)).toContain('<Prefix>a&#13;\nb&#13;</Prefix>');
    expect(parseReplicationXML(buildReplicationXML(withCr))).toEqual(withCr);
  });

  it('leaves the managed site out, and refuses a site whose ARN is not known yet', () => {
    const site = { name: 'site-b', bucket: 'photos' };
    const resolved: ReplicationConfig = {
      rules: [
        { status: 'Enabled', destination: { bucket: 'arn:minio:replication::x:photos', site } },
      ],
    };
    expect(buildReplicationXML(resolved)).not.toContain('site-b');
    expect(parseReplicationXML(buildReplicationXML(resolved))).toEqual(documentOf(resolved));
    expect(() =>
      buildReplicationXML({ rules: [{ status: 'Enabled', destination: { site } }] }),
    ).toThrow(
      new ReplicationXMLError(
        'ReplicationConfiguration.Rule[0].Destination.Bucket is not known yet: the remote target on site site-b has no ARN; resolve site destinations first',
      ),
    );
  });

  it('refuses what XML cannot carry', () => {
    const bad = (rule: Partial<ReplicationRule>) => () =>
      buildReplicationXML({
        rules: [{ status: 'Enabled', destination: { bucket: 'b' }, ...rule }],
      });
    expect(bad({ id: 'a\u0000' })).toThrow(
      'ReplicationConfiguration.Rule[0].ID holds U+0000, which XML cannot carry',
    );
    expect(bad({ prefix: '\uD800' })).toThrow(ReplicationXMLError);
    expect(bad({ priority: 1.5 })).toThrow(
      'ReplicationConfiguration.Rule[0].Priority must be an integer, not 1.5',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** Characters XML can carry, with the awkward ones often. */
const xmlText = (maxLength = 12) =>
  fc.string({
    unit: fc.oneof(
      fc.constantFrom('&', '<', '>', '"', "'", '\r', '\n', '\t', ' ', ']]>', '&amp;', '&#65;'),
      fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 1 }),
      fc
        .string({ unit: 'binary', minLength: 1, maxLength: 1 })
        .filter((c) => invalidXmlCharIndex(c) < 0),
    ),
    maxLength,
  });

const anyStatus = fc.oneof(fc.constantFrom('Enabled', 'Disabled'), xmlText());
const statusElement: fc.Arbitrary<StatusElement> = fc.record({ status: anyStatus });
const minutes = fc.record({ minutes: fc.oneof(fc.constant(15), fc.integer()) });
const tag: fc.Arbitrary<Tag> = fc.record({ key: xmlText(), value: xmlText() });

const filter: fc.Arbitrary<Filter> = fc.record(
  {
    prefix: xmlText(),
    tag,
    and: fc.record(
      { prefix: xmlText(), tags: fc.array(tag, { maxLength: 3 }) },
      { requiredKeys: ['tags'] },
    ),
  },
  { requiredKeys: [] },
);

const destination: fc.Arbitrary<Destination> = fc.record(
  {
    bucket: xmlText(30),
    account: xmlText(),
    storageClass: xmlText(),
    accessControlTranslation: fc.record({ owner: xmlText() }),
    encryptionConfiguration: fc.record({ replicaKmsKeyID: xmlText() }, { requiredKeys: [] }),
    metrics: fc.record(
      { status: anyStatus, eventThreshold: minutes },
      { requiredKeys: ['status'] },
    ),
    replicationTime: fc.record({ status: anyStatus, time: minutes }, { requiredKeys: ['status'] }),
  },
  { requiredKeys: [] },
);

const rule: fc.Arbitrary<ReplicationRule> = fc.record(
  {
    id: xmlText(),
    priority: fc.oneof(fc.nat(1000), fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 })),
    status: anyStatus,
    filter,
    prefix: xmlText(),
    deleteMarkerReplication: statusElement,
    deleteReplication: statusElement,
    existingObjectReplication: statusElement,
    sourceSelectionCriteria: fc.record(
      { sseKmsEncryptedObjects: statusElement, replicaModifications: statusElement },
      { requiredKeys: [] },
    ),
    destination,
  },
  { requiredKeys: ['status', 'destination'] },
);

/** Every model XML can carry, valid or not (validity is the validator's business). */
const anyModel: fc.Arbitrary<ReplicationConfig> = fc.record(
  { role: xmlText(40), rules: fc.array(rule, { maxLength: 4 }) },
  { requiredKeys: ['rules'] },
);

describe('properties', () => {
  it('model -> XML -> model is the identity, compact and pretty', () => {
    fc.assert(
      fc.property(anyModel, fc.boolean(), (model, pretty) => {
        expect(parseReplicationXML(buildReplicationXML(model, { pretty }))).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('XML -> model -> XML is stable', () => {
    fc.assert(
      fc.property(anyModel, (model) => {
        const xml = buildReplicationXML(model);
        expect(buildReplicationXML(parseReplicationXML(xml))).toBe(xml);
      }),
      { numRuns: 100 },
    );
  });

  const onlyTypedErrors = (input: string) => {
    try {
      parseReplicationXML(input);
    } catch (e: unknown) {
      if (!(e instanceof ReplicationXMLError)) throw e;
    }
  };

  it('random strings give a model or a ReplicationXMLError, nothing else', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), onlyTypedErrors), {
      numRuns: 500,
    });
  });

  const NAMES = [
    'ReplicationConfiguration',
    'Role',
    'Rule',
    'ID',
    'Priority',
    'Status',
    'Filter',
    'And',
    'Prefix',
    'Tag',
    'Key',
    'Value',
    'Destination',
    'Bucket',
    'Metrics',
    'Minutes',
    'Time',
    'ReplicationTime',
    'EventThreshold',
    'constructor',
    'x:Rule',
  ];
  const xmlish: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(xmlText(6), fc.constantFrom('Enabled', '15', '-1', 'abc', '&amp;', '&#0;', '&x;')),
      fc
        .tuple(fc.constantFrom(...NAMES), fc.array(tie('node'), { maxLength: 4 }), fc.boolean())
        .map(([name, kids, broken]) =>
          broken ? `<${name}>${kids.join('')}` : `<${name}>${kids.join('')}</${name}>`,
        ),
    ),
  })).node;

  it('XML-ish input gives a model or a ReplicationXMLError, nothing else', () => {
    fc.assert(
      fc.property(xmlish, (body) => {
        onlyTypedErrors(body);
        onlyTypedErrors(`<ReplicationConfiguration>${body}</ReplicationConfiguration>`);
        onlyTypedErrors(
          `<ReplicationConfiguration><Rule>${body}<Status>Enabled</Status>${DEST}</Rule></ReplicationConfiguration>`,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('mutated valid documents give a model or a ReplicationXMLError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(AWS_SAMPLE, AWS_RTC_SAMPLE, AWS_REQUEST_SYNTAX, ZENKO_SAMPLE, MINIO_SAMPLE),
        fc.nat(),
        fc.nat(40),
        fc.string({ unit: 'binary', maxLength: 8 }),
        (doc, at, cut, insert) => {
          const i = at % (doc.length + 1);
          onlyTypedErrors(doc.slice(0, i) + insert + doc.slice(i + cut));
        },
      ),
      { numRuns: 500 },
    );
  });
});
