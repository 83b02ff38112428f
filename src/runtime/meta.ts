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
