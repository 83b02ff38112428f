/**
 * Do the sites of a group share one identity provider? A pure check on identity digests (see
 * sites/minio/identity-config.ts): the SiteReplicationGroup controller turns its answer into
 * `Degraded`, reason `IdentityProviderMismatch`.
 */

export interface IdentityMismatch {
  reason: 'IdentityProviderMismatch';
  message: string;
}

const short = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 8);

function names(list: readonly string[]): string {
  if (list.length <= 1) return list.join('');
  return `${list.slice(0, -1).join(', ')} and ${list[list.length - 1] ?? ''}`;
}

/** The digest most sites hold; a tie goes to the site listed first (list the primary first). */
function majority(sites: readonly { digest: string }[]): string | undefined {
  const counts = new Map<string, number>();
  for (const s of sites) counts.set(s.digest, (counts.get(s.digest) ?? 0) + 1);
  let best: string | undefined;
  for (const s of sites) {
    if (best === undefined || (counts.get(s.digest) ?? 0) > (counts.get(best) ?? 0))
      best = s.digest;
  }
  return best;
}

/**
 * The sites whose identity configuration differs, named; undefined when they agree. With
 * `declared` (the IdentityProvider's digest), every site must hold it; without, the sites must
 * agree with each other and the odd ones out are named. A site whose digest is unknown
 * (unreachable, not read yet) is not judged here: unreachable sites are reported elsewhere.
 */
export function identityMismatch(
  sites: readonly { name: string; digest: string | undefined }[],
  declared?: string,
): IdentityMismatch | undefined {
  const known = sites.filter((s): s is { name: string; digest: string } => s.digest !== undefined);
  const reference = declared ?? majority(known);
  if (reference === undefined) return undefined;
  const odd = known.filter((s) => s.digest !== reference);
  if (odd.length === 0) return undefined;
  const which = odd.length === 1 ? 'site' : 'sites';
  const verb = odd.length === 1 ? 'has' : 'have';
  const detail = odd.map((s) => `${s.name} ${short(s.digest)}`).join(', ');
  if (declared !== undefined) {
    return {
      reason: 'IdentityProviderMismatch',
      message: `${which} ${names(odd.map((s) => s.name))} ${verb} an identity provider configuration other than the declared one (${short(declared)}; found ${detail})`,
    };
  }
  const agreeing = known.filter((s) => s.digest === reference).map((s) => s.name);
  return {
    reason: 'IdentityProviderMismatch',
    message: `${which} ${names(odd.map((s) => s.name))} ${verb} an identity provider configuration other than ${names(agreeing)} (${short(reference)}; found ${detail})`,
  };
}
