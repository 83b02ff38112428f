/**
 * What may reach a status, a condition or an Event: only messages the operator wrote, bounded.
 *
 * An error's message is shown only when the operator's own code wrote it (a `SiteError`, which
 * never quotes a body or a credential, a `TerminalError`, a decode error that names the part
 * that is wrong, ...). Errors the JavaScript runtime or a library raise quote their input: a
 * JSON parse error of an IAM export quotes the text around the bad token, next to a user's
 * secret key. Those are named by their class only. Every message is then cut to a bound, so a
 * site that answers a 40 KB error cannot push a status past the CRD's 32 KiB per message (the
 * status patch would fail with 422 and status would freeze).
 */

/** One site's (or one part's) failure in a condition message, and `status.sites[].lastError`. */
export const MAX_PART_MESSAGE = 1024;
/** A condition message (metav1.Condition allows 32768). */
export const MAX_CONDITION_MESSAGE = 4096;
/** An Event message. */
export const MAX_EVENT_MESSAGE = 2048;

/**
 * Errors whose message the operator wrote (by class name). A plain `Error` counts too: the
 * runtime and the libraries the operator uses throw subclasses; `new Error(...)` is the
 * operator's own.
 */
const OPERATOR_ERRORS: ReadonlySet<string> = new Set([
  'SiteError',
  'TerminalError',
  'LeadershipLostError',
  'KubeApiError',
  'DecodeError',
  'ExportFormatError',
  'ZipError',
  'ResponseTooLargeError',
  'ConfigKVSyntaxError',
  'PayloadCryptoError',
  'CredentialsError',
  'AgreedStateDecodeError',
  'ReplicationXMLError',
  'CheckpointDecodeError',
  'CheckpointTooLargeError',
  'CopierPreconditionError',
  // Thrown by AbortSignal.timeout() and abort(): fixed texts.
  'TimeoutError',
  'AbortError',
]);

function isOperatorError(e: Error): boolean {
  if (Object.getPrototypeOf(e) === Error.prototype) return true;
  return OPERATOR_ERRORS.has(e.name);
}

/**
 * The message of `e` fit for a status or an Event: its own when the operator wrote it, else
 * only its class ("unexpected SyntaxError"). Not bounded (see `bounded`).
 */
export function describeError(e: unknown): string {
  if (!(e instanceof Error)) return 'unexpected failure (a value that is not an Error was thrown)';
  if (isOperatorError(e)) return e.message;
  return `unexpected ${e.name} (its text is withheld: it may quote what a site sent)`;
}

/**
 * For logs: the class and where it was thrown (stack frames, not the message) when the message
 * is withheld from status; the message when the operator wrote it.
 */
export function loggableError(e: unknown): string {
  if (e instanceof Error && !isOperatorError(e)) {
    const frames = (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at '));
    return [describeError(e), ...frames.slice(0, 5).map((l) => l.trim())].join(' | ');
  }
  return describeError(e);
}

/**
 * `text` cut to at most `max` characters, saying how much was cut; never splits a surrogate
 * pair.
 */
export function bounded(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = (n: number) => `… (${String(n)} more characters)`;
  let end = Math.max(0, max - note(text.length).length);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}${note(text.length - end)}`;
}

/**
 * Parts joined with `sep`, each cut to `perPart`, the whole to `max`: the first parts whole,
 * then how many more were left out.
 */
export function joinBounded(
  parts: readonly string[],
  opts: { sep?: string; perPart?: number; max?: number } = {},
): string {
  const sep = opts.sep ?? '; ';
  const max = opts.max ?? MAX_CONDITION_MESSAGE;
  const cut = parts.map((p) => bounded(p, opts.perPart ?? MAX_PART_MESSAGE));
  let out = '';
  for (const [i, p] of cut.entries()) {
    const next = out === '' ? p : `${out}${sep}${p}`;
    const more = cut.length - i - 1;
    const tail = more > 0 ? `${sep}and ${String(more)} more` : '';
    if ((next + tail).length > max) {
      return bounded(`${out}${out === '' ? '' : sep}and ${String(cut.length - i)} more`, max);
    }
    out = next;
  }
  return out;
}
