import { z } from 'zod';

/** The API group and version of every sitesync resource. */
export const GROUP = 'sitesync.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** A DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Go-style duration as Kubernetes writes it (`30s`, `5m`, `1h30m`, `500ms`). */
export const DurationSchema = z
  .string()
  .max(32)
  .regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/)
  .describe('A duration such as 30s, 5m or 1h30m.');
export type Duration = z.infer<typeof DurationSchema>;

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A duration `DurationSchema` accepts (e.g. 30s, 1m30s, 500ms), in milliseconds. */
export function parseDuration(d: Duration): number {
  let total = 0;
  for (const m of d.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000);
  }
  return total;
}

/** A reference to another object in the same namespace, as Kubernetes APIs write it. */
export const LocalObjectReferenceSchema = z.object({
  name: z.string().min(1).max(253).describe('Name of the object, in the same namespace.'),
});
export type LocalObjectReference = z.infer<typeof LocalObjectReferenceSchema>;

/** A key inside a Secret of the same namespace. */
export function secretKeyRefSchema(defaultKey: string) {
  return z.object({
    name: z.string().min(1).max(253).describe('Name of the Secret, in the same namespace.'),
    key: z
      .string()
      .min(1)
      .max(253)
      .default(defaultKey)
      .describe(`Key inside the Secret (default ${defaultKey}).`),
  });
}
export type SecretKeyRef = z.infer<ReturnType<typeof secretKeyRefSchema>>;

export const SiteCredentialsSecretSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(253)
    .describe('Name of the Secret holding the access key and secret key, in the same namespace.'),
  accessKeyKey: z
    .string()
    .min(1)
    .max(253)
    .default('accessKey')
    .describe('Key of the access key inside the Secret (default accessKey).'),
  secretKeyKey: z
    .string()
    .min(1)
    .max(253)
    .default('secretKey')
    .describe('Key of the secret key inside the Secret (default secretKey).'),
});
export type SiteCredentialsSecret = z.infer<typeof SiteCredentialsSecretSchema>;

export const SiteTLSSchema = z.object({
  caSecret: secretKeyRefSchema('ca.crt')
    .optional()
    .describe('Secret holding the PEM CA bundle that signs the endpoint certificate.'),
  insecureSkipVerify: z
    .boolean()
    .default(false)
    .describe(
      'Skip verification of the endpoint certificate. Refused (InsecureEndpoint) unless the operator runs with ALLOW_INSECURE_SITES; for tests only.',
    ),
});
export type SiteTLS = z.infer<typeof SiteTLSSchema>;

export const FLAVORS = ['minio', 's3'] as const;
export const FlavorSchema = z.enum(FLAVORS);
export type Flavor = z.infer<typeof FlavorSchema>;

/** One object-storage site: where it is, what it speaks and how to log in. */
export const SiteSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(63)
    .regex(DNS_LABEL)
    .describe('Name of the site, a DNS label unique within the group.'),
  endpoint: z
    .string()
    .min(1)
    .max(512)
    .regex(/^https?:\/\/[^\s/?#]+\/?$/)
    .describe(
      'S3 endpoint of the site: https://host[:port], without a path. http:// is refused (InsecureEndpoint) unless the operator runs with ALLOW_INSECURE_SITES.',
    ),
  flavor: FlavorSchema.default('minio').describe(
    'What the site runs: minio, or s3 (AWS S3 or a server speaking its S3 and IAM APIs). In a SiteReplicationGroup an s3 site gets buckets, bucket configs and policies through those APIs and objects through the object copier; users only through spec.accessKeys, never groups or service accounts (listed in status.sites[].unmappable); PrimarySecondary groups refuse it.',
  ),
  region: z.string().min(1).max(64).default('us-east-1').describe('Region of the site.'),
  credentialsSecret: SiteCredentialsSecretSchema.describe(
    'Secret with the credentials the operator uses on this site.',
  ),
  tls: SiteTLSSchema.optional().describe('TLS settings for an https endpoint.'),
});
export type Site = z.infer<typeof SiteSchema>;

export const CONDITION_TYPES = ['Ready', 'Reconciling', 'Degraded', 'Stalled'] as const;

/** The metav1.Condition shape. */
export const ConditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().min(0).optional(),
  lastTransitionTime: z.string(),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const ConditionsSchema = z.array(ConditionSchema).meta({
  description: 'Standard conditions: Ready, Reconciling, Degraded, Stalled.',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** The metadata fields sitesync reads and writes. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A resource as it comes from the apiserver: the spec is not trusted until validated. */
export interface KubeObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

/**
 * A cross-field rule that the apiserver checks as CEL at admission and that the operator and
 * the offline validator check again in TypeScript. Keeping both forms side by side keeps them
 * honest: a test runs every rule through both.
 */
export interface CrossFieldRule<T> {
  /** CEL evaluated with `self` bound to the object the rule hangs on. */
  rule: string;
  /** The message the apiserver returns; it names the field. */
  message: string;
  /** The same rule in TypeScript, on the parsed (defaulted) value. */
  holds: (value: T) => boolean;
}

export function celValidations<T>(rules: readonly CrossFieldRule<T>[]) {
  return rules.map(({ rule, message }) => ({ rule, message }));
}

/** Returns the messages of the rules that do not hold. */
/**
 * A spec as the operator checks it: zod (defaults, shapes), then the cross-field rules. The
 * message names every field at fault (`spec.sites.0.name: ...; ...`).
 */
export function checkSpec<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  rules: readonly CrossFieldRule<T>[],
): { ok: true; value: T } | { ok: false; message: string } {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`)
      .join('; ');
    return { ok: false, message };
  }
  const broken = checkCrossFieldRules(parsed.data, rules);
  return broken.length > 0
    ? { ok: false, message: broken.join('; ') }
    : { ok: true, value: parsed.data };
}

export function checkCrossFieldRules<T>(value: T, rules: readonly CrossFieldRule<T>[]): string[] {
  return rules.filter((r) => !r.holds(value)).map((r) => r.message);
}
