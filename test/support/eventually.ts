/**
 * Retries `fn` until it returns without throwing, then returns its value. On timeout it throws
 * the last error, so the test shows what was still wrong. Never a fixed sleep.
 */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    try {
      return await fn();
    } catch (e: unknown) {
      if (Date.now() > deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}
