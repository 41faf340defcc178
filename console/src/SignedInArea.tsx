/**
 * Everything a signed-in user sees: the frame (Layout) and the routes of the projects and
 * administration areas. App.tsx loads this module lazily, once the session check found a user, so
 * the sign-in page's JavaScript carries none of it.
 */
import { Navigate, Route, Routes } from 'react-router';
import { Layout } from './components/Layout.tsx';
import { ProjectsArea } from './pages/projects/index.tsx';
import { SystemRobotsPage } from './pages/project-extras/index.tsx';
import {
  AuditLogsPage,
  ClearingJobPage,
  ConfigsPage,
  InterrogationPage,
  JobServicePage,
  LabelsPage,
  ProjectQuotasPage,
  RegistriesPage,
  ReplicationsPage,
  UsersPage,
} from './pages/admin/index.tsx';

export function SignedInArea({ mode, onToggleMode }: { mode: 'light' | 'dark'; onToggleMode: () => void }) {
  return (
    <Layout mode={mode} onToggleMode={onToggleMode}>
      <Routes>
        <Route path="/" element={<Navigate to="/projects" replace />} />
        <Route path="/projects/*" element={<ProjectsArea />} />
        <Route path="/logs" element={<AuditLogsPage />} />
        <Route path="/users" element={<UsersPage />} />
        <Route path="/robot-accounts" element={<SystemRobotsPage />} />
        <Route path="/registries" element={<RegistriesPage />} />
        <Route path="/replications/*" element={<ReplicationsPage />} />
        <Route path="/labels" element={<LabelsPage />} />
        <Route path="/project-quotas" element={<ProjectQuotasPage />} />
        <Route path="/interrogation-services/*" element={<InterrogationPage />} />
        <Route path="/clearing-job/*" element={<ClearingJobPage />} />
        <Route path="/job-service-dashboard/*" element={<JobServicePage />} />
        <Route path="/configs/*" element={<ConfigsPage />} />
        <Route path="*" element={<Navigate to="/projects" replace />} />
      </Routes>
    </Layout>
  );
}
