/** Object metadata, keys and the predicates controllers use: pure, no I/O. */

/** The metadata an informer needs from any object. */
export interface MetaObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type ChangeKind = 'added' | 'updated' | 'deleted';
/** `old` is the cached object an update replaced. */
export type ChangeHandler<T> = (obj: T, change: ChangeKind, old?: T) => void;

export function objectKey(obj: MetaObject): string {
  return obj.metadata.namespace
    ? `${obj.metadata.namespace}/${obj.metadata.name}`
    : obj.metadata.name;
}

interface DesiredMeta {
  metadata: {
    generation?: number;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
}

/**
 * Whether an update may ask for something new: any change but one of status alone. With a
 * status subresource, `generation` moves only with the spec; annotations (resync, recover),
 * labels, finalizers and deletion are checked as well (controller-runtime's
 * GenerationChanged and AnnotationChanged predicates). A controller's own status writes then
 * do not queue its object again.
 */
export function desiredStateChanged(old: unknown, obj: unknown): boolean {
  const a = (old as DesiredMeta | undefined)?.metadata;
  const b = (obj as DesiredMeta | undefined)?.metadata;
  if (a?.generation === undefined || b?.generation === undefined) return true;
  const desired = (m: DesiredMeta['metadata']) =>
    JSON.stringify([
      m.generation,
      m.deletionTimestamp ?? null,
      m.annotations ?? {},
      m.labels ?? {},
      m.finalizers ?? [],
    ]);
  return desired(a) !== desired(b);
}

/** What of an object's metadata says who owns it. */
export interface OwnedMeta {
  metadata: { ownerReferences?: readonly { uid: string }[] | undefined };
}

/**
 * Whether an object an owner keeps under a fixed name was left by another owner of that name
 * (one deleted and created again before the garbage collector removed its dependents): it has
 * owner references and none of them is `uid`. Its holder reads such an object as absent and
 * replaces it, owner reference included, so the collector no longer counts it as an orphan.
 */
export function leftByPredecessor(obj: OwnedMeta, uid: string): boolean {
  const refs = obj.metadata.ownerReferences ?? [];
  return refs.length > 0 && !refs.some((r) => r.uid === uid);
}
