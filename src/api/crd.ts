import { stringify } from 'yaml';
import { z } from 'zod';

import {
  BucketReplicationSpecSchema,
  BucketReplicationStatusSchema,
  BREP_KIND,
} from './bucket-replication.js';
import { GROUP, VERSION } from './common.js';
import {
  IdentityProviderSpecSchema,
  IdentityProviderStatusSchema,
  IDP_KIND,
} from './identity-provider.js';
import {
  SiteReplicationGroupSpecSchema,
  SiteReplicationGroupStatusSchema,
  SRG_KIND,
} from './site-replication-group.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

const readyColumn = (jsonPath: string): PrinterColumn[] => [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  { name: 'Age', type: 'date', jsonPath },
];
const AGE = '.metadata.creationTimestamp';

export const CRDS: readonly CrdDefinition[] = [
  {
    kind: SRG_KIND,
    plural: 'sitereplicationgroups',
    singular: 'sitereplicationgroup',
    shortNames: ['srg'],
    spec: SiteReplicationGroupSpecSchema,
    status: SiteReplicationGroupStatusSchema,
    printerColumns: [
      { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
      { name: 'Primary', type: 'string', jsonPath: '.spec.primary', priority: 1 },
      {
        name: 'Sites',
        type: 'string',
        jsonPath: '.status.sitesReachable',
        description: 'Reachable sites out of all',
      },
      {
        name: 'Synced',
        type: 'string',
        jsonPath: '.status.sitesInSync',
        description: 'Sites whose state equals the agreed state',
      },
      {
        name: 'InSync',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="InSync")].status',
        description: 'Metadata agreed everywhere and no object replication pending or failed',
      },
      ...readyColumn(AGE),
      { name: 'Merkle', type: 'string', jsonPath: '.status.merkleRoot', priority: 1 },
    ],
  },
  {
    kind: BREP_KIND,
    plural: 'bucketreplications',
    singular: 'bucketreplication',
    shortNames: ['brep'],
    spec: BucketReplicationSpecSchema,
    status: BucketReplicationStatusSchema,
    printerColumns: [
      { name: 'Bucket', type: 'string', jsonPath: '.spec.source.bucket' },
      { name: 'Site', type: 'string', jsonPath: '.status.sourceSite' },
      ...readyColumn(AGE),
      { name: 'Digest', type: 'string', jsonPath: '.status.appliedDigest', priority: 1 },
    ],
  },
  {
    kind: IDP_KIND,
    plural: 'identityproviders',
    singular: 'identityprovider',
    shortNames: ['idp'],
    spec: IdentityProviderSpecSchema,
    status: IdentityProviderStatusSchema,
    printerColumns: [
      { name: 'OpenID', type: 'string', jsonPath: '.spec.openid.configURL', priority: 1 },
      { name: 'LDAP', type: 'string', jsonPath: '.spec.ldap.serverAddr', priority: 1 },
      { name: 'Sites', type: 'string', jsonPath: '.status.sitesConfigured' },
      ...readyColumn(AGE),
    ],
  },
];

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Values of these keys are data, not schemas. */
const DATA_KEYS = new Set(['default', 'enum', 'x-kubernetes-validations']);

function dropKey(key: string, value: unknown, node: Json): boolean {
  if (key === '$schema') return true;
  if (key === 'additionalProperties') return 'properties' in node;
  const bound = key === 'maximum' || key === 'minimum';
  return bound && typeof value === 'number' && Math.abs(value) >= Number.MAX_SAFE_INTEGER;
}

/**
 * Makes zod's OpenAPI 3.0 output a Kubernetes structural schema: no $schema, no
 * `additionalProperties` beside `properties`, and no ±2^53 bounds that zod adds to integers.
 */
export function toStructural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toStructural);
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (dropKey(key, value, node)) continue;
    out[key] = DATA_KEYS.has(key) ? value : toStructural(value);
  }
  if (out['type'] === 'integer' && out['format'] === undefined) out['format'] = 'int64';
  return out;
}

export function openAPISchema(schema: z.ZodType): Json {
  return toStructural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' })) as Json;
}

export function buildCrd(def: CrdDefinition): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ['sitesync'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${def.kind} (${GROUP}/${VERSION}).`,
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: openAPISchema(def.spec),
                status: openAPISchema(def.status),
              },
              required: ['spec'],
            },
          },
        },
      ],
    },
  };
}

export function crdFileName(def: CrdDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}

export function renderCrdYaml(def: CrdDefinition): string {
  return (
    '# Generated by `make crds` from src/api; do not edit.\n' +
    stringify(buildCrd(def), { lineWidth: 0, aliasDuplicateObjects: false })
  );
}
