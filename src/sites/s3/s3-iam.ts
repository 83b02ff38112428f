/**
 * IAM of an AWS-compatible site through `@aws-sdk/client-iam`: the whole account read in one
 * paged GetAccountAuthorizationDetails, and each write an idempotent desired state. What AWS-style
 * IAM cannot do (set a user's secret key, disable a user or group, MinIO service accounts) is a
 * SiteError of kind `Unsupported`, never done halfway.
 */
import {
  AddUserToGroupCommand,
  AttachGroupPolicyCommand,
  AttachUserPolicyCommand,
  CreateGroupCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteGroupCommand,
  DeleteGroupPolicyCommand,
  DeleteLoginProfileCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachUserPolicyCommand,
  GetAccountAuthorizationDetailsCommand,
  GetGroupCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupPoliciesCommand,
  ListGroupsForUserCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListUserPoliciesCommand,
  RemoveUserFromGroupCommand,
  CreateAccessKeyCommand,
} from '@aws-sdk/client-iam';

import { toSiteError } from '../s3-errors.js';
import type { MappingKind, SiteConnection } from '../site-client.js';
import { SiteError, isSiteError } from '../site-error.js';
import type { AccountStatus, IamState } from '../snapshot.js';
import { type AuthorizationDetails, iamStateFromDetails } from './iam-details.js';
import { unsupported } from '../s3-transport.js';

/** AWS keeps at most 5 versions of a managed policy. */
const MAX_POLICY_VERSIONS = 5;
/** Pages of GetAccountAuthorizationDetails read at most (1000 entities each). */
const MAX_PAGES = 100;

/**
 * The IAM endpoint of a site: AWS serves IAM globally (the SDK's default endpoint), not at the
 * S3 endpoint; every other AWS-compatible server (moto, Ceph RGW, LocalStack) serves it at the
 * same endpoint as S3.
 */
export function iamEndpointOf(s3Endpoint: string): string | undefined {
  const host = new URL(s3Endpoint).hostname;
  return /(^|\.)amazonaws\.com(\.cn)?$/.test(host) ? undefined : s3Endpoint;
}

export function newIamClient(conn: SiteConnection): IAMClient {
  const timeout = conn.timeoutMs ?? 15_000;
  const endpoint = iamEndpointOf(conn.endpoint);
  const client = new IAMClient({
    ...(endpoint === undefined ? {} : { endpoint }),
    region: conn.region,
    maxAttempts: 2,
    credentials: { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey },
    requestHandler: { connectionTimeout: Math.min(timeout, 5000), requestTimeout: timeout },
  });
  if (conn.onCall) {
    const onCall = conn.onCall;
    client.middlewareStack.add(
      (next, context) => (args) => {
        onCall(`iam:${String(context.commandName).replace(/Command$/, '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'sitesyncCallCounter' },
    );
  }
  return client;
}

const opts = (signal: AbortSignal | undefined) => (signal ? { abortSignal: signal } : {});

export class S3Iam {
  constructor(
    private readonly conn: SiteConnection,
    readonly iam: IAMClient,
  ) {}

  private async call<T>(op: string, signal: AbortSignal | undefined, fn: () => Promise<T>) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (e: unknown) {
      signal?.throwIfAborted();
      throw toSiteError(this.conn.name, this.conn.endpoint, op, e);
    }
  }

  /** Like call, but the entity already being there (or already gone) is success. */
  private async settle(
    op: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<unknown>,
    ok: 'EntityAlreadyExists' | 'NoSuchEntity',
  ): Promise<void> {
    try {
      await this.call(op, signal, fn);
    } catch (e: unknown) {
      if (!(e instanceof SiteError) || e.code !== ok) throw e;
    }
  }

  /** Users, groups, customer-managed policies and attachments, in one paged listing. */
  async snapshot(signal?: AbortSignal): Promise<IamState> {
    const pages: AuthorizationDetails[] = [];
    let marker: string | undefined;
    do {
      const page = await this.call('GetAccountAuthorizationDetails', signal, () =>
        this.iam.send(
          new GetAccountAuthorizationDetailsCommand({
            Filter: ['User', 'Group', 'LocalManagedPolicy'],
            MaxItems: 1000,
            Marker: marker,
          }),
          opts(signal),
        ),
      );
      pages.push(page);
      if (page.IsTruncated === true && (page.Marker === undefined || page.Marker === marker)) {
        // A listing that says "more" but gives no way on is cut short: never read as absence.
        throw new SiteError(
          this.conn.name,
          'GetAccountAuthorizationDetails',
          'NotReady',
          'the listing is truncated without a new marker: refusing a partial listing',
        );
      }
      marker = page.IsTruncated === true ? page.Marker : undefined;
      if (marker !== undefined && pages.length >= MAX_PAGES) {
        // A partial answer is never read as absence: refuse it whole.
        throw new SiteError(
          this.conn.name,
          'GetAccountAuthorizationDetails',
          'Internal',
          `more than ${MAX_PAGES} pages of IAM entities; refusing a partial listing`,
        );
      }
    } while (marker !== undefined);
    return iamStateFromDetails(pages);
  }

  /** The ARN of the customer-managed policy `name`, or undefined. */
  private async policyArn(name: string, signal?: AbortSignal): Promise<string | undefined> {
    let marker: string | undefined;
    do {
      const r = await this.call('ListPolicies', signal, () =>
        this.iam.send(
          new ListPoliciesCommand({ Scope: 'Local', MaxItems: 1000, Marker: marker }),
          opts(signal),
        ),
      );
      const hit = r.Policies?.find((p) => p.PolicyName === name);
      if (hit?.Arn) return hit.Arn;
      marker = r.IsTruncated === true ? r.Marker : undefined;
    } while (marker !== undefined);
    return undefined;
  }

  private async mustPolicyArn(name: string, signal?: AbortSignal): Promise<string> {
    const arn = await this.policyArn(name, signal);
    if (arn !== undefined) return arn;
    throw new SiteError(this.conn.name, 'ListPolicies', 'NotFound', `no policy ${name}`);
  }

  async putPolicy(name: string, doc: unknown, signal?: AbortSignal): Promise<void> {
    const document = JSON.stringify(doc);
    const arn = await this.policyArn(name, signal);
    if (arn === undefined) {
      await this.call('CreatePolicy', signal, () =>
        this.iam.send(
          new CreatePolicyCommand({ PolicyName: name, PolicyDocument: document }),
          opts(signal),
        ),
      );
      return;
    }
    const versions = await this.call('ListPolicyVersions', signal, () =>
      this.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }), opts(signal)),
    );
    const old = (versions.Versions ?? []).filter((v) => v.IsDefaultVersion !== true);
    if (old.length >= MAX_POLICY_VERSIONS - 1) {
      const oldest = [...old].sort(
        (a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0),
      )[0];
      if (oldest?.VersionId) {
        const VersionId = oldest.VersionId;
        await this.call('DeletePolicyVersion', signal, () =>
          this.iam.send(
            new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId }),
            opts(signal),
          ),
        );
      }
    }
    await this.call('CreatePolicyVersion', signal, () =>
      this.iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: arn,
          PolicyDocument: document,
          SetAsDefault: true,
        }),
        opts(signal),
      ),
    );
  }

  /** Detaches the policy from everyone, drops its old versions, then deletes it. */
  async deletePolicy(name: string, signal?: AbortSignal): Promise<void> {
    const arn = await this.policyArn(name, signal);
    if (arn === undefined) return;
    const iam = await this.snapshot(signal);
    for (const [user, m] of iam.userPolicies) {
      if (m.policies.includes(name)) await this.detach('user', user, arn, signal);
    }
    for (const [group, m] of iam.groupPolicies) {
      if (m.policies.includes(name)) await this.detach('group', group, arn, signal);
    }
    const versions = await this.call('ListPolicyVersions', signal, () =>
      this.iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }), opts(signal)),
    );
    for (const v of versions.Versions ?? []) {
      if (v.IsDefaultVersion === true || !v.VersionId) continue;
      const VersionId = v.VersionId;
      await this.call('DeletePolicyVersion', signal, () =>
        this.iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId }), opts(signal)),
      );
    }
    await this.settle(
      'DeletePolicy',
      signal,
      () => this.iam.send(new DeletePolicyCommand({ PolicyArn: arn }), opts(signal)),
      'NoSuchEntity',
    );
  }

  async putUser(
    name: string,
    user: { secretKey: string; status: AccountStatus },
    signal?: AbortSignal,
  ): Promise<void> {
    if (user.secretKey !== '') {
      throw unsupported(
        this.conn.name,
        'CreateUser',
        `AWS-style IAM cannot set the secret key of user ${name}; it generates access keys itself`,
      );
    }
    if (user.status === 'disabled') {
      throw unsupported(this.conn.name, 'CreateUser', `AWS-style IAM cannot disable user ${name}`);
    }
    await this.settle(
      'CreateUser',
      signal,
      () => this.iam.send(new CreateUserCommand({ UserName: name }), opts(signal)),
      'EntityAlreadyExists',
    );
  }

  /** The user's access key IDs (IAM never returns a secret after creation). */
  async listAccessKeys(user: string, signal?: AbortSignal): Promise<string[]> {
    const keys = await this.call('ListAccessKeys', signal, () =>
      this.iam.send(new ListAccessKeysCommand({ UserName: user, MaxItems: 100 }), opts(signal)),
    );
    return (keys.AccessKeyMetadata ?? []).flatMap((k) => (k.AccessKeyId ? [k.AccessKeyId] : []));
  }

  /** A new access key of the user: its secret is in this answer only. */
  async createAccessKey(
    user: string,
    signal?: AbortSignal,
  ): Promise<{ accessKey: string; secretKey: string }> {
    const r = await this.call('CreateAccessKey', signal, () =>
      this.iam.send(new CreateAccessKeyCommand({ UserName: user }), opts(signal)),
    );
    const k = r.AccessKey;
    if (!k?.AccessKeyId || !k.SecretAccessKey) {
      throw new SiteError(this.conn.name, 'CreateAccessKey', 'Internal', 'the answer holds no key');
    }
    return { accessKey: k.AccessKeyId, secretKey: k.SecretAccessKey };
  }

  async deleteAccessKey(user: string, accessKey: string, signal?: AbortSignal): Promise<void> {
    await this.settle(
      'DeleteAccessKey',
      signal,
      () =>
        this.iam.send(
          new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: accessKey }),
          opts(signal),
        ),
      'NoSuchEntity',
    );
  }

  /** Everything IAM wants gone before a user can be deleted, then the user. */
  async deleteUser(name: string, signal?: AbortSignal): Promise<void> {
    const UserName = name;
    try {
      const groups = await this.call('ListGroupsForUser', signal, () =>
        this.iam.send(new ListGroupsForUserCommand({ UserName }), opts(signal)),
      );
      for (const g of groups.Groups ?? []) {
        const GroupName = g.GroupName ?? '';
        await this.call('RemoveUserFromGroup', signal, () =>
          this.iam.send(new RemoveUserFromGroupCommand({ GroupName, UserName }), opts(signal)),
        );
      }
      await this.setPolicyMapping('user', name, [], signal);
      const inline = await this.call('ListUserPolicies', signal, () =>
        this.iam.send(new ListUserPoliciesCommand({ UserName }), opts(signal)),
      );
      for (const PolicyName of inline.PolicyNames ?? []) {
        await this.call('DeleteUserPolicy', signal, () =>
          this.iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName }), opts(signal)),
        );
      }
      const keys = await this.call('ListAccessKeys', signal, () =>
        this.iam.send(new ListAccessKeysCommand({ UserName }), opts(signal)),
      );
      for (const k of keys.AccessKeyMetadata ?? []) {
        const AccessKeyId = k.AccessKeyId ?? '';
        await this.call('DeleteAccessKey', signal, () =>
          this.iam.send(new DeleteAccessKeyCommand({ UserName, AccessKeyId }), opts(signal)),
        );
      }
      await this.settle(
        'DeleteLoginProfile',
        signal,
        () => this.iam.send(new DeleteLoginProfileCommand({ UserName }), opts(signal)),
        'NoSuchEntity',
      );
      await this.call('DeleteUser', signal, () =>
        this.iam.send(new DeleteUserCommand({ UserName }), opts(signal)),
      );
    } catch (e: unknown) {
      if (!isSiteError(e, 'NotFound') || e.code !== 'NoSuchEntity') throw e;
    }
  }

  async putGroup(
    name: string,
    group: { members: readonly string[]; status: AccountStatus },
    currentMembers: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    if (group.status === 'disabled') {
      throw unsupported(
        this.conn.name,
        'CreateGroup',
        `AWS-style IAM cannot disable group ${name}`,
      );
    }
    const GroupName = name;
    await this.settle(
      'CreateGroup',
      signal,
      () => this.iam.send(new CreateGroupCommand({ GroupName }), opts(signal)),
      'EntityAlreadyExists',
    );
    for (const UserName of group.members.filter((m) => !currentMembers.includes(m))) {
      await this.call('AddUserToGroup', signal, () =>
        this.iam.send(new AddUserToGroupCommand({ GroupName, UserName }), opts(signal)),
      );
    }
    for (const UserName of currentMembers.filter((m) => !group.members.includes(m))) {
      await this.call('RemoveUserFromGroup', signal, () =>
        this.iam.send(new RemoveUserFromGroupCommand({ GroupName, UserName }), opts(signal)),
      );
    }
  }

  async deleteGroup(
    name: string,
    currentMembers: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const GroupName = name;
    try {
      const g = await this.call('GetGroup', signal, () =>
        this.iam.send(new GetGroupCommand({ GroupName }), opts(signal)),
      );
      const members = new Set([...currentMembers, ...(g.Users ?? []).map((u) => u.UserName)]);
      for (const UserName of members) {
        if (UserName === undefined) continue;
        await this.settle(
          'RemoveUserFromGroup',
          signal,
          () =>
            this.iam.send(new RemoveUserFromGroupCommand({ GroupName, UserName }), opts(signal)),
          'NoSuchEntity',
        );
      }
      await this.setPolicyMapping('group', name, [], signal);
      const inline = await this.call('ListGroupPolicies', signal, () =>
        this.iam.send(new ListGroupPoliciesCommand({ GroupName }), opts(signal)),
      );
      for (const PolicyName of inline.PolicyNames ?? []) {
        await this.call('DeleteGroupPolicy', signal, () =>
          this.iam.send(new DeleteGroupPolicyCommand({ GroupName, PolicyName }), opts(signal)),
        );
      }
      await this.call('DeleteGroup', signal, () =>
        this.iam.send(new DeleteGroupCommand({ GroupName }), opts(signal)),
      );
    } catch (e: unknown) {
      if (!isSiteError(e, 'NotFound') || e.code !== 'NoSuchEntity') throw e;
    }
  }

  private async attached(kind: MappingKind, name: string, signal?: AbortSignal) {
    const r = await this.call(
      `ListAttached${kind === 'user' ? 'User' : 'Group'}Policies`,
      signal,
      () =>
        kind === 'user'
          ? this.iam.send(new ListAttachedUserPoliciesCommand({ UserName: name }), opts(signal))
          : this.iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: name }), opts(signal)),
    );
    return (r.AttachedPolicies ?? []).flatMap((p) =>
      p.PolicyName && p.PolicyArn ? [{ name: p.PolicyName, arn: p.PolicyArn }] : [],
    );
  }

  private async detach(kind: MappingKind, name: string, PolicyArn: string, signal?: AbortSignal) {
    await this.settle(
      `Detach${kind === 'user' ? 'User' : 'Group'}Policy`,
      signal,
      () =>
        kind === 'user'
          ? this.iam.send(new DetachUserPolicyCommand({ UserName: name, PolicyArn }), opts(signal))
          : this.iam.send(
              new DetachGroupPolicyCommand({ GroupName: name, PolicyArn }),
              opts(signal),
            ),
      'NoSuchEntity',
    );
  }

  /** Attaches exactly these customer-managed policies (by name) to the user or group. */
  async setPolicyMapping(
    kind: MappingKind,
    name: string,
    policies: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const current = await this.attached(kind, name, signal);
    for (const p of current) {
      if (!policies.includes(p.name)) await this.detach(kind, name, p.arn, signal);
    }
    for (const policy of policies) {
      if (current.some((p) => p.name === policy)) continue;
      const PolicyArn = await this.mustPolicyArn(policy, signal);
      await this.call(`Attach${kind === 'user' ? 'User' : 'Group'}Policy`, signal, () =>
        kind === 'user'
          ? this.iam.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn }), opts(signal))
          : this.iam.send(
              new AttachGroupPolicyCommand({ GroupName: name, PolicyArn }),
              opts(signal),
            ),
      );
    }
  }
}
