/**
 * The registry's hot read: what a manifest GET or HEAD needs (the project, the repository and the
 * artifact a tag or digest names) in ONE compiled statement instead of three built queries. Every
 * GET and HEAD runs it, so it reads the database as it is now: no cache to invalidate.
 */
import type { ArtifactRow, ProjectRow, RepositoryRow } from './schema.ts';
import { query, type Executor } from './sql.ts';

/** The rows a manifest request names; null where the row does not exist (an absent project means none of them). */
export interface ManifestTarget {
  project: ProjectRow;
  repository: RepositoryRow | null;
  artifact: ArtifactRow | null;
}

const columns = `p.id AS p_id, p.name AS p_name, p.public AS p_public, p.owner_id AS p_owner_id,
  p.storage_limit AS p_storage_limit, p.metadata AS p_metadata, p.creation_time AS p_creation_time, p.update_time AS p_update_time,
  r.id AS r_id, r.project_id AS r_project_id, r.name AS r_name, r.pull_count AS r_pull_count,
  r.creation_time AS r_creation_time, r.update_time AS r_update_time,
  a.id AS a_id, a.repository_id AS a_repository_id, a.digest AS a_digest, a.media_type AS a_media_type,
  a.artifact_type AS a_artifact_type, a.config_media_type AS a_config_media_type, a.size AS a_size,
  a.manifest_size AS a_manifest_size, a.subject_digest AS a_subject_digest, a.annotations AS a_annotations,
  a.push_time AS a_push_time, a.pull_time AS a_pull_time`;

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
  r_id: number | null;
  r_project_id: number;
  r_name: string;
  r_pull_count: number;
  r_creation_time: number;
  r_update_time: number;
  a_id: number | null;
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

export const registryStore = {
  /**
   * Project `projectName`, repository `repoName` and the artifact `reference` names in it (a tag,
   * or a digest when `byDigestRef`); null when the project does not exist.
   */
  async manifestTarget(db: Executor, projectName: string, repoName: string, reference: string, byDigestRef: boolean): Promise<ManifestTarget | null> {
    const rows = await query<TargetRow>(db, byDigestRef ? byDigest : byTag, [repoName, reference, projectName]);
    const x = rows[0];
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
    };
    const repository: RepositoryRow | null =
      x.r_id === null
        ? null
        : { id: x.r_id, project_id: x.r_project_id, name: x.r_name, pull_count: x.r_pull_count, creation_time: x.r_creation_time, update_time: x.r_update_time };
    const artifact: ArtifactRow | null =
      x.a_id === null || repository === null
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
  },
};
