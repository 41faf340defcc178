/**
 * A repository's artifacts (`/projects/:id/repositories/:repo/artifacts-tab`): one server page at a
 * time (a repository of 10,000 artifacts loads only the page shown), searched by tag
 * (`q=tags=~x`), with tags, digest, type, size, platforms (an index's children), labels, push and
 * pull times and the scan status with counts by severity (`with_scan_overview=true`). Per row:
 * "Scan" (`POST …/scan`), the pull command, delete. While a scan runs the page reloads itself.
 */
import { useEffect, useState } from 'react';
import { Link as RouterLink } from 'react-router';
import { Box, Button, Chip, Link, TextField, Typography } from '@mui/material';
import { ConfirmDialog, ErrorAlert, PagedTable, type Column } from '../../components/common.tsx';
import { get, repoPath, write } from '../../lib/api.ts';
import { formatSize, formatTime, pullCommand, shortDigest } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { artifactPlatforms, containsTerm, isIndex, repoSegment, scanInProgress, shortTime } from './helpers.ts';
import { useDebounced } from './hooks.ts';
import { CopyPullCommand } from './PullCommand.tsx';
import type { RepoPageProps } from './RepositoryPage.tsx';
import { ScanStatus } from './ScanStatus.tsx';
import type { Artifact } from './types.ts';

/** The registry's host for pull commands: `registry_url` of /systeminfo, else the page's host. */
export function useRegistryHost(): string {
  const info = useApi((signal) => get<{ registry_url?: string }>('/systeminfo', { signal }), []);
  return info.data?.registry_url || window.location.host;
}

export function LabelChips({ labels }: { labels: Artifact['labels'] }) {
  if (!labels || labels.length === 0) return null;
  return (
    <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
      {labels.map((l) => (
        <Chip key={l.id} size="small" label={l.name} title={l.description} sx={l.color ? { borderColor: l.color, borderWidth: 2, borderStyle: 'solid' } : undefined} variant="outlined" />
      ))}
    </Box>
  );
}

export function ArtifactsList({ project, repo, reloadProject }: RepoPageProps) {
  const [search, setSearch] = useState('');
  const [deleting, setDeleting] = useState<Artifact | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [scanning, setScanning] = useState<Set<string>>(new Set());
  const q = useDebounced(containsTerm('tags', search));
  const apiBase = `/projects/${encodeURIComponent(project.name)}/repositories/${repoPath(repo)}`;
  const list = usePaged<Artifact>(`${apiBase}/artifacts`, { with_tag: 'true', with_label: 'true', with_scan_overview: 'true', with_sbom_overview: 'true', q });
  const host = useRegistryHost();
  const items = list.data?.items ?? [];
  const busy = items.some(scanInProgress);
  const reload = list.reload;
  useEffect(() => {
    if (!busy || list.loading) return;
    const t = setTimeout(reload, 2000);
    return () => clearTimeout(t);
  }, [busy, list.loading, reload]);
  const detailUrl = (a: Artifact) => `/projects/${project.project_id}/repositories/${repoSegment(repo)}/artifacts-tab/artifacts/${a.digest}`;
  const name = (a: Artifact) => a.tags?.[0]?.name ?? shortDigest(a.digest);
  const scan = async (a: Artifact) => {
    setActionError(null);
    setScanning((s) => new Set(s).add(a.digest));
    try {
      await write('POST', `${apiBase}/artifacts/${a.digest}/scan`, { scan_type: 'vulnerability' });
      reload();
    } catch (err) {
      setActionError(`Scan of ${name(a)}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setScanning((s) => {
        const n = new Set(s);
        n.delete(a.digest);
        return n;
      });
    }
  };
  const columns: Column<Artifact>[] = [
    {
      label: 'Artifacts',
      render: (a) => (
        <Link component={RouterLink} to={detailUrl(a)} sx={{ fontFamily: 'monospace', whiteSpace: 'nowrap' }}>
          {shortDigest(a.digest)}
        </Link>
      ),
    },
    {
      label: 'Tags',
      render: (a) =>
        a.tags && a.tags.length > 0 ? (
          <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
            {a.tags.map((t) => (
              <Chip key={t.id} size="small" label={t.name} />
            ))}
          </Box>
        ) : (
          <Typography variant="body2" color="text.secondary">
            untagged
          </Typography>
        ),
    },
    { label: 'Type', render: (a) => (isIndex(a) ? `${a.type} (index)` : a.type) },
    {
      label: 'Platform',
      render: (a) => {
        const p = artifactPlatforms(a);
        return (
          <Box>
            {p.map((x) => (
              <Typography key={x} variant="body2">
                {x}
              </Typography>
            ))}
          </Box>
        );
      },
    },
    { label: 'Size', render: (a) => formatSize(a.size) },
    { label: 'Vulnerabilities', render: (a) => <ScanStatus artifact={a} /> },
    ...(items.some((a) => (a.labels ?? []).length > 0) ? [{ label: 'Labels', render: (a: Artifact) => <LabelChips labels={a.labels} /> }] : []),
    { label: 'Push Time', render: (a) => <span title={formatTime(a.push_time)}>{shortTime(a.push_time)}</span> },
    { label: 'Pull Time', render: (a) => <span title={formatTime(a.pull_time)}>{shortTime(a.pull_time)}</span> },
    {
      label: 'Actions',
      render: (a) => (
        <Box sx={{ display: 'flex', flexDirection: 'column', alignItems: 'flex-start', gap: 0.25 }}>
          <Button size="small" variant="outlined" sx={{ minWidth: 0 }} onClick={() => void scan(a)} disabled={scanning.has(a.digest)}>
            Scan
          </Button>
          <CopyPullCommand text="Copy" command={pullCommand(host, `${project.name}/${repo}`, a.tags?.[0]?.name ?? null, a.digest)} />
          <Button size="small" color="error" sx={{ minWidth: 0 }} onClick={() => setDeleting(a)}>
            Delete
          </Button>
        </Box>
      ),
    },
  ];
  return (
    <>
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'center', mb: 2 }}>
        <TextField label="Search tags" size="small" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        <Box sx={{ flexGrow: 1 }} />
        <Button onClick={reload}>Refresh</Button>
      </Box>
      <ErrorAlert error={actionError} />
      <PagedTable list={list} columns={columns} rowKey={(a) => a.id} label="Artifacts" empty="No artifacts in this repository." />
      <ConfirmDialog
        key={deleting?.id ?? 0}
        open={deleting !== null}
        title="Delete artifact"
        text={
          <>
            Delete the artifact <code>{deleting?.digest}</code>
            {deleting?.tags && deleting.tags.length > 0 ? ` and its tags ${deleting.tags.map((t) => t.name).join(', ')}` : ''}?
          </>
        }
        onConfirm={async () => {
          if (deleting) await write('DELETE', `${apiBase}/artifacts/${deleting.digest}`);
          reload();
          reloadProject();
        }}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}
