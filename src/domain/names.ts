import { fail } from './errors.ts';
import { isDigest, parseDigest, type Digest } from './digest.ts';

/** A validated repository name (`project/path/to/repo`). Only {@link parseRepoName} makes one. */
export type RepoName = string & { readonly __brand: 'RepoName' };
/** A validated tag. */
export type Tag = string & { readonly __brand: 'Tag' };
/** A manifest reference: a tag or a digest. */
export type Reference = { kind: 'tag'; tag: Tag } | { kind: 'digest'; digest: Digest };

const component = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const repoGrammar = new RegExp(`^${component}(?:/${component})*$`);
const tagGrammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const projectGrammar = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Longest repository name accepted (the OCI spec's recommended limit). */
export const maxRepoNameLength = 255;

/**
 * Validates a repository name. Wharf requires at least two components: the first is the project
 * (Harbor's model), the rest the repository inside it.
 */
export function parseRepoName(s: string): RepoName {
  if (s.length === 0 || s.length > maxRepoNameLength || !repoGrammar.test(s)) {
    throw fail('NAME_INVALID', 'invalid repository name', { name: s });
  }
  if (!s.includes('/')) {
    throw fail('NAME_INVALID', 'invalid repository name: it must start with a project, as in library/' + s, { name: s });
  }
  return s as RepoName;
}

/** The project part of a repository name (`library` in `library/alpine`). */
export function projectOf(name: RepoName): string {
  return name.slice(0, name.indexOf('/'));
}

/** The repository name inside its project (`a/b` in `library/a/b`), as Harbor's `repository.name`. */
export function nameInProject(name: RepoName): string {
  return name.slice(name.indexOf('/') + 1);
}

/** Validates a project name (Harbor: lower case, digits and `._-` separators, 1..255 chars). */
export function isValidProjectName(s: string): boolean {
  return s.length >= 1 && s.length <= 255 && projectGrammar.test(s);
}

/** True when `s` is a valid tag (`[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`). */
export function isValidTag(s: string): s is Tag {
  return tagGrammar.test(s);
}

/** Parses a manifest reference (`<tag>` or `<digest>`); throws MANIFEST_INVALID/DIGEST_INVALID on bad input. */
export function parseReference(s: string): Reference {
  if (s.includes(':')) {
    if (!isDigest(s) && !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(s)) {
      throw fail('MANIFEST_INVALID', 'invalid reference: neither a tag nor a digest', { reference: s });
    }
    return { kind: 'digest', digest: parseDigest(s) };
  }
  if (!isValidTag(s)) throw fail('MANIFEST_INVALID', 'invalid tag: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}', { reference: s });
  return { kind: 'tag', tag: s };
}
