/**
 * Errors with a meaning for the controller runtime, as controller-runtime has them.
 */

/**
 * A failure retrying cannot fix, such as a spec the operator cannot act on: the key is not
 * requeued (a change of the object queues it again), and the controller's `stalled` hook
 * writes the reason into the status (`Stalled`, `Ready=False`). controller-runtime's
 * `reconcile.TerminalError`.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';

  constructor(
    /** A CamelCase condition reason, e.g. `InvalidSpec`. */
    readonly reason: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The reason a reconcile's signal carries when the operator lost its leader lease. */
export class LeadershipLostError extends Error {
  override readonly name = 'LeadershipLostError';

  constructor() {
    super('leadership lost: the leader lease was not renewed in time');
  }
}
