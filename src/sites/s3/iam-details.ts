/**
 * An AWS-style account's IAM, as `GetAccountAuthorizationDetails` returns it (users, groups,
 * customer-managed policies and every attachment, in one paged call), mapped to the flavor-neutral
 * IamState. Pure.
 *
 * What the model has no place for, and how it is read: users and groups are always `enabled`
 * (AWS IAM has no such switch); a user's secret key is never given back (`''`, and the
 * `secretKeys` capability is false); inline policies and AWS-managed policies are not mirrored
 * entities (an attachment of an AWS-managed policy still appears in the mapping, by name).
 */
import { type IamState, emptyIamState } from '../snapshot.js';

/** The parts of a `GetAccountAuthorizationDetails` page this mapping reads. */
interface Attached {
  AttachedManagedPolicies?: readonly { PolicyName?: string | undefined }[] | undefined;
}

export interface AuthorizationDetails {
  UserDetailList?:
    | readonly (Attached & {
        UserName?: string | undefined;
        GroupList?: readonly string[] | undefined;
      })[]
    | undefined;
  GroupDetailList?: readonly (Attached & { GroupName?: string | undefined })[] | undefined;
  Policies?:
    | readonly {
        PolicyName?: string | undefined;
        Arn?: string | undefined;
        DefaultVersionId?: string | undefined;
        PolicyVersionList?:
          | readonly {
              Document?: string | undefined;
              VersionId?: string | undefined;
              IsDefaultVersion?: boolean | undefined;
            }[]
          | undefined;
      }[]
    | undefined;
}

/** IAM returns policy documents URL-encoded (RFC 3986), as JSON text once decoded. */
export function decodePolicyDocument(doc: string): unknown {
  const text = doc.trimStart().startsWith('{') ? doc : decodeURIComponent(doc);
  return JSON.parse(text) as unknown;
}

const names = (list: readonly { PolicyName?: string | undefined }[] | undefined): string[] =>
  (list ?? []).flatMap((p) => (p.PolicyName ? [p.PolicyName] : [])).sort();

/** The policy's name; moto 5.2.5 leaves PolicyName out here, so it is also read from the ARN. */
const policyName = (p: { PolicyName?: string | undefined; Arn?: string | undefined }) =>
  p.PolicyName ?? p.Arn?.slice(p.Arn.lastIndexOf('/') + 1);

function defaultDocument(p: NonNullable<AuthorizationDetails['Policies']>[number]): unknown {
  const versions = p.PolicyVersionList ?? [];
  const v =
    versions.find((x) => x.IsDefaultVersion === true) ??
    versions.find((x) => x.VersionId === p.DefaultVersionId);
  return v?.Document === undefined ? undefined : decodePolicyDocument(v.Document);
}

type Page = AuthorizationDetails;

function addPolicies(iam: IamState, page: Page): void {
  for (const p of page.Policies ?? []) {
    const doc = defaultDocument(p);
    const name = policyName(p);
    if (name && doc !== undefined) iam.policies.set(name, doc);
  }
}

function addGroups(iam: IamState, page: Page, members: Map<string, string[]>): void {
  for (const g of page.GroupDetailList ?? []) {
    if (!g.GroupName) continue;
    if (!members.has(g.GroupName)) members.set(g.GroupName, []);
    const policies = names(g.AttachedManagedPolicies);
    if (policies.length > 0) iam.groupPolicies.set(g.GroupName, { policies });
  }
}

function addUsers(iam: IamState, page: Page, members: Map<string, string[]>): void {
  for (const u of page.UserDetailList ?? []) {
    if (!u.UserName) continue;
    iam.users.set(u.UserName, { status: 'enabled', secretKey: '' });
    for (const g of u.GroupList ?? []) members.set(g, [...(members.get(g) ?? []), u.UserName]);
    const policies = names(u.AttachedManagedPolicies);
    if (policies.length > 0) iam.userPolicies.set(u.UserName, { policies });
  }
}

/** Every page of one GetAccountAuthorizationDetails listing, as one IamState. */
export function iamStateFromDetails(pages: readonly AuthorizationDetails[]): IamState {
  const iam = emptyIamState();
  const members = new Map<string, string[]>();
  for (const page of pages) {
    addPolicies(iam, page);
    addGroups(iam, page, members);
    addUsers(iam, page, members);
  }
  for (const [group, list] of members) {
    iam.groups.set(group, { status: 'enabled', members: [...new Set(list)].sort() });
  }
  return iam;
}
