/** Small helpers on AbortSignals. */

/** Reads `signal.aborted` afresh (TypeScript would narrow the property after a check). */
export function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
