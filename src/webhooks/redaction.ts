/**
 * Redaction of webhook secrets, pure. One marker everywhere: `<redacted>` (policy views, stored
 * request headers, stored attempt URLs, scrubbed response bodies and the task log).
 *
 * - Target addresses in API views: the password of the URL's userinfo (or the user name when
 *   there is no password, as in `https://TOKEN@host/`) and the values of query parameters whose
 *   name looks secret (token, key, secret, sig, pass, pwd, auth, code, cred, session) are
 *   replaced by the marker, textually: the rest of the address is kept byte for byte, so an
 *   update that sends the view back can be recognised ({@link restoreAddress}).
 * - Stored response excerpts: every occurrence of a secret the request carried (the
 *   `Authorization` value and its credential part, custom header values, the URL's userinfo
 *   secret, also in their JSON-escaped, percent-encoded and Basic base64 forms) is replaced by the
 *   marker before the excerpt is written ({@link scrubSecrets}).
 */

/** The one redaction marker. */
export const redactionMarker = '<redacted>';

/** Query parameter names whose values are treated as secrets. */
const secretParam = /token|key|secret|sig|pass|pwd|auth|code|cred|session/i;

/** Secrets shorter than this are not searched for in response bodies (they would match everywhere). */
export const minScrubLength = 4;

interface AddressParts {
  /** `scheme://` */
  scheme: string;
  /** userinfo without the `@`, or null. */
  userinfo: string | null;
  /** host[:port] */
  hostPort: string;
  /** path (may be '') */
  path: string;
  /** query without `?`, or null */
  query: string | null;
  /** fragment with `#`, or '' */
  fragment: string;
}

function splitAddress(address: string): AddressParts | null {
  const i = address.indexOf('://');
  if (i < 0) return null;
  const scheme = address.slice(0, i + 3);
  const rest = address.slice(i + 3);
  const hashAt = rest.indexOf('#');
  const beforeHash = hashAt < 0 ? rest : rest.slice(0, hashAt);
  const fragment = hashAt < 0 ? '' : rest.slice(hashAt);
  const qAt = beforeHash.indexOf('?');
  const beforeQuery = qAt < 0 ? beforeHash : beforeHash.slice(0, qAt);
  const query = qAt < 0 ? null : beforeHash.slice(qAt + 1);
  const slashAt = beforeQuery.search(/[/\\]/);
  const authority = slashAt < 0 ? beforeQuery : beforeQuery.slice(0, slashAt);
  const path = slashAt < 0 ? '' : beforeQuery.slice(slashAt);
  const at = authority.lastIndexOf('@');
  return {
    scheme,
    userinfo: at < 0 ? null : authority.slice(0, at),
    hostPort: at < 0 ? authority : authority.slice(at + 1),
    path,
    query,
    fragment,
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * The address as API views show it: userinfo secret and secret-looking query values replaced by
 * the marker, everything else unchanged. An address without secrets comes back identical.
 */
export function redactAddress(address: string): string {
  const parts = splitAddress(address);
  if (!parts) return address;
  let userinfo = parts.userinfo;
  if (userinfo !== null && userinfo !== '') {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      if (colon < userinfo.length - 1) userinfo = `${userinfo.slice(0, colon)}:${redactionMarker}`;
    } else {
      userinfo = redactionMarker;
    }
  }
  let query = parts.query;
  if (query !== null && query !== '') {
    query = query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq < 0) return pair;
        const name = safeDecode(pair.slice(0, eq));
        return secretParam.test(name) && eq < pair.length - 1 ? `${pair.slice(0, eq)}=${redactionMarker}` : pair;
      })
      .join('&');
  }
  return `${parts.scheme}${userinfo !== null ? `${userinfo}@` : ''}${parts.hostPort}${parts.path}${query !== null ? `?${query}` : ''}${parts.fragment}`;
}

/** The marker as a browser or URL library may send it back (percent-encoded). */
const encodedMarkers = [redactionMarker, encodeURIComponent(redactionMarker), '%3credacted%3e'];

/** True when `address` carries the marker (literally or percent-encoded). */
export function hasMarker(address: string): boolean {
  const lower = address.toLowerCase();
  return encodedMarkers.some((m) => lower.includes(m.toLowerCase()));
}

/**
 * The stored address an update refers to when it sends back what a view showed: `incoming` equal
 * to the redacted `stored` address (the marker literal or percent-encoded) gives `stored`;
 * anything else gives null.
 */
export function restoreAddress(incoming: string, stored: string): string | null {
  const view = redactAddress(stored);
  if (view === stored) return null;
  const normalise = (s: string) => s.replace(/%3c/gi, '<').replace(/%3e/gi, '>');
  return normalise(incoming) === normalise(view) ? stored : null;
}

/** The secrets of an address: its userinfo secret (raw and decoded) and secret-looking query values. */
export function addressSecrets(address: string): string[] {
  const parts = splitAddress(address);
  if (!parts) return [];
  const out: string[] = [];
  if (parts.userinfo) {
    const colon = parts.userinfo.indexOf(':');
    const secret = colon >= 0 ? parts.userinfo.slice(colon + 1) : parts.userinfo;
    if (secret !== '') out.push(secret, safeDecode(secret));
  }
  if (parts.query) {
    for (const pair of parts.query.split('&')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || !secretParam.test(safeDecode(pair.slice(0, eq)))) continue;
      const v = pair.slice(eq + 1);
      if (v !== '') out.push(v, safeDecode(v));
    }
  }
  return out;
}

/** The secret values of a request's headers: those whose redacted copy differs (signer's `redacted` map). */
export function headerSecrets(headers: Record<string, string>, redacted: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (redacted[k] === v) continue;
    out.push(v);
    // `Bearer abc`, `Basic dXNlcjpwYXNz`: a receiver may echo only the credential.
    const space = v.indexOf(' ');
    if (space > 0) {
      const credential = v.slice(space + 1).trim();
      out.push(credential);
      if (/^basic$/i.test(v.slice(0, space))) {
        const decoded = Buffer.from(credential, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon >= 0) out.push(decoded.slice(colon + 1));
      }
    }
  }
  return out;
}

/** Knuth-Morris-Pratt failure function of `p`: for each prefix, the length of its longest proper border. */
function borders(p: string): Int32Array {
  const f = new Int32Array(p.length);
  for (let i = 1, k = 0; i < p.length; i++) {
    while (k > 0 && p.charCodeAt(i) !== p.charCodeAt(k)) k = f[k - 1] ?? 0;
    if (p.charCodeAt(i) === p.charCodeAt(k)) k++;
    f[i] = k;
  }
  return f;
}

/**
 * Scans `text` once with the automaton of `p`: records every occurrence as a [start, end) range,
 * and returns the length of the longest prefix of `p` that the text ends with.
 */
function scan(text: string, p: string, ranges: Array<[number, number]>): number {
  const f = borders(p);
  let k = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    while (k > 0 && c !== p.charCodeAt(k)) k = f[k - 1] ?? 0;
    if (c === p.charCodeAt(k)) k++;
    if (k === p.length) {
      ranges.push([i + 1 - p.length, i + 1]);
      k = f[k - 1] ?? 0;
    }
  }
  return k;
}

/**
 * Replaces every occurrence of each secret (and of its JSON-escaped and percent-encoded forms) in
 * `text` by the marker; overlapping occurrences become one marker. When the text was cut
 * (`truncated`), a tail that is the beginning of a secret is replaced too. Secrets shorter than
 * {@link minScrubLength} are ignored.
 *
 * Cost: one linear scan of `text` per form (at most three per secret), each form cut to the
 * text's length first, so a receiver's body and a project admin's header values together cost
 * O(forms × text), never their product with the secrets' lengths.
 */
export function scrubSecrets(text: string, secrets: readonly string[], truncated = false): string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < minScrubLength) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  if (forms.size === 0 || text.length < minScrubLength) return text;
  const ranges: Array<[number, number]> = [];
  for (const form of forms) {
    // A form longer than the text cannot occur whole; only its beginning can end a cut text.
    const whole = form.length <= text.length;
    const p = whole ? form : form.slice(0, text.length);
    const tail = whole ? scan(text, p, ranges) : scanPrefixOnly(text, p);
    if (truncated && tail >= minScrubLength && tail < form.length) ranges.push([text.length - tail, text.length]);
  }
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  let end = -1;
  for (const [s, e] of ranges) {
    if (s > end) {
      if (end >= 0) out += redactionMarker;
      out += text.slice(at, s);
      end = e;
    } else if (e > end) end = e;
    at = end;
  }
  return out + redactionMarker + text.slice(at);
}

/** Like {@link scan} for a pattern that cannot occur whole: only the longest prefix the text ends with. */
function scanPrefixOnly(text: string, p: string): number {
  // `p` is as long as the text: a full-length "occurrence" is the text ending with all of it.
  const ignored: Array<[number, number]> = [];
  const k = scan(text, p, ignored);
  return ignored.length > 0 ? p.length : k;
}
