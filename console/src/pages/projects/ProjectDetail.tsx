/**
 * A project's frame (/projects/:id/*): its name, access level and Harbor's tabs as links to
 * Harbor's URLs, and the tab pages below. The webhook, robot account and tag strategy tabs belong
 * to ../project-extras (they route their own sub-pages); repositories and artifacts are
 * /projects/:id/repositories[/:repo/artifacts-tab[/artifacts/:digest]].
 */
import { Suspense, lazy } from 'react';
import { Link as RouterLink, Navigate, Route, Routes, useLocation, useParams } from 'react-router';
import { Box, Breadcrumbs, Chip, Link, Tab, Tabs, Typography } from '@mui/material';
import { ErrorAlert, Loading } from '../../components/common.tsx';
import { get } from '../../lib/api.ts';
import { useApi } from '../../lib/use-api.ts';
import { ProjectRobots, ProjectWebhooks, TagStrategy } from '../project-extras/index.tsx';
import { accessLevel, projectType } from './helpers.ts';
import type { Project } from './types.ts';
import { ProjectSummary } from './ProjectSummary.tsx';
import { RepositoriesTab } from './Repositories.tsx';

const Members = lazy(() => import('./Members.tsx').then((m) => ({ default: m.MembersTab })));
const Labels = lazy(() => import('./ProjectLabels.tsx').then((m) => ({ default: m.ProjectLabelsTab })));
const ScannerTab = lazy(() => import('./ProjectScanner.tsx').then((m) => ({ default: m.ProjectScannerTab })));
const Logs = lazy(() => import('./ProjectLogs.tsx').then((m) => ({ default: m.ProjectLogsTab })));
const Config = lazy(() => import('./ProjectConfig.tsx').then((m) => ({ default: m.ProjectConfigTab })));
const RepositoryPage = lazy(() => import('./RepositoryPage.tsx').then((m) => ({ default: m.RepositoryPage })));

/** Harbor's project tabs: label and URL segment. */
export const projectTabs: Array<{ label: string; path: string }> = [
  { label: 'Summary', path: 'summary' },
  { label: 'Repositories', path: 'repositories' },
  { label: 'Members', path: 'members' },
  { label: 'Labels', path: 'labels' },
  { label: 'Scanner', path: 'scanner' },
  { label: 'Policy', path: 'tag-strategy' },
  { label: 'Robot Accounts', path: 'robot-account' },
  { label: 'Webhooks', path: 'webhook' },
  { label: 'Logs', path: 'logs' },
  { label: 'Configuration', path: 'configs' },
];

/** Props of every tab page of a project. */
export interface ProjectPageProps {
  project: Project;
  reloadProject: () => void;
}

export function ProjectDetail() {
  const { id = '' } = useParams();
  const location = useLocation();
  const project = useApi<Project>((signal) => get<Project>(`/projects/${encodeURIComponent(id)}`, { signal }), [id]);
  const base = `/projects/${id}`;
  const rest = location.pathname.startsWith(base + '/') ? location.pathname.slice(base.length + 1) : '';
  const segment = rest.split('/')[0] ?? '';
  const current = projectTabs.some((t) => t.path === segment) ? segment : false;
  const p = project.data;
  if (project.loading && !p) return <Loading label="Loading the project" />;
  if (!p)
    return (
      <>
        <Breadcrumbs sx={{ mb: 2 }}>
          <Link component={RouterLink} to="/projects">
            Projects
          </Link>
        </Breadcrumbs>
        <ErrorAlert error={project.error ?? 'The project could not be loaded.'} />
      </>
    );
  const props: ProjectPageProps = { project: p, reloadProject: project.reload };
  return (
    <>
      <Breadcrumbs sx={{ mb: 1 }}>
        <Link component={RouterLink} to="/projects">
          Projects
        </Link>
        <Typography color="text.primary">{p.name}</Typography>
      </Breadcrumbs>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, mb: 1 }}>
        <Typography variant="h5" component="h1">
          {p.name}
        </Typography>
        <Chip size="small" label={accessLevel(p)} />
        {projectType(p) === 'Proxy Cache' ? <Chip size="small" color="info" label="Proxy Cache" /> : null}
      </Box>
      <ErrorAlert error={project.error} />
      <Box component="nav" aria-label="Project" sx={{ borderBottom: 1, borderColor: 'divider', mb: 2 }}>
        <Tabs value={current} variant="scrollable" scrollButtons="auto" aria-label="Project tabs">
          {projectTabs.map((t) => (
            <Tab key={t.path} value={t.path} label={t.label} component={RouterLink} to={`${base}/${t.path}`} />
          ))}
        </Tabs>
      </Box>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route index element={<Navigate to="repositories" replace />} />
          <Route path="summary" element={<ProjectSummary {...props} />} />
          <Route path="repositories" element={<RepositoriesTab {...props} />} />
          <Route path="repositories/*" element={<RepositoryPage {...props} />} />
          <Route path="members" element={<Members {...props} />} />
          <Route path="labels" element={<Labels {...props} />} />
          <Route path="scanner" element={<ScannerTab {...props} />} />
          <Route path="tag-strategy/*" element={<TagStrategy projectId={p.project_id} projectName={p.name} />} />
          <Route path="robot-account/*" element={<ProjectRobots projectId={p.project_id} projectName={p.name} />} />
          <Route path="webhook/*" element={<ProjectWebhooks projectId={p.project_id} projectName={p.name} />} />
          <Route path="logs" element={<Logs {...props} />} />
          <Route path="configs" element={<Config {...props} />} />
          <Route path="*" element={<Navigate to="repositories" replace />} />
        </Routes>
      </Suspense>
    </>
  );
}
