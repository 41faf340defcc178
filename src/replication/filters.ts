/**
 * What a replication policy's filters select, and where a repository lands at the destination:
 * Harbor's filter semantics and its `dest_namespace` flattening (facts: harbor-lifecycle.md
 * §4.3, §4.5). Pure code; patterns are Wharf's linear-time doublestar globs (src/domain/glob.ts).
 *
 * - `name`: a pattern over the full repository path, project included (`library/**`).
 * - `tag`: per tag of an artifact. `matches` keeps the tags that match, `excludes` the tags that
 *   do not; an artifact left with no tag is dropped, and only the kept tags are copied. An
 *   untagged artifact is tested as the empty string, so `*` and `**` keep it under `matches`
 *   and drop it under `excludes`.
 * - `label`: label names, all of which the artifact must carry (`excludes` inverts).
 * - `resource`: `image` keeps image artifacts (images and image indexes), `artifact` keeps all.
 *
 * Several filters all apply (a logical AND); an empty pattern or label list selects everything.
 * An accessory (a signature, an SBOM) is filtered as its subject is: by the subject's tags,
 * labels and kind, and when the subject is selected the accessory is copied with its own tags.
 */
import { fail, globMatch } from '../domain/index.ts';

/** How a tag or label filter applies its value. */
export type FilterDecoration = 'matches' | 'excludes';

/** The resource kinds a `resource` filter names. */
export type ResourceKind = 'image' | 'artifact';

/** One validated filter, as stored (decorations are explicit). */
export type ReplicationFilter =
  | { type: 'name'; value: string }
  | { type: 'tag'; value: string; decoration: FilterDecoration }
  | { type: 'label'; value: string[]; decoration: FilterDecoration }
  | { type: 'resource'; value: ResourceKind };

/** What the filters see of one artifact. `kind` is Harbor's artifact type (`IMAGE`, `CHART`, ...). */
export interface ArtifactFacts {
  tags: readonly string[];
  labels: readonly string[];
  kind: string;
  /** Set for an accessory: its subject's facts, by which the accessory is filtered. */
  subject?: { tags: readonly string[]; labels: readonly string[]; kind: string };
}

/** A selected artifact: the tags to copy (empty for an untagged artifact, copied by digest). */
export interface ArtifactSelection {
  tags: string[];
}

/** True when the repository (its full path, project included) passes every `name` filter. */
export function matchesRepository(filters: readonly ReplicationFilter[], repoPath: string): boolean {
  return filters.every((f) => f.type !== 'name' || f.value === '' || globMatch(f.value, repoPath));
}

/**
 * The tags of `tags` that survive every tag filter, or null when the artifact is dropped. Each
 * filter narrows what the previous ones kept; an untagged artifact is tested as `""`.
 */
function keptTags(filters: readonly ReplicationFilter[], tags: readonly string[]): string[] | null {
  let kept = [...tags];
  for (const f of filters) {
    if (f.type !== 'tag' || f.value === '') continue;
    const keep = (t: string): boolean => globMatch(f.value, t) !== (f.decoration === 'excludes');
    if (tags.length === 0) {
      if (!keep('')) return null;
      continue;
    }
    kept = kept.filter(keep);
    if (kept.length === 0) return null;
  }
  return kept;
}

function labelsPass(filters: readonly ReplicationFilter[], labels: readonly string[]): boolean {
  const carried = new Set(labels);
  return filters.every((f) => {
    if (f.type !== 'label' || f.value.length === 0) return true;
    const all = f.value.every((l) => carried.has(l));
    return all !== (f.decoration === 'excludes');
  });
}

function kindPasses(filters: readonly ReplicationFilter[], kind: string): boolean {
  return filters.every((f) => f.type !== 'resource' || f.value === 'artifact' || kind === 'IMAGE');
}

/**
 * Whether an artifact passes the tag, label and resource filters (the repository is
 * {@link matchesRepository}'s question), and which of its tags to copy; null when it is dropped.
 */
export function matchesArtifact(filters: readonly ReplicationFilter[], artifact: ArtifactFacts): ArtifactSelection | null {
  const judged = artifact.subject ?? artifact;
  if (!kindPasses(filters, judged.kind) || !labelsPass(filters, judged.labels)) return null;
  const tags = keptTags(filters, judged.tags);
  if (tags === null) return null;
  return { tags: artifact.subject === undefined ? tags : [...artifact.tags] };
}

/**
 * Where a source repository lands: `destNamespace` replaces the first `replaceCount` path
 * components before the last one, which is always kept. Source `a/b/c/img`, namespace `n`:
 * -1 (Harbor's legacy mode, any negative count) → `n/img`; 0 → `n/a/b/c/img`; 1 → `n/b/c/img`;
 * 2 → `n/c/img`; 3 → `n/img`; 4 → a BAD_REQUEST (the source has only three such components).
 * An empty namespace keeps the source path. `pathRule` is the destination's rule on the result:
 * `only-two` (Docker Hub) or `at-least-two` (Harbor); `any` (the default) checks nothing. Unlike
 * Harbor, the rule is checked with an empty namespace too, so a one-component source (`alpine` in
 * a plain registry) pulled into a Harbor-style destination fails here rather than at the push.
 */
export function destinationRepository(
  srcRepo: string,
  destNamespace: string,
  replaceCount: number,
  pathRule: 'any' | 'only-two' | 'at-least-two' = 'any',
): string {
  const parts = srcRepo.split('/');
  const last = parts[parts.length - 1] ?? srcRepo;
  const prefixes = parts.slice(0, -1);
  let kept: string[];
  if (destNamespace === '') kept = prefixes;
  else if (replaceCount < 0) kept = [];
  else if (replaceCount > prefixes.length) {
    throw fail(
      'BAD_REQUEST',
      `dest_namespace_replace_count ${replaceCount} is larger than the ${prefixes.length} path component(s) before the last one in the source repository "${srcRepo}"`,
    );
  } else kept = prefixes.slice(replaceCount);
  const dest = [...(destNamespace === '' ? [] : [destNamespace]), ...kept, last].join('/');
  const count = dest.split('/').length;
  const has = `the destination repository "${dest}" has ${count} path component${count === 1 ? '' : 's'}`;
  if (pathRule === 'only-two' && count !== 2) throw fail('BAD_REQUEST', `${has}; the destination registry takes exactly 2`);
  if (pathRule === 'at-least-two' && count < 2) {
    throw fail('BAD_REQUEST', `${has}; the destination registry needs at least 2`);
  }
  return dest;
}
