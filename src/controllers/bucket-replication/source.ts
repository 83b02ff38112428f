/**
 * Where a BucketReplication's sites come from: the source site (a site of the SiteReplicationGroup
 * named by `spec.source.groupRef`, read from the apiserver, or the inline `siteSpec`), the
 * group's other sites for managed destinations, and each site's credentials Secret. What cannot
 * be found is a value with a reason and a message naming the field, never an exception.
 */
import type { BucketReplicationSpec } from '../../api/bucket-replication.js';
import type { Site } from '../../api/common.js';
import { SRG_RESOURCE } from '../../api/names.js';
import {
  type SiteReplicationGroupSpec,
  SiteReplicationGroupSpecSchema,
} from '../../api/site-replication-group.js';
import { type KubeClient, isNotFound } from '../../runtime/kube-client.js';
import type { Why } from '../../runtime/kstatus.js';
import { secretReader } from '../../runtime/secrets.js';
import { connectSite } from '../../sites/connect.js';
import type { SiteClient, SiteConnection } from '../../sites/site-client.js';

export interface SourceSite {
  site: Site;
  /** The group the site belongs to, with every site of it (managed destinations). */
  group?: { name: string; spec: SiteReplicationGroupSpec } | undefined;
}

export type Resolved<T> = { ok: true; value: T } | { ok: false; why: Why };

interface GroupObject {
  spec?: unknown;
}

/** Reads the group from the apiserver (not a cache: a group may be created after us). */
async function readGroup(
  kube: KubeClient,
  namespace: string,
  name: string,
): Promise<Resolved<SiteReplicationGroupSpec>> {
  let obj: GroupObject;
  try {
    obj = await kube.get<GroupObject>(SRG_RESOURCE, namespace, name);
  } catch (e: unknown) {
    if (!isNotFound(e)) throw e;
    return {
      ok: false,
      why: {
        reason: 'GroupNotFound',
        message: `spec.source.groupRef: SiteReplicationGroup ${name} not found in namespace ${namespace}`,
      },
    };
  }
  const parsed = SiteReplicationGroupSpecSchema.safeParse(obj.spec);
  if (!parsed.success) {
    return {
      ok: false,
      why: {
        reason: 'GroupInvalid',
        message: `spec.source.groupRef: SiteReplicationGroup ${name} has an invalid spec`,
      },
    };
  }
  return { ok: true, value: parsed.data };
}

export async function resolveSource(
  kube: KubeClient,
  namespace: string,
  spec: BucketReplicationSpec,
): Promise<Resolved<SourceSite>> {
  const { groupRef, site: siteName, siteSpec } = spec.source;
  if (siteSpec !== undefined) return { ok: true, value: { site: siteSpec } };
  if (groupRef === undefined || siteName === undefined) {
    // parseSpec's cross-field rules make this unreachable; keep the type honest.
    return {
      ok: false,
      why: { reason: 'InvalidSpec', message: 'spec.source needs groupRef and site, or siteSpec' },
    };
  }
  const group = await readGroup(kube, namespace, groupRef.name);
  if (!group.ok) return group;
  const site = group.value.sites.find((s) => s.name === siteName);
  if (site === undefined) {
    return {
      ok: false,
      why: {
        reason: 'SiteNotInGroup',
        message: `spec.source.site: site ${siteName} is not a site of SiteReplicationGroup ${groupRef.name} (sites: ${group.value.sites.map((s) => s.name).join(', ')})`,
      },
    };
  }
  return { ok: true, value: { site, group: { name: groupRef.name, spec: group.value } } };
}

/** Where a site's definition lives, for messages: `spec.source.siteSpec` or the group's entry. */
function siteField(source: SourceSite, site: Site): string {
  if (source.group === undefined) return 'spec.source.siteSpec';
  const index = source.group.spec.sites.findIndex((s) => s.name === site.name);
  return `SiteReplicationGroup ${source.group.name} spec.sites[${index}]`;
}

export interface Connected {
  site: Site;
  client: SiteClient;
  accessKey: string;
  secretKey: string;
  /** How the client reaches the site (to reach it with other keys: a replication account). */
  conn: SiteConnection;
}

export interface ConnectDeps {
  /** The apiserver under the pass's signal. */
  kube: KubeClient;
  newSite: (conn: SiteConnection) => SiteClient;
  timeoutMs?: number | undefined;
  /** Accept http endpoints and unverified certificates (ALLOW_INSECURE_SITES). */
  allowInsecure?: boolean | undefined;
}

/**
 * A client for `site` with the credentials of its Secret. A Secret or key that is missing is
 * `CredentialsNotFound`, with the message naming where the site declares its Secret.
 */
export async function connect(
  deps: ConnectDeps,
  namespace: string,
  source: SourceSite,
  site: Site,
): Promise<Resolved<Connected>> {
  const c = await connectSite(site, {
    readSecret: secretReader(deps.kube, namespace),
    newSite: deps.newSite,
    field: siteField(source, site),
    timeoutMs: deps.timeoutMs,
    allowInsecure: deps.allowInsecure,
  });
  if (!c.ok) return { ok: false, why: { reason: c.reason, message: c.message } };
  const { accessKey, secretKey } = c.conn;
  return { ok: true, value: { site, client: c.client, accessKey, secretKey, conn: c.conn } };
}
