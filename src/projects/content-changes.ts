/**
 * Changes to what projects hold, made through the registry so that they record the same events as
 * the same action over /v2 (DELETE_REPOSITORY, DELETE_ARTIFACT, CREATE_TAG, DELETE_TAG): deleting
 * repositories and artifacts, adding and removing tags.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { CallContext, ImmutabilityGuard, Registry } from '../registry/index.ts';
import { immutableUpdateError, pathInProject } from '../registry/index.ts';
import { fail, isValidTag, parseDigest } from '../domain/index.ts';
import type { ProjectKey, ProjectLookup } from './project-lookup.ts';

/** What content changes need. */
export interface ContentChangesDeps {
  db: Kysely<Database>;
  registry: Pick<Registry, 'deleteRepository' | 'deleteManifest' | 'createTag' | 'deleteTag'>;
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

  /** Removes a tag of the given artifact (through the registry); the artifact stays. */
  async deleteTag(ctx: CallContext, key: ProjectKey, repo: string, reference: string, tag: string): Promise<void> {
    const { repository, fullName } = await this.deps.lookup.repository(ctx, key, repo, 'delete-tag');
    const a = await this.deps.lookup.artifact(repository, reference);
    const row = await this.deps.db.selectFrom('tags').select('id').where('artifact_id', '=', a.id).where('name', '=', tag).executeTakeFirst();
    if (!row) throw fail('NOT_FOUND', `tag ${tag} not found on artifact ${a.digest}`);
    await this.deps.registry.deleteTag(ctx, fullName, tag);
  }
}
