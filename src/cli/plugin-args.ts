/** The command line of `kubectl sitesync`: parsed into a command, or a usage error. */
import { parseArgs } from 'node:util';

export const USAGE = `Usage: kubectl sitesync COMMAND GROUP [flags]

Commands:
  status GROUP    Per-site replication status of a SiteReplicationGroup: conditions, objects
                  waiting per site, what differs where, the last verification and recovery
  resync GROUP    Rescan every site and re-replicate what differs (sets sitesync.io/resync)
  recover GROUP   Retry every failed object replication (sets sitesync.io/recover)
  verify GROUP    Compare object versions site by site (sets sitesync.io/verify)

Flags:
  -n, --namespace NS     Namespace of the group (default: the kubeconfig context's, or default)
      --kubeconfig PATH  Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context NAME     Kubeconfig context to use
  -o, --output FORMAT    status: table (default), json or yaml
      --wide             status: show whole error messages
      --buckets, --bucket-configs, --policies, --users, --groups, --policy-mappings,
      --service-accounts, --objects
                         status: only these kinds of differences (like mc admin replicate status)
      --wait             resync, recover, verify: wait until the operator has acted (resync: and
                         the group is Ready; recover: the retry is done; verify: it completed)
      --timeout SECONDS  with --wait (default 300)
  -h, --help             Show this help
`;

export type Command = 'status' | 'resync' | 'recover' | 'verify';
const COMMANDS: readonly Command[] = ['status', 'resync', 'recover', 'verify'];

/** The `--kind` flags of status, and what each selects. */
const KIND_FLAGS = {
  buckets: 'buckets',
  'bucket-configs': 'bucketConfigs',
  policies: 'policies',
  users: 'users',
  groups: 'groups',
  'policy-mappings': 'policyMappings',
  'service-accounts': 'serviceAccounts',
  objects: 'objects',
} as const;
export type OnlyKind = (typeof KIND_FLAGS)[keyof typeof KIND_FLAGS];

export interface PluginArgs {
  command: Command;
  group: string;
  namespace?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  output: 'table' | 'json' | 'yaml';
  wide: boolean;
  wait: boolean;
  timeoutSeconds: number;
  /** status: only these kinds (undefined: everything). */
  only?: OnlyKind[] | undefined;
}

export type Parsed = { ok: true; args: PluginArgs } | { ok: false; help: boolean; error?: string };

const OPTIONS = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o' },
  wide: { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  buckets: { type: 'boolean' },
  'bucket-configs': { type: 'boolean' },
  policies: { type: 'boolean' },
  users: { type: 'boolean' },
  groups: { type: 'boolean' },
  'policy-mappings': { type: 'boolean' },
  'service-accounts': { type: 'boolean' },
  objects: { type: 'boolean' },
} as const;

function onlyKinds(
  values: Partial<Record<keyof typeof KIND_FLAGS, boolean>>,
): OnlyKind[] | undefined {
  const picked = (Object.keys(KIND_FLAGS) as (keyof typeof KIND_FLAGS)[])
    .filter((f) => values[f] === true)
    .map((f) => KIND_FLAGS[f]);
  return picked.length === 0 ? undefined : picked;
}

function isCommand(s: string | undefined): s is Command {
  return COMMANDS.includes(s as Command);
}

function parseOutput(o: string | undefined): PluginArgs['output'] | undefined {
  if (o === undefined || o === 'table' || o === 'wide') return 'table';
  if (o === 'json' || o === 'yaml') return o;
  return undefined;
}

const usageError = (error: string): Parsed => ({ ok: false, help: false, error });

function checkPositionals(positionals: readonly string[]): Parsed | [Command, string] {
  const [command, group, ...extra] = positionals;
  if (!isCommand(command)) return usageError(`unknown command "${command ?? ''}"`);
  if (group === undefined || group === '')
    return usageError(`${command} needs the name of a SiteReplicationGroup`);
  if (extra.length > 0) return usageError(`unexpected arguments: ${extra.join(' ')}`);
  return [command, group];
}

/** Parses argv (without node and the script); never throws. */
export function parsePluginArgs(argv: readonly string[]): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e: unknown) {
    return usageError(e instanceof Error ? e.message : String(e));
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) return { ok: false, help: true };
  const checked = checkPositionals(positionals);
  if (!Array.isArray(checked)) return checked;
  const [command, group] = checked;
  const output = parseOutput(values.output);
  if (output === undefined) return usageError('--output must be table, json or yaml');
  const timeoutSeconds = values.timeout === undefined ? 300 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    return usageError('--timeout must be a positive number of seconds');
  return {
    ok: true,
    args: {
      command,
      group,
      namespace: values.namespace,
      kubeconfig: values.kubeconfig,
      context: values.context,
      output,
      wide: values.wide === true || values.output === 'wide',
      wait: values.wait === true,
      timeoutSeconds,
      only: onlyKinds(values),
    },
  };
}
