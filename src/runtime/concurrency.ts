/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Like Promise.allSettled with a limit: a failure is a value, never an exception. Items that
 * `laneOf` maps to the same lane run one after another, in input order (for writes a server
 * applies as read-modify-write of one record); different lanes share the limit.
 */
export async function settleLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  laneOf?: (item: T) => string,
): Promise<Settled<R>[]> {
  const lanes = new Map<string, number[]>();
  items.forEach((item, i) => {
    const lane = laneOf ? laneOf(item) : String(i);
    const queue = lanes.get(lane);
    if (queue) queue.push(i);
    else lanes.set(lane, [i]);
  });
  const results = new Array<Settled<R>>(items.length);
  await mapLimit([...lanes.values()], limit, async (indexes) => {
    for (const i of indexes) {
      try {
        results[i] = { ok: true, value: await fn(items[i] as T) };
      } catch (error: unknown) {
        results[i] = { ok: false, error };
      }
    }
  });
  return results;
}
