/**
 * Changes to what projects hold, made through the registry so that they record the same events as
 * the same action over /v2 (DELETE_REPOSITORY, DELETE_ARTIFACT, CREATE_TAG, DELETE_TAG,
 * PUSH_ARTIFACT): deleting repositories and artifacts, adding and removing tags, copying artifacts
 * between repositories, and a repository's description.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { CallContext, ImmutabilityGuard, Registry } from '../registry/index.ts';
import { immutableUpdateError, parseCopySource, pathInProject } from '../registry/index.ts';
import { fail, isValidTag, parseDigest, parseRepoName, type RepoName } from '../domain/index.ts';
import type { ProjectKey, ProjectLookup } from './project-lookup.ts';

/** What content changes need. */
export interface ContentChangesDeps {
  db: Kysely<Database>;
  registry: Pick<Registry, 'deleteRepository' | 'deleteManifest' | 'createTag' | 'deleteTag' | 'copyArtifact' | 'setRepositoryDescription'>;
  lookup: ProjectLookup;
  /** Tag immutability (the registry's port): an existing immutable tag is a 412, not a 409; absent: none. */
  immutability?: ImmutabilityGuard;
}

/** Deletes repositories and artifacts, adds and removes tags. */
export class ContentChanges {
  constructor(private readonly deps: ContentChangesDeps) {}

  /** Deletes a repository with all its artifacts and tags (through the registry). */
  async deleteRepository(ctx: CallContext, key: ProjectKey, repo: string): Promise<void> {
    const { fullName } = await this.deps.lookup.repository(ctx, key, repo, 'delete');
    await this.deps.registry.deleteRepository(ctx, fullName);
  }

  /** Deletes an artifact (by tag or digest) through the registry, which removes its tags too. */
  async deleteArtifact(ctx: CallContext, key: ProjectKey, repo: string, reference: string): Promise<void> {
    const { repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'delete');
    const a = await this.deps.lookup.artifact(repository, reference);
    await this.deps.registry.deleteManifest(ctx, fullName, { kind: 'digest', digest: parseDigest(a.digest) });
  }

  /** Adds a tag to an artifact (through the registry); CONFLICT when the repository already has it. */
  async createTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, body: unknown): Promise<void> {
    const { project, repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'create-tag');
    const name = body !== null && typeof body === 'object' && 'name' in body ? body.name : undefined;
    if (typeof name !== 'string' || name === '') throw fail('BAD_REQUEST', 'name is required');
    if (!isValidTag(name)) throw fail('BAD_REQUEST', `invalid tag name "${name}": tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    const a = await this.deps.lookup.artifact(repository, reference);
    const existing = await this.deps.db.selectFrom('tags').select('id').where('repository_id', '=', repository.id).where('name', '=', name).executeTakeFirst();
    if (existing) {
      const immutable = this.deps.immutability ? await this.deps.immutability.immutableTags(project.id) : null;
      if (immutable && immutable(pathInProject(fullName), name)) throw immutableUpdateError(name);
      throw fail('CONFLICT', `the tag ${name} already exists in ${fullName}`);
    }
    await this.deps.registry.createTag(ctx, fullName, parseDigest(a.digest), name);
  }

  /**
   * Harbor's CopyArtifact: copies `from` (`project/repository:tag` or `@digest`) into repository
   * `repo` of the project, which need not exist yet; push on the destination and pull on the source
   * are checked here first (Harbor's order), then the registry copies as a push. Returns the
   * reference of the copy as Harbor's Location names it: the tag when `from` used one, else the digest.
   */
  async copyArtifact(ctx: CallContext, key: ProjectKey, repo: string, from: unknown): Promise<string> {
    const project = await this.deps.lookup.project(ctx, key, 'push', repo);
    let to: RepoName;
    try {
      to = parseRepoName(`${project.name}/${repo}`);
    } catch {
      throw fail('BAD_REQUEST', `invalid repository name "${repo}"`);
    }
    const source = parseCopySource(from);
    const slash = source.repository.indexOf('/');
    const sourceKey: ProjectKey = { nameOrId: source.repository.slice(0, slash), isName: true };
    const found = await this.deps.lookup.repository(ctx, sourceKey, source.repository.slice(slash + 1), 'pull');
    const ref = source.reference.kind === 'tag' ? source.reference.tag : source.reference.digest;
    await this.deps.lookup.artifact(found.repository, ref);
    await this.deps.registry.copyArtifact(ctx, source.repository, source.reference, to);
    return ref;
  }

  /** Harbor's repository update: only `description` changes ('' when the body has none). */
  async updateRepository(ctx: CallContext, key: ProjectKey, repo: string, body: unknown): Promise<void> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object (Harbor\'s Repository)');
    const description = 'description' in body ? body.description : undefined;
    if (description !== undefined && description !== null && typeof description !== 'string') throw fail('BAD_REQUEST', 'description must be a string');
    const { fullName } = await this.deps.lookup.repository(ctx, key, repo, 'push');
    await this.deps.registry.setRepositoryDescription(ctx, fullName, description ?? '');
  }

  /** Removes a tag of the given artifact (through the registry); the artifact stays. */
  async deleteTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, tag: string): Promise<void> {
    const { repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'delete-tag');
    const a = await this.deps.lookup.artifact(repository, reference);
    const row = await this.deps.db.selectFrom('tags').select('id').where('artifact_id', '=', a.id).where('name', '=', tag).executeTakeFirst();
    if (!row) throw fail('NOT_FOUND', `tag ${tag} not found on artifact ${a.digest}`);
    await this.deps.registry.deleteTag(ctx, fullName, tag);
  }
}
