/**
 * Glob patterns for webhook policy filters (`repo_filters`, `tag_filters`), matched against a
 * whole string (a full repository name such as `library/alpine`, or a tag):
 *
 *   `*`       any run of characters except `/`        `library/*` matches `library/alpine`
 *   `**`      any run of characters, `/` included      `team/**` matches `team/a/b` (and `team`)
 *   `?`       one character except `/`
 *   `[abc]`   one character of a set; `[a-z]` ranges; `[!abc]` / `[^abc]` negates
 *   `{a,b}`   either alternative (no nesting)
 *
 * Everything else matches itself, case-sensitively (repository names are lower-case by rule).
 */

const cache = new Map<string, RegExp>();

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(c) ? `\\${c}` : c;
}

/** Translates one glob (already split out of any `{}` alternative) into regex source. */
function translate(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*') {
      if (glob.charAt(i + 1) === '*') {
        const atStart = i === 0 || glob.charAt(i - 1) === '/';
        i++;
        while (glob.charAt(i + 1) === '*') i++;
        if (atStart && glob.charAt(i + 1) === '/') {
          // `**/` : zero or more whole segments.
          out += '(?:.*/)?';
          i++;
        } else if (i === glob.length - 1 && out.endsWith('/')) {
          // trailing `/**` : the folder itself or anything below it.
          out = `${out.slice(0, -1)}(?:/.*)?`;
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      const cls = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      out += negate ? `[^/${cls}]` : `[${cls}]`;
      i = end;
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end === -1) {
        out += '\\{';
        continue;
      }
      const alts = glob.slice(i + 1, end).split(',').map(translate);
      out += `(?:${alts.join('|')})`;
      i = end;
    } else {
      out += escapeRe(c);
    }
  }
  return out;
}

/** The anchored regular expression for `pattern` (cached). */
export function globToRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    re = new RegExp(`^${translate(pattern)}$`);
    if (cache.size > 1000) cache.clear();
    cache.set(pattern, re);
  }
  return re;
}

/** True when `value` matches the glob `pattern` as a whole. */
export function globMatch(pattern: string, value: string): boolean {
  return globToRegExp(pattern).test(value);
}

/**
 * A policy filter: an empty list matches everything; otherwise `value` must match at least one
 * pattern, and a missing value (an event without a repository or a tag) matches nothing.
 */
export function filterMatches(patterns: readonly string[], value: string | null | undefined): boolean {
  if (patterns.length === 0) return true;
  if (value === null || value === undefined) return false;
  return patterns.some((p) => globMatch(p, value));
}
