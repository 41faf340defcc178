/**
 * Resolves what an /api/v2.0 path names (a project by name or id, a repository inside it, an
 * artifact by tag or digest) and checks the caller's permission on it, for every project service.
 */
import type { Kysely } from 'kysely';
import type { ArtifactRow, Database, ProjectRow, RepositoryRow } from '../db/index.ts';
import type { Action, Authorizer } from '../auth/index.ts';
import type { CallContext } from '../registry/index.ts';
import { fail, parseReference, parseRepoName, type Reference, type RepoName } from '../domain/index.ts';

/** How a project is named in a path: Harbor's `project_name_or_id` plus `X-Is-Resource-Name`. */
export interface ProjectKey {
  nameOrId: string;
  /** True when `X-Is-Resource-Name: true` was sent: the value is a name even when numeric. */
  isName: boolean;
}

/** A repository found by path, with its project and full name. */
export interface FoundRepository {
  project: ProjectRow;
  repository: RepositoryRow;
  fullName: RepoName;
}

/** Finds projects, repositories and artifacts named in paths; NOT_FOUND, or the authorizer's refusal. */
export class ProjectLookup {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly authorizer: Authorizer,
  ) {}

  /** Finds a project and checks `action` on it (on repository `repo` inside it, when given: a registry token needs it). */
  async project(ctx: CallContext, key: ProjectKey, action: Action, repo?: string): Promise<ProjectRow> {
    const byId = !key.isName && /^[0-9]+$/.test(key.nameOrId);
    if (byId && !Number.isSafeInteger(Number(key.nameOrId))) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    const q = this.db.selectFrom('projects').selectAll();
    const p = await (byId ? q.where('id', '=', Number(key.nameOrId)) : q.where('name', '=', key.nameOrId)).executeTakeFirst();
    if (!p) throw fail('NOT_FOUND', `project ${key.nameOrId} not found`);
    this.authorizer.check(ctx.actor, action, { name: p.name, public: p.public === 1 }, repo === undefined ? undefined : `${p.name}/${repo}`);
    return p;
  }

  /** Finds a repository (`repo` is the name inside the project) and checks `action` on it. */
  async repository(ctx: CallContext, key: ProjectKey, repo: string, action: Action): Promise<FoundRepository> {
    const project = await this.project(ctx, key, action, repo);
    let fullName: RepoName;
    try {
      fullName = parseRepoName(`${project.name}/${repo}`);
    } catch {
      throw fail('BAD_REQUEST', `invalid repository name "${repo}"`);
    }
    const repository = await this.db.selectFrom('repositories').selectAll().where('name', '=', fullName).executeTakeFirst();
    if (!repository) throw fail('NOT_FOUND', `repository ${fullName} not found`);
    return { project, repository, fullName };
  }

  /** Finds an artifact of a repository by tag or digest. */
  async artifact(repository: RepositoryRow, reference: string): Promise<ArtifactRow> {
    let ref: Reference;
    try {
      ref = parseReference(reference);
    } catch {
      throw fail('BAD_REQUEST', `invalid reference "${reference}": use a tag or a digest`);
    }
    const a =
      ref.kind === 'digest'
        ? await this.db.selectFrom('artifacts').selectAll().where('repository_id', '=', repository.id).where('digest', '=', ref.digest).executeTakeFirst()
        : await this.db
            .selectFrom('tags')
            .innerJoin('artifacts', 'artifacts.id', 'tags.artifact_id')
            .selectAll('artifacts')
            .where('tags.repository_id', '=', repository.id)
            .where('tags.name', '=', ref.tag)
            .executeTakeFirst();
    if (!a) throw fail('NOT_FOUND', `artifact ${repository.name}:${reference} not found`);
    return a;
  }
}
