/**
 * Repository and project lookups shared by the blob and manifest services. A repository row is
 * created on the first blob or manifest pushed to it, with a CREATE_REPOSITORY event in the same
 * transaction.
 */
import type { Kysely, Transaction } from 'kysely';
import { fail, projectOf, type RepoName } from '../domain/index.ts';
import { registryStore, type Database, type ProjectRow, type RepositoryRow } from '../db/index.ts';
import type { Outbox, ProjectRef, RepositoryRef } from '../events/index.ts';
import type { CallContext } from './types.ts';

type Q = Kysely<Database> | Transaction<Database>;

/** Longest repository description accepted (Harbor's repository update). */
export const maxRepositoryDescriptionLength = 2048;

/** The project a repository name belongs to; NAME_UNKNOWN naming the project when it does not exist. */
export async function projectForRepo(db: Q, name: RepoName): Promise<ProjectRow> {
  const projectName = projectOf(name);
  const project = await db.selectFrom('projects').selectAll().where('name', '=', projectName).executeTakeFirst();
  if (!project) throw projectUnknown(name);
  return project;
}

/** NAME_UNKNOWN for a repository whose project does not exist, naming the project. */
export function projectUnknown(name: RepoName): Error {
  const projectName = projectOf(name);
  return fail('NAME_UNKNOWN', `project ${projectName} not found: create it first (POST /api/v2.0/projects with {"project_name":"${projectName}"})`, {
    name,
    project: projectName,
  });
}

/** The repository row, or null. */
export async function findRepository(db: Q, name: RepoName): Promise<RepositoryRow | null> {
  return (await db.selectFrom('repositories').selectAll().where('name', '=', name).executeTakeFirst()) ?? null;
}

/** Returns the repository, creating it (and recording CREATE_REPOSITORY) inside `trx` when new. */
export async function findOrCreateRepository(
  trx: Transaction<Database>,
  outbox: Outbox,
  ctx: CallContext,
  project: ProjectRow,
  name: RepoName,
): Promise<RepositoryRow> {
  return (await findRepository(trx, name)) ?? createRepository(trx, outbox, ctx, project, name, Date.now(), () => findRepository(trx, name));
}

/**
 * A push's repository inside `trx`: sets its update_time to `now` and returns it (one statement
 * that reads, writes and locks the row), or creates it with CREATE_REPOSITORY when new. The row is
 * read inside the transaction, never taken from a read before it: a repository deleted meanwhile
 * is created again, as {@link findOrCreateRepository} does.
 */
export async function touchOrCreateRepository(
  trx: Transaction<Database>,
  outbox: Outbox,
  ctx: CallContext,
  project: ProjectRow,
  name: RepoName,
  now: number,
): Promise<RepositoryRow> {
  const touch = () => registryStore.touchRepository(trx, name, now);
  return (await touch()) ?? createRepository(trx, outbox, ctx, project, name, now, touch);
}

/**
 * Creates repository `name` with its CREATE_REPOSITORY event. Two pushes may create it at once: on
 * PostgreSQL (READ COMMITTED; SQLite serializes writers) the later insert waits for the earlier
 * one's commit, inserts nothing and returns the other's row through `findOther`.
 */
async function createRepository(
  trx: Transaction<Database>,
  outbox: Outbox,
  ctx: CallContext,
  project: ProjectRow,
  name: RepoName,
  now: number,
  findOther: () => Promise<RepositoryRow | null>,
): Promise<RepositoryRow> {
  const row = await trx
    .insertInto('repositories')
    .values({ project_id: project.id, name, pull_count: 0, creation_time: now, update_time: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const other = await findOther();
    if (other) return other;
    throw new Error(`repository ${name}: created and deleted concurrently; try again`);
  }
  await outbox.append(trx, {
    type: 'CREATE_REPOSITORY',
    operator: ctx.actor.username,
    request: ctx.request,
    project: projectRef(project),
    repository: repositoryRef(row),
  });
  return row;
}

/** The event view of a project row. */
export function projectRef(p: ProjectRow): ProjectRef {
  return { id: p.id, name: p.name, public: p.public === 1 };
}

/** The event view of a repository row. */
export function repositoryRef(r: RepositoryRow): RepositoryRef {
  return { id: r.id, name: r.name, creationTime: r.creation_time };
}
