/**
 * A project's summary tab: access level, type, repositories, members by role and the storage quota
 * used, from Harbor's `GET /projects/{id}/summary`; against a server without it, the same figures
 * are computed from the project, its members and its quota.
 */
import { Box, Card, CardContent, LinearProgress, Typography } from '@mui/material';
import { ErrorAlert, Loading } from '../../components/common.tsx';
import { ApiError, get, getPage } from '../../lib/api.ts';
import { formatSize, formatTime, roleNames } from '../../lib/format.ts';
import { useApi } from '../../lib/use-api.ts';
import { accessLevel, projectType, quotaPercent } from './helpers.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { Member, Project, Quota } from './types.ts';

/** Harbor's ProjectSummary (the fields shown). */
export interface Summary {
  repo_count: number;
  project_admin_count?: number;
  maintainer_count?: number;
  developer_count?: number;
  guest_count?: number;
  limited_guest_count?: number;
  quota?: { hard?: { storage?: number }; used?: { storage?: number } };
}

async function loadSummary(p: Project, signal: AbortSignal): Promise<Summary> {
  try {
    // Harbor leaves a role without members out of its summary (omitempty): those are zeros.
    const served = await get<Summary>(`/projects/${p.project_id}/summary`, { signal });
    return { project_admin_count: 0, maintainer_count: 0, developer_count: 0, guest_count: 0, limited_guest_count: 0, ...served };
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 404 && err.status !== 405)) throw err;
  }
  const s: Summary = { repo_count: p.repo_count };
  const [members, quotas] = await Promise.allSettled([
    getPage<Member>(`/projects/${p.project_id}/members?page_size=100`, { signal }),
    get<Quota[]>(`/quotas?reference=project&reference_id=${p.project_id}`, { signal }),
  ]);
  if (members.status === 'fulfilled') {
    const by = (role: number) => members.value.items.filter((m) => m.role_id === role).length;
    Object.assign(s, { project_admin_count: by(1), developer_count: by(2), guest_count: by(3), maintainer_count: by(4), limited_guest_count: by(5) });
  }
  if (quotas.status === 'fulfilled' && quotas.value[0]) s.quota = { hard: quotas.value[0].hard, used: quotas.value[0].used };
  else s.quota = { hard: { storage: p.storage_limit ?? -1 } };
  return s;
}

function Figure({ label, value }: { label: string; value: string | number }) {
  return (
    <Box>
      <Typography variant="body2" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="h6" component="p">
        {value}
      </Typography>
    </Box>
  );
}

export function ProjectSummary({ project }: ProjectPageProps) {
  const summary = useApi((signal) => loadSummary(project, signal), [project]);
  const s = summary.data;
  const hard = s?.quota?.hard?.storage;
  const used = s?.quota?.used?.storage;
  const pct = quotaPercent(used, hard);
  return (
    <Box sx={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(260px, 1fr))', gap: 2 }}>
      <Card variant="outlined" component="section" aria-label="Project">
        <CardContent>
          <Typography variant="subtitle1" component="h2" gutterBottom>
            Project
          </Typography>
          <Box sx={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 2 }}>
            <Figure label="Access Level" value={accessLevel(project)} />
            <Figure label="Type" value={projectType(project)} />
            <Figure label="Repositories" value={s?.repo_count ?? project.repo_count} />
            <Figure label="Owner" value={project.owner_name ?? ''} />
            <Figure label="Creation Time" value={formatTime(project.creation_time)} />
          </Box>
        </CardContent>
      </Card>
      <Card variant="outlined" component="section" aria-label="Members">
        <CardContent>
          <Typography variant="subtitle1" component="h2" gutterBottom>
            Members
          </Typography>
          {summary.loading && !s ? <Loading /> : null}
          <ErrorAlert error={summary.error} />
          {s && s.project_admin_count !== undefined ? (
            <Box sx={{ display: 'grid', gridTemplateColumns: '1fr 1fr', gap: 2 }}>
              <Figure label={roleNames[1] ?? ''} value={s.project_admin_count} />
              <Figure label={roleNames[4] ?? ''} value={s.maintainer_count ?? 0} />
              <Figure label={roleNames[2] ?? ''} value={s.developer_count ?? 0} />
              <Figure label={roleNames[3] ?? ''} value={s.guest_count ?? 0} />
              <Figure label={roleNames[5] ?? ''} value={s.limited_guest_count ?? 0} />
            </Box>
          ) : s ? (
            <Typography color="text.secondary">Your role cannot see the members.</Typography>
          ) : null}
        </CardContent>
      </Card>
      <Card variant="outlined" component="section" aria-label="Project quota">
        <CardContent>
          <Typography variant="subtitle1" component="h2" gutterBottom>
            Project Quota
          </Typography>
          <Typography>
            Storage: {formatSize(used ?? 0)} of {hard === undefined || hard < 0 ? 'unlimited' : formatSize(hard)}
          </Typography>
          {pct !== null ? <LinearProgress variant="determinate" value={pct} aria-label="Storage used" sx={{ mt: 1 }} color={pct >= 90 ? 'error' : 'primary'} /> : null}
        </CardContent>
      </Card>
    </Box>
  );
}
