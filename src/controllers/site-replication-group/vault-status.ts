/**
 * `GET /v1/replication/status`: every group's replication status in the shape and names of
 * Vault's `/sys/replication/status` where they fit, read from the groups' own status (so it
 * never says more than `kubectl get srg -o yaml` does). Pure.
 */
import type {
  SiteReplicationGroup,
  SiteReplicationGroupStatus,
} from '../../api/site-replication-group.js';
import { findCondition, isTrue } from '../../runtime/conditions.js';

/**
 * `held`: paused or stalled (the spec must change); `merkle-sync`: metadata being applied, an
 * object verification or a recovery under way; `connecting`: a site cannot be reached;
 * `stream`: object versions (or metadata) still on their way; `idle`: InSync.
 */
export type VaultState = 'held' | 'merkle-sync' | 'connecting' | 'stream' | 'idle';

export interface VaultSite {
  node_id: string;
  connection_state: 'connected' | 'disconnected';
  /** The group's sequence when the site was last seen in sync. */
  last_wal?: number | undefined;
  merkle_root?: string | undefined;
  objects?: { pending: number; failed: number; lag_seconds?: number | undefined } | undefined;
}

export interface VaultGroupStatus {
  mode: string;
  cluster_id: string;
  state: VaultState;
  primary?: string | undefined;
  known_sites: string[];
  known_secondaries: string[];
  last_wal: number;
  merkle_root?: string | undefined;
  in_sync: boolean;
  objects: { pending: number; failed: number; lag_seconds: number };
  sites: VaultSite[];
  verification?: { state: string; percent?: number | undefined; equal?: boolean | undefined };
}

/** Metadata being applied, or a verification or recovery under way. */
function syncing(st: SiteReplicationGroupStatus): boolean {
  const recovering = st.recovery !== undefined && st.recovery.phase !== 'Completed';
  return isTrue(st.conditions, 'Reconciling') || st.verification?.phase === 'Running' || recovering;
}

function stateOf(g: SiteReplicationGroup): VaultState {
  const st: SiteReplicationGroupStatus = g.status ?? {};
  const c = st.conditions;
  if (g.spec?.paused === true || isTrue(c, 'Stalled')) return 'held';
  if (syncing(st)) return 'merkle-sync';
  if ((st.sites ?? []).some((s) => !s.reachable)) return 'connecting';
  return isTrue(c, 'InSync') ? 'idle' : 'stream';
}

function siteOf(s: NonNullable<SiteReplicationGroupStatus['sites']>[number]): VaultSite {
  return {
    node_id: s.name,
    connection_state: s.reachable ? 'connected' : 'disconnected',
    ...(s.lastSequence === undefined ? {} : { last_wal: s.lastSequence }),
    ...(s.merkleRoot === undefined ? {} : { merkle_root: s.merkleRoot }),
    ...(s.objects === undefined
      ? {}
      : {
          objects: {
            pending: s.objects.pending,
            failed: s.objects.failed,
            ...(s.objects.lagSeconds === undefined ? {} : { lag_seconds: s.objects.lagSeconds }),
          },
        }),
  };
}

const opt = <K extends string, V>(key: K, v: V | undefined) =>
  (v === undefined ? {} : { [key]: v }) as Partial<Record<K, V>>;

function sumObjects(sites: readonly VaultSite[]) {
  const objects = { pending: 0, failed: 0, lag_seconds: 0 };
  for (const s of sites) {
    objects.pending += s.objects?.pending ?? 0;
    objects.failed += s.objects?.failed ?? 0;
    objects.lag_seconds = Math.max(objects.lag_seconds, s.objects?.lag_seconds ?? 0);
  }
  return objects;
}

function verificationOf(st: SiteReplicationGroupStatus): VaultGroupStatus['verification'] {
  const v = st.verification;
  if (v === undefined) return undefined;
  return { state: v.phase, ...opt('percent', v.percent), ...opt('equal', v.equal) };
}

export function vaultGroupStatus(g: SiteReplicationGroup): VaultGroupStatus {
  const st: SiteReplicationGroupStatus = g.status ?? {};
  const known = st.knownSites ?? [];
  const primary = st.primary ?? g.spec?.primary;
  const sites = (st.sites ?? []).map(siteOf);
  return {
    mode: st.mode ?? g.spec?.mode ?? 'ActiveActive',
    cluster_id: g.metadata.uid ?? '',
    state: stateOf(g),
    ...opt('primary', primary),
    known_sites: known,
    known_secondaries: known.filter((s) => s !== primary),
    last_wal: st.lastSequence ?? 0,
    ...opt('merkle_root', st.merkleRoot),
    in_sync: findCondition(st.conditions, 'InSync')?.status === 'True',
    objects: sumObjects(sites),
    sites,
    ...opt('verification', verificationOf(st)),
  };
}

/** Every group, keyed `namespace/name`, in Vault's `{ data: ... }` envelope. */
export function vaultReplicationStatus(groups: readonly SiteReplicationGroup[]): {
  data: Record<string, VaultGroupStatus>;
} {
  const data: Record<string, VaultGroupStatus> = {};
  const sorted = [...groups].sort((a, b) =>
    `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
      `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
    ),
  );
  for (const g of sorted)
    data[`${g.metadata.namespace ?? ''}/${g.metadata.name}`] = vaultGroupStatus(g);
  return { data };
}
