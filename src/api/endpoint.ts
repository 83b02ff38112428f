/**
 * One site endpoint, one spelling. `https://HOST:443/`, `https://host` and `HTTPS://host/` name
 * the same server; compared as strings they do not, and a remote target stored by the server in
 * one spelling would never match the spec's other one (the target re-created, a replication
 * reset started, every pass). Every comparison of endpoints goes through `sameEndpoint`.
 */

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/**
 * `scheme://host[:port]`: scheme and host in lower case (IDN hosts in their ASCII form), the
 * scheme's default port dropped, no path, no trailing slash. Text that is not a URL is only
 * trimmed, lower-cased and stripped of trailing slashes (it then equals only itself).
 */
export function normalizeEndpoint(endpoint: string): string {
  const known = NORMALIZED.get(endpoint);
  if (known !== undefined) return known;
  const out = normalize(endpoint);
  NORMALIZED.set(endpoint, out);
  if (NORMALIZED.size > NORMALIZED_MAX) {
    const oldest = NORMALIZED.keys().next().value;
    if (oldest !== undefined) NORMALIZED.delete(oldest);
  }
  return out;
}

/**
 * Endpoints normalized lately: a pass compares every bucket's targets with every peer's
 * endpoint (thousands of URL parses per pass at 1000 buckets). Bounded, oldest out.
 */
const NORMALIZED = new Map<string, string>();
const NORMALIZED_MAX = 1024;

function normalize(endpoint: string): string {
  const text = endpoint.trim();
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.toLowerCase().replace(/\/+$/, '');
  }
  // WHATWG URL lower-cases the scheme and a special scheme's host and drops its default port
  // already; spelled out for the schemes we serve, in case a caller passes another.
  const port = url.port === '' || url.port === DEFAULT_PORTS[url.protocol] ? '' : `:${url.port}`;
  return `${url.protocol}//${url.hostname.toLowerCase()}${port}`;
}

/** Whether two endpoints name the same server (see `normalizeEndpoint`). */
export function sameEndpoint(a: string, b: string): boolean {
  return normalizeEndpoint(a) === normalizeEndpoint(b);
}
