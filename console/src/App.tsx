/**
 * The console's routes: Harbor's portal URLs under /harbor (the router's basename), so links
 * people follow (Kargo's guide: /harbor/projects/<id>/webhook) open the same page here. Signed-out
 * visitors are sent to /harbor/sign-in and come back where they were going.
 */
import { useState } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { CssBaseline, ThemeProvider, createTheme } from '@mui/material';
import { Layout } from './components/Layout.tsx';
import { Loading } from './components/common.tsx';
import { useSession } from './lib/session.tsx';
import { SignInPage } from './pages/SignIn.tsx';
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

type Mode = 'light' | 'dark';

function initialMode(): Mode {
  const stored = localStorage.getItem('wharf-theme');
  if (stored === 'light' || stored === 'dark') return stored;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function SignedIn({ mode, onToggleMode }: { mode: Mode; onToggleMode: () => void }) {
  const { user, checking } = useSession();
  const location = useLocation();
  if (checking) return <Loading label="Checking the session" />;
  if (!user) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
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

export function App() {
  const [mode, setMode] = useState<Mode>(initialMode);
  const theme = createTheme({ palette: { mode } });
  const toggle = () => {
    const next: Mode = mode === 'dark' ? 'light' : 'dark';
    localStorage.setItem('wharf-theme', next);
    setMode(next);
  };
  return (
    <ThemeProvider theme={theme}>
      <CssBaseline />
      <Routes>
        <Route path="/sign-in" element={<SignInPage />} />
        <Route path="/*" element={<SignedIn mode={mode} onToggleMode={toggle} />} />
      </Routes>
    </ThemeProvider>
  );
}
