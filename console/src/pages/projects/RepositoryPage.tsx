/**
 * /projects/:id/repositories/:repo/...: the repository's header (name, description) and either its
 * artifacts (`artifacts-tab`) or one artifact (`artifacts-tab/artifacts/:digest`). The repository
 * name may hold slashes (encoded as %2F, or not).
 */
import { Link as RouterLink, useParams } from 'react-router';
import { Box, Breadcrumbs, Link, Typography } from '@mui/material';
import { ErrorAlert } from '../../components/common.tsx';
import { get, repoPath } from '../../lib/api.ts';
import { useApi } from '../../lib/use-api.ts';
import { ArtifactsList } from './Artifacts.tsx';
import { ArtifactDetail } from './ArtifactDetail.tsx';
import { shortDigest } from '../../lib/format.ts';
import { parseRepoPath, repoSegment } from './helpers.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { Repository } from './types.ts';

export interface RepoPageProps extends ProjectPageProps {
  /** The repository's name inside the project (`a/b`). */
  repo: string;
}

export function RepositoryPage(props: ProjectPageProps) {
  const params = useParams();
  const { repo, digest } = parseRepoPath(params['*'] ?? '');
  const { project } = props;
  const repository = useApi((signal) => get<Repository>(`/projects/${encodeURIComponent(project.name)}/repositories/${repoPath(repo)}`, { signal }), [project.name, repo]);
  const artifactsUrl = `/projects/${project.project_id}/repositories/${repoSegment(repo)}/artifacts-tab`;
  return (
    <>
      <Breadcrumbs sx={{ mb: 1 }} aria-label="Repository">
        <Link component={RouterLink} to={`/projects/${project.project_id}/repositories`}>
          Repositories
        </Link>
        {digest ? (
          <Link component={RouterLink} to={artifactsUrl}>
            {repo}
          </Link>
        ) : (
          <Typography color="text.primary">{repo}</Typography>
        )}
        {digest ? <Typography color="text.primary">{shortDigest(digest)}</Typography> : null}
      </Breadcrumbs>
      <Box sx={{ mb: 2 }}>
        <Typography variant="h6" component="h2">
          {project.name}/{repo}
        </Typography>
        {repository.data?.description ? <Typography color="text.secondary">{repository.data.description}</Typography> : null}
        <ErrorAlert error={repository.error} />
      </Box>
      {digest ? <ArtifactDetail {...props} repo={repo} digest={digest} /> : <ArtifactsList {...props} repo={repo} />}
    </>
  );
}
