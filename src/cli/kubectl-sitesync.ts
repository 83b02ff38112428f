#!/usr/bin/env node
/**
 * The kubectl plugin `kubectl sitesync`: status of a SiteReplicationGroup as a per-site table,
 * and the Vault-style operations `resync` and `recover` as annotations the operator acts on.
 * kubectl finds it as any executable named kubectl-sitesync on PATH (the package's bin).
 */
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';

import { GROUP } from '../api/common.js';
import type {
  RecoveryStatus,
  SiteReplicationGroup,
  VerificationStatus,
} from '../api/site-replication-group.js';
import { KubeApiError, KubeClient } from '../runtime/kube-client.js';
import { kubeConfigAuth } from '../runtime/kubeconfig-auth.js';
import { ANNOTATIONS, LAST_ACTED, SRG_API as SRG } from './plugin-api.js';
import { type PluginArgs, USAGE, parsePluginArgs } from './plugin-args.js';
import { renderStatus } from './status-table.js';

function loadKubeConfig(args: PluginArgs): KubeConfig {
  const kc = new KubeConfig();
  if (args.kubeconfig) kc.loadFromFile(args.kubeconfig);
  else kc.loadFromDefault();
  if (args.context) kc.setCurrentContext(args.context);
  return kc;
}

function namespaceOf(args: PluginArgs, kc: KubeConfig): string {
  if (args.namespace) return args.namespace;
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

async function status(client: KubeClient, ns: string, args: PluginArgs): Promise<void> {
  const group = await client.get<SiteReplicationGroup>(SRG, ns, args.group);
  if (args.output === 'json') process.stdout.write(`${JSON.stringify(group, null, 2)}\n`);
  else if (args.output === 'yaml') process.stdout.write(stringify(group));
  else {
    const opts = { now: new Date(), wide: args.wide, only: args.only };
    process.stdout.write(renderStatus(group, opts));
  }
}

async function annotate(
  client: KubeClient,
  ns: string,
  args: PluginArgs & { command: Operation },
): Promise<void> {
  const key = ANNOTATIONS[args.command];
  const value = new Date().toISOString();
  await client.patch(
    SRG,
    { namespace: ns, name: args.group },
    { metadata: { annotations: { [key]: value } } },
    { patchType: 'merge', fieldManager: 'kubectl-sitesync' },
  );
  process.stdout.write(`sitereplicationgroup.${GROUP}/${args.group} annotated ${key}=${value}\n`);
  if (args.wait) await waitActedOn(client, ns, args, value);
}

type Operation = 'resync' | 'recover' | 'verify';

/**
 * True when status records `value` as acted on: a resync once the group is Ready again, a
 * recover once its retry is done, a verify once it completed (or failed).
 */
function actedOn(g: SiteReplicationGroup, command: Operation, value: string): boolean {
  const ready = g.status?.conditions?.find((c) => c.type === 'Ready');
  const recorded = g.status?.[LAST_ACTED[command]] === value;
  return recorded && (command !== 'resync' || ready?.status === 'True');
}

function verifyLine(v: VerificationStatus | undefined): string {
  if (v === undefined) return 'done';
  const verdict =
    v.equal === undefined
      ? (v.message ?? '')
      : v.equal
        ? 'every site holds the same versions'
        : 'sites differ (kubectl sitesync status shows where)';
  return `${v.phase}: ${String(v.versionsCompared)} versions compared; ${verdict}`;
}

function recoverLine(r: RecoveryStatus | undefined): string {
  if (r === undefined) return 'done';
  const note = r.message === undefined ? '' : ` (${r.message})`;
  return `retried ${String(r.retried)}, ${String(r.remaining ?? 0)} left${note}`;
}

/** What the operator made of it, in one line. */
function outcomeLine(g: SiteReplicationGroup, command: Operation): string {
  const st = g.status;
  if (command === 'verify') return verifyLine(st?.verification);
  if (command === 'recover') return recoverLine(st?.recovery);
  return st?.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
}

/** Polls until the operator has acted on `value` (see actedOn). */
async function waitActedOn(
  client: KubeClient,
  ns: string,
  args: PluginArgs & { command: Operation },
  value: string,
): Promise<void> {
  const deadline = Date.now() + args.timeoutSeconds * 1000;
  for (;;) {
    const g = await client.get<SiteReplicationGroup>(SRG, ns, args.group);
    const ready = g.status?.conditions?.find((c) => c.type === 'Ready');
    if (actedOn(g, args.command, value)) {
      process.stdout.write(`${args.command} done: ${outcomeLine(g, args.command)}\n`);
      return;
    }
    if (Date.now() > deadline) {
      const state = `Ready is ${ready?.status ?? 'unknown'}: ${ready?.message ?? ''}`;
      throw new Error(
        `timed out after ${args.timeoutSeconds}s waiting for ${args.command}; ${state}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** kubectl's wording for apiserver errors. */
function describeError(e: unknown, args: PluginArgs | undefined): string {
  if (e instanceof KubeApiError) {
    if (e.status === 404 && args)
      return `Error from server (NotFound): sitereplicationgroups.${GROUP} "${args.group}" not found`;
    return `Error from server (${e.reason}): ${e.message}`;
  }
  return `error: ${e instanceof Error ? e.message : String(e)}`;
}

async function run(argv: readonly string[]): Promise<number> {
  const parsed = parsePluginArgs(argv);
  if (!parsed.ok) {
    if (parsed.error) process.stderr.write(`error: ${parsed.error}\n\n`);
    (parsed.error ? process.stderr : process.stdout).write(USAGE);
    return parsed.error ? 2 : 0;
  }
  const { args } = parsed;
  try {
    const kc = loadKubeConfig(args);
    const client = new KubeClient(kubeConfigAuth(kc));
    const ns = namespaceOf(args, kc);
    if (args.command === 'status') await status(client, ns, args);
    else await annotate(client, ns, { ...args, command: args.command });
    return 0;
  } catch (e: unknown) {
    process.stderr.write(`${describeError(e, args)}\n`);
    return 1;
  }
}

// process.exit, not exitCode: the client's keep-alive connections would hold the process open.
run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${describeError(e, undefined)}\n`);
    process.exit(1);
  },
);
