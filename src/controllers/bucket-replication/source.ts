/**
 * Where a BucketReplication's sites come from: the source site (a site of the SiteReplicationGroup
 * named by `spec.source.groupRef`, read from the apiserver, or the inline `siteSpec`), the
 * group's other sites for managed destinations, and each site's credentials Secret. What cannot
 * be found is a value with a reason and a message naming the field, never an exception.
 */
import type { BucketReplicationSpec } from '../api/bucket-replication.js';
import type { Site } from '../api/common.js';
import {
  type SiteReplicationGroupSpec,
  SiteReplicationGroupSpecSchema,
} from '../api/site-replication-group.js';
import { type KubeClient, isNotFound } from '../runtime/kube-client.js';
import type { SiteClient, SiteConnection } from '../sites/site-client.js';
import { SiteError } from '../sites/site-error.js';
import { CredentialsError, SITE_REASONS, loadCredentials } from './_srg-observe.js';
import type { Why } from './_brep-status.js';
import { SRG_RESOURCE } from './site-replication-group.js';

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
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<Resolved<SiteReplicationGroupSpec>> {
  let obj: GroupObject;
  try {
    obj = await client.get<GroupObject>(SRG_RESOURCE, namespace, name);
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
  client: KubeClient,
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
  const group = await readGroup(client, namespace, groupRef.name);
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
function siteField(source: SourceSite, site: Site): { index: number; field: string } {
  if (source.group === undefined) return { index: 0, field: 'spec.source.siteSpec' };
  const index = source.group.spec.sites.findIndex((s) => s.name === site.name);
  return {
    index,
    field: `SiteReplicationGroup ${source.group.name} spec.sites[${index}]`,
  };
}

export interface Connected {
  site: Site;
  client: SiteClient;
  accessKey: string;
  secretKey: string;
}

/**
 * A client for `site` with the credentials of its Secret. A Secret or key that is missing is
 * `CredentialsNotFound`, with the message naming where the site declares its Secret.
 */
export async function connectSite(
  deps: {
    client: KubeClient;
    newSite: (conn: SiteConnection) => SiteClient;
    timeoutMs?: number | undefined;
  },
  namespace: string,
  source: SourceSite,
  site: Site,
): Promise<Resolved<Connected>> {
  const { index, field } = siteField(source, site);
  let creds;
  try {
    creds = await loadCredentials(deps.client, namespace, site, index);
  } catch (e: unknown) {
    if (!(e instanceof CredentialsError)) throw e;
    const message = e.message.replace(`spec.sites[${index}]`, field);
    return { ok: false, why: { reason: 'CredentialsNotFound', message } };
  }
  let client: SiteClient;
  try {
    client = deps.newSite({
      name: site.name,
      flavor: site.flavor,
      endpoint: site.endpoint,
      region: site.region,
      ...creds,
      insecureSkipVerify: site.tls?.insecureSkipVerify,
      timeoutMs: deps.timeoutMs,
    });
  } catch (e: unknown) {
    // A flavor without a driver yet, an endpoint the driver cannot use: not a retry matter.
    if (!(e instanceof SiteError)) throw e;
    return { ok: false, why: { reason: SITE_REASONS[e.kind], message: e.message } };
  }
  return {
    ok: true,
    value: { site, client, accessKey: creds.accessKey, secretKey: creds.secretKey },
  };
}
