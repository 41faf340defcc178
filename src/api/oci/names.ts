/**
 * Parses /v2 paths. Repository names contain slashes, so the plugin (index.ts) has one wildcard
 * route `/v2/*` and this module splits the raw path into the repository name and the path kind
 * by its tail; route modules register handlers per kind in an OciRoutes table (see routing.ts,
 * which documents the contract between index.ts, blobs.ts and manifests.ts).
 *
 * The name is taken from the raw (undecoded) URL: any `%` escape in it (`%2F`, `%2E%2E`), `..`,
 * upper case or an empty component is NAME_INVALID before any handler runs, so nothing is written.
 */
import { fail, parseRepoName } from '../../domain/index.ts';
import type { OciPathKind, OciTarget } from './routing.ts';

// Tails, most specific first: `/blobs/uploads/<id>` must win over `/blobs/<digest>`.
const tails: Array<{ kind: OciPathKind; re: RegExp }> = [
  { kind: 'uploads', re: /^(.+)\/blobs\/uploads\/?$/ },
  { kind: 'upload', re: /^(.+)\/blobs\/uploads\/([^/]+)$/ },
  { kind: 'blob', re: /^(.+)\/blobs\/([^/]+)$/ },
  { kind: 'manifest', re: /^(.+)\/manifests\/([^/]+)$/ },
  { kind: 'tags', re: /^(.+)\/tags\/list$/ },
  { kind: 'referrers', re: /^(.+)\/referrers\/([^/]+)$/ },
];

/**
 * Parses the part of a raw request URL after `/v2/` (query string included or not).
 * Returns null when the path is no /v2 route; throws NAME_INVALID for a bad repository name.
 */
export function parseOciPath(rawTail: string): OciTarget | null {
  const q = rawTail.indexOf('?');
  const path = q >= 0 ? rawTail.slice(0, q) : rawTail;
  for (const { kind, re } of tails) {
    const m = re.exec(path);
    if (!m) continue;
    const rawName = m[1] ?? '';
    if (rawName.includes('%') || rawName.includes('..')) {
      throw fail('NAME_INVALID', 'invalid repository name: escapes and ".." are not allowed', { name: rawName });
    }
    const name = parseRepoName(rawName);
    return { name, kind, arg: decodeSegment(m[2] ?? '') };
  }
  return null;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The path of a request URL without its query string. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q >= 0 ? url.slice(0, q) : url;
}
