import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** The operator's configuration: environment variables, parsed once, frozen. */
export const OperatorConfigSchema = z.object({
  KUBECONFIG: z.string().optional(),
  /** Watch one namespace; empty: all namespaces. */
  WATCH_NAMESPACE: z.string().default(''),
  LEADER_ELECT: bool.default(false),
  LEASE_NAMESPACE: z.string().default('default'),
  LEASE_NAME: z.string().default('sitesync-operator'),
  /** Identity in the lease: the pod name in a cluster. */
  POD_NAME: z.string().optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  METRICS_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  SITE_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  /** How often object replication counts are collected (one call per bucket per site). */
  PROGRESS_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
});

export type OperatorConfig = Readonly<z.infer<typeof OperatorConfigSchema>>;

export function parseConfig(env: NodeJS.ProcessEnv): OperatorConfig {
  const parsed = OperatorConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid operator configuration: ${issues}`);
  }
  return Object.freeze(parsed.data);
}
