/**
 * The registry's hot read: what a manifest GET or HEAD needs (the project, the repository and the
 * artifact a tag or digest names) in ONE compiled statement instead of three built queries. Every
 * GET and HEAD runs it, so it reads the database as it is now: no cache to invalidate.
 *
 * Also the manifest PUT's fixed writes (issue 10): the repository touched and read in one UPDATE,
 * the manifest's blob, bytes and repository link in one statement on PostgreSQL, and the quota
 * charge's reads (limit, usage, counted digests) in one SELECT. On PostgreSQL, where every
 * statement is a round trip, the quota charge itself and a new artifact with its references and
 * tag are one statement each too.
 */
import type { ArtifactReferenceRow, ArtifactRow, ProjectRow, RepositoryRow } from './schema.ts';
import { columnAliases, query, queryNamed, run, valuesList, type Executor } from './sql.ts';
import { intListSql, isPostgres } from './dialect.ts';
import type { PriorWritesPg } from './outbox-store.ts';

/** The rows a manifest request names; null where the row does not exist (an absent project means none of them). */
export interface ManifestTarget {
  project: ProjectRow;
  repository: RepositoryRow | null;
  artifact: ArtifactRow | null;
}

const projectRepositoryColumns = `p.id AS p_id, p.name AS p_name, p.public AS p_public, p.owner_id AS p_owner_id,
  p.storage_limit AS p_storage_limit, p.metadata AS p_metadata, p.creation_time AS p_creation_time, p.update_time AS p_update_time, p.registry_id AS p_registry_id,
  r.id AS r_id, r.project_id AS r_project_id, r.name AS r_name, r.pull_count AS r_pull_count,
  r.creation_time AS r_creation_time, r.update_time AS r_update_time`;

const columns = `${projectRepositoryColumns},
  a.id AS a_id, a.repository_id AS a_repository_id, a.digest AS a_digest, a.media_type AS a_media_type,
  a.artifact_type AS a_artifact_type, a.config_media_type AS a_config_media_type, a.size AS a_size,
  a.manifest_size AS a_manifest_size, a.subject_digest AS a_subject_digest, a.annotations AS a_annotations,
  a.push_time AS a_push_time, a.pull_time AS a_pull_time`;

/**
 * PostgreSQL: many lookups of {@link byTag}'s or {@link byDigest}'s shape in one statement. The
 * keys come as four arrays (`unnest`), so the text is the same whatever their number: one
 * prepared statement. `q_n` says which key a row answers; a key whose project does not exist has none.
 */
const manyKeys = `FROM unnest(?::integer[], ?::text[], ?::text[], ?::text[]) AS q(n, project, repo, ref)
JOIN projects AS p ON p.name = q.project
LEFT JOIN repositories AS r ON r.name = q.repo`;
const byTagMany = `SELECT q.n AS q_n, ${columns}
${manyKeys}
LEFT JOIN tags AS t ON t.repository_id = r.id AND t.name = q.ref
LEFT JOIN artifacts AS a ON a.id = t.artifact_id`;
const byDigestMany = `SELECT q.n AS q_n, ${columns}
${manyKeys}
LEFT JOIN artifacts AS a ON a.repository_id = r.id AND a.digest = q.ref`;

/** The names of {@link columns}' and {@link projectRepositoryColumns}' values, in order. */
const columnNames = columnAliases(columns);
const projectRepositoryNames = columnAliases(projectRepositoryColumns);

/** One manifest lookup: what {@link registryStore.manifestTarget} takes. */
export interface ManifestKey {
  projectName: string;
  repoName: string;
  /** A tag, or a digest when `byDigest`. */
  reference: string;
  byDigest: boolean;
}

/** The project and the repository alone (a manifest PUT's read before its transaction). */
const projectAndRepository = `SELECT ${projectRepositoryColumns}
FROM projects AS p
LEFT JOIN repositories AS r ON r.name = ?
WHERE p.name = ?`;

/** By tag: the tag's artifact. */
const byTag = `SELECT ${columns}
FROM projects AS p
LEFT JOIN repositories AS r ON r.name = ?
LEFT JOIN tags AS t ON t.repository_id = r.id AND t.name = ?
LEFT JOIN artifacts AS a ON a.id = t.artifact_id
WHERE p.name = ?`;

/** By digest: the repository's artifact with that digest. */
const byDigest = `SELECT ${columns}
FROM projects AS p
LEFT JOIN repositories AS r ON r.name = ?
LEFT JOIN artifacts AS a ON a.repository_id = r.id AND a.digest = ?
WHERE p.name = ?`;

interface TargetRow {
  p_id: number;
  p_name: string;
  p_public: number;
  p_owner_id: number | null;
  p_storage_limit: number;
  p_metadata: string;
  p_creation_time: number;
  p_update_time: number;
  p_registry_id: number | null;
  r_id: number | null;
  r_project_id: number;
  r_name: string;
  r_pull_count: number;
  r_creation_time: number;
  r_update_time: number;
  /** Absent from {@link projectAndRepository}'s rows. */
  a_id?: number | null;
  a_repository_id: number;
  a_digest: string;
  a_media_type: string;
  a_artifact_type: string | null;
  a_config_media_type: string | null;
  a_size: number;
  a_manifest_size: number;
  a_subject_digest: string | null;
  a_annotations: string | null;
  a_push_time: number;
  a_pull_time: number | null;
}

/** A manifest's blob row, its bytes and its link to a repository (see {@link registryStore.storeManifest}). */
export interface ManifestRows {
  digest: string;
  content: Buffer;
  repositoryId: number;
  now: number;
}

/** What a quota charge reads before counting (see {@link registryStore.quotaState}). */
export interface QuotaState {
  /** The project's storage_limit (-1 unlimited; -1 when the project is gone). */
  limit: number;
  /** quota_usage.used (0 without a row). */
  used: number;
  /** Which of the asked digests the project already counts. */
  counted: Set<string>;
}

const insertBlob = 'INSERT INTO blobs (digest, size, creation_time) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING';
const insertManifestContent = 'INSERT INTO manifest_content (digest, content) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING';
const insertRepositoryBlob = 'INSERT INTO repository_blobs (repository_id, digest, creation_time) VALUES (?, ?, ?) ON CONFLICT (repository_id, digest) DO NOTHING';

/**
 * PostgreSQL: the three inserts as data-modifying CTEs of one statement. The foreign keys of
 * manifest_content and repository_blobs on blobs are checked at the end of the statement, when
 * the blob row of the first CTE is there; a conflict in any of them skips only that row.
 */
const insertManifestRowsPg = `WITH b AS (${insertBlob}), m AS (${insertManifestContent})
${insertRepositoryBlob}`;

/** Most digests {@link registryStore.chargeQuotaPg} takes (two parameters each). */
export const chargeRowsPg = 100;

/** A new artifact's row as {@link registryStore.insertArtifactPg} writes it. */
export type NewArtifactRow = Omit<ArtifactRow, 'id'>;
/** One of its references (artifact_references without the ids). */
export type NewArtifactReference = Omit<ArtifactReferenceRow, 'id' | 'artifact_id'>;

/** Most references {@link registryStore.insertArtifactPg} takes in its one statement. */
export const artifactRefsPg = 100;

/** The writes of a batch of pulls (see {@link registryStore.pullWritesPg}), each list in key order. */
export interface PullWrites {
  /** [repository id, pulls to add to its pull_count], by id. */
  repositories: ReadonlyArray<readonly [number, number]>;
  /** [artifact id, its newest pull time], by id. */
  artifacts: ReadonlyArray<readonly [number, number]>;
  /** The tags pulled by name, with their newest pull time, by repository id and name. */
  tags: ReadonlyArray<{ repositoryId: number; tag: string; now: number }>;
}

export const registryStore = {
  /**
   * PostgreSQL: a batch of pulls' writes (pull counts, then the artifacts' and the tags' pull
   * times) as the CTEs of one statement that the outbox's INSERT completes
   * (outboxStore.insertEventsAfterPg). Each waits for the one before it (`(SELECT count(*) FROM
   * …)`, evaluated once before it runs), and each takes its rows in the lists' key order, so the
   * row locks come in the order a push takes them: repositories, artifacts, tags.
   */
  pullWritesPg(w: PullWrites): PriorWritesPg {
    const { repositories: repos, artifacts: arts, tags } = w;
    return {
      ctes: `pr AS (UPDATE repositories AS r SET pull_count = r.pull_count + v.n
  FROM unnest(?::integer[], ?::bigint[]) AS v(id, n) WHERE r.id = v.id RETURNING r.id),
pa AS (UPDATE artifacts AS a SET pull_time = v.t
  FROM unnest(?::integer[], ?::bigint[]) AS v(id, t) WHERE a.id = v.id AND (SELECT count(*) FROM pr) >= 0 RETURNING a.id),
pt AS (UPDATE tags AS t SET pull_time = v.t
  FROM unnest(?::integer[], ?::text[], ?::bigint[]) AS v(rid, name, t) WHERE t.repository_id = v.rid AND t.name = v.name AND (SELECT count(*) FROM pa) >= 0 RETURNING t.id)`,
      params: [repos.map((r) => r[0]), repos.map((r) => r[1]), arts.map((a) => a[0]), arts.map((a) => a[1]), tags.map((t) => t.repositoryId), tags.map((t) => t.tag), tags.map((t) => t.now)],
      last: 'pt',
    };
  },

  /** The names of the tags of each of these artifacts, sorted: artifact id → names (absent: none). */
  async tagNames(db: Executor, artifactIds: readonly number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (artifactIds.length === 0) return out;
    const rows = await query<{ artifact_id: number; name: string }>(db, `SELECT artifact_id, name FROM tags WHERE artifact_id IN (${intListSql(db)}) ORDER BY artifact_id, name`, [JSON.stringify(artifactIds)]);
    for (const r of rows) {
      const list = out.get(r.artifact_id);
      if (list) list.push(r.name);
      else out.set(r.artifact_id, [r.name]);
    }
    return out;
  },

  /**
   * Sets the repository's update_time and returns its row (one UPDATE … RETURNING: the read and
   * the write of a push, and the row lock, at once); null when no repository has that name.
   */
  async touchRepository(db: Executor, name: string, now: number): Promise<RepositoryRow | null> {
    const rows = await query<RepositoryRow>(db, 'UPDATE repositories SET update_time = ? WHERE name = ? RETURNING id, project_id, name, pull_count, creation_time, update_time', [now, name]);
    return rows[0] ?? null;
  },

  /**
   * Inside a push's transaction: the manifest's blob row, its bytes (`manifest_content`) and its
   * link to the repository, each skipped when already there; one statement on PostgreSQL, three
   * on SQLite (where a statement is a function call, not a round trip).
   */
  async storeManifest(db: Executor, m: ManifestRows): Promise<void> {
    if (isPostgres(db)) {
      await run(db, insertManifestRowsPg, [m.digest, m.content.length, m.now, m.digest, m.content, m.repositoryId, m.digest, m.now]);
      return;
    }
    await run(db, insertBlob, [m.digest, m.content.length, m.now]);
    await run(db, insertManifestContent, [m.digest, m.content]);
    await run(db, insertRepositoryBlob, [m.repositoryId, m.digest, m.now]);
  },

  /**
   * The project's storage limit, its usage and which of `digests` (at most 500) it already counts,
   * in one statement of one snapshot; the limit is -1 when the project does not exist.
   */
  async quotaState(db: Executor, projectId: number, digests: readonly string[]): Promise<QuotaState> {
    const list = digests.length > 0 ? digests.map(() => '?').join(', ') : 'NULL';
    const rows = await query<{ lim: number | string; used: number | string | null; digest: string | null }>(
      db,
      `SELECT p.storage_limit AS lim, q.used AS used, pb.digest AS digest
FROM projects AS p
LEFT JOIN quota_usage AS q ON q.project_id = p.id
LEFT JOIN project_blobs AS pb ON pb.project_id = p.id AND pb.digest IN (${list})
WHERE p.id = ?`,
      [...digests, projectId],
    );
    const first = rows[0];
    const counted = new Set<string>();
    for (const r of rows) if (r.digest !== null) counted.add(r.digest);
    return { limit: first ? Number(first.lim) : -1, used: first?.used == null ? 0 : Number(first.used), counted };
  },

  /**
   * PostgreSQL: a push's new artifact, its references (at most {@link artifactRefsPg}) and, with
   * `tag`, the tag pointing at it, in ONE statement (data-modifying CTEs; three on SQLite, where a
   * statement is a function call). Nothing is written when the repository already has an artifact
   * of that digest: `artifact` is then null. `tagCreated` is false when the tag existed (it is
   * left as it was, for the caller to move or refuse).
   */
  async insertArtifactPg(db: Executor, a: NewArtifactRow, refs: readonly NewArtifactReference[], tag: string | null): Promise<{ artifact: ArtifactRow | null; tagCreated: boolean }> {
    const params: unknown[] = [a.repository_id, a.digest, a.media_type, a.artifact_type, a.config_media_type, a.size, a.manifest_size, a.subject_digest, a.annotations, a.push_time, a.pull_time];
    for (const r of refs) params.push(r.kind, r.child_digest, r.size, r.media_type, r.platform, r.annotations);
    const refsCte =
      refs.length === 0
        ? ''
        : `, r AS (INSERT INTO artifact_references (artifact_id, kind, child_digest, size, media_type, platform, annotations)
  SELECT a.id, v.kind, v.child_digest, v.size, v.media_type, v.platform, v.annotations
  FROM a, (VALUES ${valuesList(db, refs.length, ['text', 'text', 'bigint', 'text', 'text', 'text'])}) AS v(kind, child_digest, size, media_type, platform, annotations))`;
    let tagCte = '';
    if (tag !== null) {
      params.push(tag);
      tagCte = `, t AS (INSERT INTO tags (repository_id, artifact_id, name, push_time, pull_time) SELECT a.repository_id, a.id, ?::text, a.push_time, NULL FROM a
  ON CONFLICT (repository_id, name) DO NOTHING RETURNING id)`;
    }
    const rows = await query<ArtifactRow & { tag_created: boolean | number }>(
      db,
      `WITH a AS (INSERT INTO artifacts (repository_id, digest, media_type, artifact_type, config_media_type, size, manifest_size, subject_digest, annotations, push_time, pull_time)
  VALUES (?::integer, ?::text, ?::text, ?::text, ?::text, ?::bigint, ?::bigint, ?::text, ?::text, ?::bigint, ?::bigint)
  ON CONFLICT (repository_id, digest) DO NOTHING RETURNING *)${refsCte}${tagCte}
SELECT a.*, ${tag === null ? 'false' : 'EXISTS (SELECT 1 FROM t)'} AS tag_created FROM a`,
      params,
    );
    const row = rows[0];
    if (!row) return { artifact: null, tagCreated: false };
    const { tag_created, ...artifact } = row;
    return { artifact, tagCreated: tag_created === true || tag_created === 1 };
  },

  /**
   * PostgreSQL: counts `items` (distinct digests, at most {@link chargeRowsPg}) against project
   * `projectId` in ONE statement: the rows the project does not count yet go into project_blobs,
   * their total onto its usage (the quota_usage row stays locked until the transaction ends), and
   * the limit is read in the same statement. Returns the limit (-1: unlimited or no project), the
   * bytes added and the usage after them (when nothing was added, `after` is null). The caller
   * compares, and throws to roll back a charge over the limit.
   */
  async chargeQuotaPg(db: Executor, projectId: number, items: ReadonlyArray<{ digest: string; size: number }>, now: number): Promise<{ limit: number; added: number; after: number | null }> {
    const params: unknown[] = [projectId, now];
    for (const i of items) params.push(i.digest, i.size);
    params.push(projectId, now, projectId);
    const rows = await query<{ lim: number | string | null; added: number | string; after: number | string | null }>(
      db,
      `WITH ins AS (
  INSERT INTO project_blobs (project_id, digest, size, creation_time)
  SELECT ?::integer, v.digest, v.size, ?::bigint FROM (VALUES ${valuesList(db, items.length, ['text', 'bigint'])}) AS v(digest, size)
  ON CONFLICT (project_id, digest) DO NOTHING RETURNING size),
up AS (
  INSERT INTO quota_usage (project_id, used, update_time)
  SELECT ?::integer, sum(size), ?::bigint FROM ins HAVING count(*) > 0
  ON CONFLICT (project_id) DO UPDATE SET used = quota_usage.used + excluded.used, update_time = excluded.update_time
  RETURNING used)
SELECT (SELECT storage_limit FROM projects WHERE id = ?) AS lim, (SELECT coalesce(sum(size), 0) FROM ins) AS added, (SELECT used FROM up) AS after`,
      params,
    );
    const r = rows[0];
    return { limit: r?.lim == null ? -1 : Number(r.lim), added: Number(r?.added ?? 0), after: r?.after == null ? null : Number(r.after) };
  },

  /**
   * Project `projectName`, repository `repoName` and the artifact `reference` names in it (a tag,
   * or a digest when `byDigestRef`); null when the project does not exist.
   */
  async manifestTarget(db: Executor, projectName: string, repoName: string, reference: string, byDigestRef: boolean): Promise<ManifestTarget | null> {
    const rows = await queryNamed<TargetRow>(db, byDigestRef ? byDigest : byTag, [repoName, reference, projectName], columnNames);
    return targetOf(rows[0]);
  },

  /**
   * PostgreSQL: {@link manifestTarget} for many keys in one statement (one round trip), in the
   * keys' order. Every key must have the same `byDigest`.
   */
  async manifestTargetsPg(db: Executor, keys: readonly ManifestKey[]): Promise<Array<ManifestTarget | null>> {
    const out: Array<ManifestTarget | null> = keys.map(() => null);
    if (keys.length === 0) return out;
    const byDigestRef = keys[0]?.byDigest === true;
    const rows = await query<TargetRow & { q_n: number }>(db, byDigestRef ? byDigestMany : byTagMany, [
      keys.map((_, i) => i),
      keys.map((k) => k.projectName),
      keys.map((k) => k.repoName),
      keys.map((k) => k.reference),
    ]);
    for (const r of rows) out[Number(r.q_n)] = targetOf(r);
    return out;
  },

  /**
   * Project `projectName` and its repository `repoName` (null when it does not exist yet) in one
   * statement; null when the project does not exist.
   */
  async projectAndRepository(db: Executor, projectName: string, repoName: string): Promise<{ project: ProjectRow; repository: RepositoryRow | null } | null> {
    const rows = await queryNamed<TargetRow>(db, projectAndRepository, [repoName, projectName], projectRepositoryNames);
    return targetOf(rows[0]);
  },
};

/** The rows of one result row of the statements above (no `a_*` columns: no artifact). */
function targetOf(x: TargetRow | undefined): ManifestTarget | null {
  if (!x) return null;
  const project: ProjectRow = {
    id: x.p_id,
    name: x.p_name,
    public: x.p_public,
    owner_id: x.p_owner_id,
    storage_limit: x.p_storage_limit,
    metadata: x.p_metadata,
    creation_time: x.p_creation_time,
    update_time: x.p_update_time,
    registry_id: x.p_registry_id === null ? null : Number(x.p_registry_id),
  };
  const repository: RepositoryRow | null =
    x.r_id === null
      ? null
      : { id: x.r_id, project_id: x.r_project_id, name: x.r_name, pull_count: x.r_pull_count, creation_time: x.r_creation_time, update_time: x.r_update_time };
  const artifact: ArtifactRow | null =
    x.a_id == null || repository === null
      ? null
      : {
          id: x.a_id,
          repository_id: x.a_repository_id,
          digest: x.a_digest,
          media_type: x.a_media_type,
          artifact_type: x.a_artifact_type,
          config_media_type: x.a_config_media_type,
          size: x.a_size,
          manifest_size: x.a_manifest_size,
          subject_digest: x.a_subject_digest,
          annotations: x.a_annotations,
          push_time: x.a_push_time,
          pull_time: x.a_pull_time,
        };
  return { project, repository, artifact };
}
