/**
 * `spec.accessKeys`: users of the group created, with access keys of their own, on the sites
 * whose IAM cannot take a secret key (AWS-style IAM generates keys itself). The merge gives such
 * sites the group's enabled users without a key, and their mappings (coverage.ts
 * `receivesOnly`); this step, run after the merge's actions, makes sure each requested user
 * exists there and has one access key sitesync created, written to the Secret the entry names
 * (`<site>.accessKey`, `<site>.secretKey`). A disabled user gets none (the merge removes it
 * from such a site: its IAM cannot disable a user). A user the group no longer has is deleted
 * from such a site when the Secret names one of its keys there (sitesync made it); else it is
 * left alone and said so.
 *
 * The secret of a new key exists in the CreateAccessKey answer and in the Secret only: never
 * in logs, events or status. A key whose Secret could not be written is deleted again.
 */
import type { AccessKeyRequest } from '../../api/site-replication-group.js';
import { encodeKey } from '../../replication/entity-key.js';
import type { MergePlan } from '../../replication/merge.js';
import { type KubeClient, SECRETS, isNotFound } from '../../runtime/kube-client.js';
import { describeError } from '../../runtime/messages.js';
import type { Secret } from '../../runtime/secrets.js';
import type { AccessKeyOps } from '../../sites/site-client.js';
import { isSiteError } from '../../sites/site-error.js';
import type { Failures } from './failures.js';
import { type Reachable, reachable } from './observe.js';
import type { Pass } from './pass.js';

/** What the step did or could not do on one site, for status (no secrets). */
export interface AccessKeyNotes {
  /** Entity keys mirrored by this step on the site (not unmappable there). */
  mirrored: Set<string>;
  /** Per site, what could not be mirrored, in words (`<entity key>: <why>`). */
  notes: string[];
}

const accessKeyEntry = (site: string) => `${site}.accessKey`;
const secretKeyEntry = (site: string) => `${site}.secretKey`;

const decode = (v: string | undefined) =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
const encode = (v: string) => Buffer.from(v).toString('base64');

/** The sites this step serves: IAM, but no secret keys, and keys of their own. */
function keySites(pass: Pass): (Reachable & { keys: AccessKeyOps })[] {
  return reachable(pass.observed).flatMap((o) => {
    const keys = o.client.accessKeys;
    const caps = o.client.capabilities;
    if (pass.identity.held.has(o.site.name) || keys === undefined) return [];
    return caps.iam && !caps.secretKeys ? [{ ...o, keys }] : [];
  });
}

/** Whether the group has the entity after this pass's plan. */
function groupHas(pass: Pass, plan: MergePlan, key: string): boolean {
  const d = plan.decisions.find((x) => x.key === key);
  return d === undefined ? pass.agreed.entities[key] !== undefined : d.target !== null;
}

/** The user's status on the first reachable site that holds secret keys. */
function sourceStatus(pass: Pass, user: string): string | undefined {
  const source = reachable(pass.observed).find((o) => o.client.capabilities.secretKeys);
  return source?.snap.iam.users.get(user)?.status;
}

async function readSecret(kube: KubeClient, ns: string, name: string) {
  try {
    return await kube.get<Secret>(SECRETS, ns, name);
  } catch (e: unknown) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function writeSecret(
  pass: Pass,
  req: AccessKeyRequest,
  current: Secret | undefined,
  data: Record<string, string | null>,
): Promise<void> {
  const ns = pass.ref.namespace;
  if (current === undefined) {
    await pass.kube.create(SECRETS, ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: req.secretName,
        namespace: ns,
        labels: { 'app.kubernetes.io/managed-by': 'sitesync', 'sitesync.io/group': pass.ref.name },
      },
      type: 'Opaque',
      data: Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)),
    });
    return;
  }
  await pass.kube.patch(
    SECRETS,
    { namespace: ns, name: req.secretName },
    { metadata: { resourceVersion: current.metadata.resourceVersion }, data },
  );
}

interface Step {
  pass: Pass;
  site: Reachable & { keys: AccessKeyOps };
  req: AccessKeyRequest;
  signal: AbortSignal;
}

/** One access key sitesync made, named by the Secret and present on the site. */
async function ensureKey(s: Step): Promise<void> {
  const { pass, site, req } = s;
  const name = site.site.name;
  const secret = await readSecret(pass.kube, pass.ref.namespace, req.secretName);
  const known = decode(secret?.data?.[accessKeyEntry(name)]);
  const keys = await site.keys.listAccessKeys(req.user, s.signal);
  if (known !== undefined && keys.includes(known)) return;
  if (keys.length >= 2) {
    throw new Error(
      `user ${req.user} on ${name} has ${String(keys.length)} access keys already (IAM allows 2), none of them the one Secret ${req.secretName} names: delete one so sitesync can create its own`,
    );
  }
  const created = await site.keys.createAccessKey(req.user, s.signal);
  try {
    await writeSecret(pass, req, secret, {
      [accessKeyEntry(name)]: encode(created.accessKey),
      [secretKeyEntry(name)]: encode(created.secretKey),
    });
  } catch (e: unknown) {
    // A key nobody can read is a key nobody should hold.
    await site.keys.deleteAccessKey(req.user, created.accessKey, s.signal).catch(() => undefined);
    throw e;
  }
  await pass.events.record(
    pass.obj,
    'Normal',
    'AccessKeyCreated',
    `${name}: a new access key of user ${req.user} was created and written to Secret ${req.secretName}`,
  );
}

/** The user's access key IDs on the site; undefined when the user is not there (any more). */
async function keysOf(s: Step): Promise<string[] | undefined> {
  if (!s.site.snap.iam.users.has(s.req.user)) return undefined;
  try {
    return await s.site.keys.listAccessKeys(s.req.user, s.signal);
  } catch (e: unknown) {
    if (isSiteError(e, 'NotFound')) return undefined;
    throw e;
  }
}

/**
 * A user the group no longer has: deleted from the site when sitesync made its key there (the
 * merge deletes it first when the group had agreed on it); the Secret's entries for the site go.
 */
async function removeUser(s: Step, out: AccessKeyNotes): Promise<void> {
  const { pass, site, req } = s;
  const name = site.site.name;
  const secret = await readSecret(pass.kube, pass.ref.namespace, req.secretName);
  const known = decode(secret?.data?.[accessKeyEntry(name)]);
  const keys = await keysOf(s);
  const clear = { [accessKeyEntry(name)]: null, [secretKeyEntry(name)]: null };
  if (keys === undefined) {
    if (known !== undefined) await writeSecret(pass, req, secret, clear);
    return;
  }
  if (known === undefined || !keys.includes(known)) {
    out.notes.push(
      `user:${req.user}: gone from the group but kept on ${name}: it holds no access key Secret ${req.secretName} names, so sitesync did not make it`,
    );
    return;
  }
  await site.client.deleteUser(req.user, s.signal);
  await writeSecret(pass, req, secret, clear);
  await pass.events.record(
    pass.obj,
    'Normal',
    'AccessKeyUserDeleted',
    `${name}: user ${req.user} was deleted from the group, so it and the access key sitesync made were deleted here`,
  );
}

async function stepOne(s: Step, plan: MergePlan, out: AccessKeyNotes): Promise<void> {
  const user = encodeKey({ kind: 'user', name: s.req.user });
  if (!groupHas(s.pass, plan, user)) {
    await removeUser(s, out);
    return;
  }
  if (sourceStatus(s.pass, s.req.user) === 'disabled') {
    out.notes.push(
      `${user}: disabled on the group's sites; ${s.site.site.name}'s IAM cannot disable a user, so it is not kept there and gets no access key until it is enabled`,
    );
    return;
  }
  if (!s.site.snap.iam.users.has(s.req.user)) {
    await s.site.client.putUser(s.req.user, { secretKey: '', status: 'enabled' }, s.signal);
  }
  await ensureKey(s);
  out.mirrored.add(user);
}

/**
 * Runs `spec.accessKeys` on every site it serves; failures are recorded per site (the pass
 * goes on), notes per site returned for status.
 */
export async function ensureAccessKeys(
  pass: Pass,
  plan: MergePlan,
  failures: Failures,
): Promise<Map<string, AccessKeyNotes>> {
  const result = new Map<string, AccessKeyNotes>();
  const requests = pass.spec.accessKeys ?? [];
  if (requests.length === 0 || !pass.spec.replicate.iam.users) return result;
  for (const site of keySites(pass)) {
    const out: AccessKeyNotes = { mirrored: new Set(), notes: [] };
    result.set(site.site.name, out);
    for (const req of requests) {
      try {
        await stepOne({ pass, site, req, signal: pass.ctx.signal }, plan, out);
      } catch (e: unknown) {
        pass.ctx.signal.throwIfAborted();
        failures.other(site.site.name, `spec.accessKeys[${req.user}]: ${describeError(e)}`);
      }
    }
  }
  return result;
}
