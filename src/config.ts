import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The operator's configuration: environment variables, parsed once, frozen. */
export const OperatorConfigSchema = z.object({
  KUBECONFIG: z.string().optional(),
  /**
   * The namespaces watched, comma-separated (the chart's default: the release namespace only);
   * empty: every namespace.
   */
  WATCH_NAMESPACE: z.string().default(''),
  LEADER_ELECT: bool.default(false),
  LEASE_NAMESPACE: z.string().default('default'),
  LEASE_NAME: z.string().default('sitesync-operator'),
  /** Identity in the lease: the pod name in a cluster. */
  POD_NAME: z.string().optional(),
  /**
   * Leader election timing (client-go's defaults): others take over a lease not renewed for
   * LEASE_DURATION_MS; the leader gives up leading (and stops all work) when it could not renew
   * within RENEW_DEADLINE_MS; it renews every RETRY_PERIOD_MS.
   */
  LEASE_DURATION_MS: z.coerce.number().int().min(1000).default(15_000),
  RENEW_DEADLINE_MS: z.coerce.number().int().min(500).default(10_000),
  RETRY_PERIOD_MS: z.coerce.number().int().min(100).default(2_000),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  METRICS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  SITE_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  /**
   * Accept sites reached over plain http or without verifying their certificate
   * (`tls.insecureSkipVerify`). Off: such a site is refused (`InsecureEndpoint`). On: it is
   * used, and every resource using it carries the `InsecureTransport` condition and an Event.
   */
  ALLOW_INSECURE_SITES: bool.default(false),
  /** How often object replication counts are collected (one call per bucket per site). */
  PROGRESS_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  /**
   * PrimarySecondary write lease (docs/decisions.md §26): the primary's writers refuse writes
   * once PRIMARY_LEASE_MS passes without the operator renewing it (renewed when less than half
   * remains); a forced promotion waits for the old primary's lease to end plus
   * CLOCK_SKEW_MARGIN_MS (how far the sites' clocks may be from the operator's) before the new
   * primary accepts writes.
   */
  PRIMARY_LEASE_MS: z.coerce.number().int().min(2000).max(86_400_000).default(300_000),
  CLOCK_SKEW_MARGIN_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** Time one reconcile of a group may spend listing object versions for a verification. */
  VERIFY_SLICE_MS: z.coerce.number().int().min(100).max(240_000).default(20_000),
  /**
   * The change receiver (sites post their change reports there, `spec.changeDetection:
   * events`): its port, the PEM files of its certificate and key, and the base URL the sites
   * reach it at (the chart's Service). Without them, groups in events mode work as poll: their
   * changes are found every syncInterval (as with poll).
   */
  CHANGE_RECEIVER_PORT: z.coerce.number().int().min(0).max(65535).default(8443),
  CHANGE_RECEIVER_HOST: z.string().default('0.0.0.0'),
  CHANGE_RECEIVER_CERT_FILE: z.string().min(1).optional(),
  CHANGE_RECEIVER_KEY_FILE: z.string().min(1).optional(),
  CHANGE_RECEIVER_URL: z
    .url({ protocol: /^https$/ })
    .optional()
    .transform((u) => u?.replace(/\/+$/, '')),
});

export type OperatorConfig = Readonly<z.infer<typeof OperatorConfigSchema>>;

/** Leader election only protects if the leader stops before another may take over. */
function leaseTimingIssue(c: z.infer<typeof OperatorConfigSchema>): string | undefined {
  if (c.RENEW_DEADLINE_MS >= c.LEASE_DURATION_MS) {
    return 'RENEW_DEADLINE_MS: must be shorter than LEASE_DURATION_MS';
  }
  if (c.RETRY_PERIOD_MS >= c.RENEW_DEADLINE_MS) {
    return 'RETRY_PERIOD_MS: must be shorter than RENEW_DEADLINE_MS';
  }
  return undefined;
}

/** The receiver needs all three of its settings, or none. */
function receiverIssue(c: z.infer<typeof OperatorConfigSchema>): string | undefined {
  const set = [c.CHANGE_RECEIVER_URL, c.CHANGE_RECEIVER_CERT_FILE, c.CHANGE_RECEIVER_KEY_FILE];
  if (set.every((v) => v === undefined) || set.every((v) => v !== undefined)) return undefined;
  return 'CHANGE_RECEIVER_URL, CHANGE_RECEIVER_CERT_FILE and CHANGE_RECEIVER_KEY_FILE: set all three (the change receiver) or none';
}

export function parseConfig(env: NodeJS.ProcessEnv): OperatorConfig {
  const parsed = OperatorConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid operator configuration: ${issues}`);
  }
  const timing = leaseTimingIssue(parsed.data) ?? receiverIssue(parsed.data);
  if (timing) throw new Error(`Invalid operator configuration: ${timing}`);
  return Object.freeze(parsed.data);
}
