/**
 * A lost or unreadable agreed state. The ConfigMap is the base of the three-way merge: without
 * it every site holding data looks like a seed (`MultipleSitesWithData` forever), and a corrupt
 * one fails every pass. When every site can be read and they all hold exactly the same
 * entities, the agreed state is that: rebuilt, nothing written to any site. When they differ,
 * choosing would lose someone's change: the group is held, unless a person asks for the union
 * (`sitesync.io/rebuild-agreed-state`, once per value): an initial join, which deletes nothing.
 * A missing ConfigMap of a group that never joined anything is just a new group.
 */
import { REBUILD_STATE_ANNOTATION } from '../../api/names.js';
import { type AgreedState, emptyAgreedState } from '../../replication/agreed-state.js';
import type { Why } from '../../runtime/kstatus.js';
import type { Entity } from './entities.js';
import type { Pass } from './pass.js';
import { identicalMaps, ownEntities } from './plan.js';

export interface Recovery {
  agreed?: AgreedState | undefined;
  rebuilt?: Pass['rebuilt'];
  blocker?: Why | undefined;
  /** The rebuild annotation value acted on. */
  rebuildValue?: string | undefined;
}

function rebuildRequested(pass: Pass): string | undefined {
  const v = pass.obj.metadata.annotations?.[REBUILD_STATE_ANNOTATION];
  return v !== undefined && v !== pass.obj.status?.lastRebuild ? v : undefined;
}

/** From every site, when they all hold the same entities; else what is in the way. */
function fromSites(
  pass: Pass,
  problem: NonNullable<Pass['agreedProblem']>,
  sequence: number,
): Recovery {
  const reason = problem.kind === 'missing' ? 'AgreedStateLost' : 'AgreedStateCorrupt';
  const unseen = pass.observed.filter((o) => !o.ok).map((o) => o.site.name);
  if (unseen.length > 0) {
    const message = `${problem.message}; it is rebuilt from the sites once every site can be read (not now: ${unseen.join(', ')}); nothing is written until then`;
    return { blocker: { reason, message } };
  }
  const seen = pass.observed.flatMap((o) => (o.ok ? [o] : []));
  const maps = seen.map((o) => ownEntities(pass, o));
  if (!identicalMaps(maps)) {
    const counts = seen.map((o, i) => `${o.site.name}: ${maps[i]?.size ?? 0}`).join(', ');
    const message = `${problem.message}; the sites hold different entities (${counts}), so it cannot be rebuilt from them without choosing, and nothing is written. To rebuild it as the union of what they hold (nothing is deleted; conflicts go to the primary), annotate ${REBUILD_STATE_ANNOTATION}=<any new value>`;
    return { blocker: { reason, message } };
  }
  const first: ReadonlyMap<string, Entity> = maps[0] ?? new Map<string, Entity>();
  const entities = Object.fromEntries([...first].map(([k, e]) => [k, e.digest]));
  const agreed: AgreedState = {
    entities,
    deviations: {},
    joined: seen.map((o) => o.site.name),
    sequence,
    identities: Object.fromEntries(seen.map((o) => [o.site.name, o.snap.deploymentID])),
  };
  const message = `${problem.message}; rebuilt from the ${seen.length} sites, which hold the same ${first.size} entities`;
  return { agreed, rebuilt: { from: 'sites', message } };
}

export function recoverAgreed(pass: Pass): Recovery {
  const problem = pass.agreedProblem;
  if (problem === undefined) return {};
  const known = pass.obj.status?.knownSites ?? [];
  if (problem.kind === 'missing' && known.length === 0) return {};
  const sequence = pass.obj.status?.lastSequence ?? 0;
  const union = rebuildRequested(pass);
  if (union === undefined) return fromSites(pass, problem, sequence);
  const message = `${problem.message}; rebuilt as the union of what the sites hold (${REBUILD_STATE_ANNOTATION}=${union})`;
  return {
    agreed: { ...emptyAgreedState(), sequence },
    rebuilt: { from: 'union', message },
    rebuildValue: union,
  };
}
