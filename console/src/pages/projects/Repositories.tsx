/**
 * A project's repositories tab: the repositories, paged on the server and searched by name
 * (`q=name=~x`), with their artifact and pull counts; a link to each one's artifacts and delete
 * (all its artifacts and tags) with a confirmation.
 */
import { useState } from 'react';
import { Link as RouterLink } from 'react-router';
import { Box, Button, Link, TextField } from '@mui/material';
import { ConfirmDialog, PagedTable, type Column } from '../../components/common.tsx';
import { repoPath, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { containsTerm, repoSegment, repoShortName } from './helpers.ts';
import { useDebounced } from './hooks.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { Repository } from './types.ts';

export function RepositoriesTab({ project, reloadProject }: ProjectPageProps) {
  const [search, setSearch] = useState('');
  const [deleting, setDeleting] = useState<Repository | null>(null);
  const q = useDebounced(containsTerm('name', search));
  const list = usePaged<Repository>(`/projects/${encodeURIComponent(project.name)}/repositories`, { q });
  const short = (r: Repository) => repoShortName(r.name, project.name);
  const columns: Column<Repository>[] = [
    {
      label: 'Name',
      render: (r) => (
        <Link component={RouterLink} to={`/projects/${project.project_id}/repositories/${repoSegment(short(r))}/artifacts-tab`}>
          {r.name}
        </Link>
      ),
    },
    { label: 'Artifacts', render: (r) => r.artifact_count },
    { label: 'Pulls', render: (r) => r.pull_count },
    { label: 'Last Modified Time', render: (r) => formatTime(r.update_time) },
    {
      label: 'Actions',
      render: (r) => (
        <Button size="small" color="error" onClick={() => setDeleting(r)} aria-label={`Delete ${r.name}`}>
          Delete
        </Button>
      ),
    },
  ];
  return (
    <>
      <Box sx={{ mb: 2 }}>
        <TextField label="Search repositories" size="small" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </Box>
      <PagedTable list={list} columns={columns} rowKey={(r) => r.id} label="Repositories" empty="No repositories: push an image to this project." />
      <ConfirmDialog
        key={deleting?.id ?? 0}
        open={deleting !== null}
        title="Delete repository"
        text={`Delete the repository ${deleting?.name ?? ''} with all its artifacts and tags?`}
        onConfirm={async () => {
          if (deleting) await write('DELETE', `/projects/${encodeURIComponent(project.name)}/repositories/${repoPath(short(deleting))}`);
          list.reload();
          reloadProject();
        }}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}
