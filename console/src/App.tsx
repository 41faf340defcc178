/**
 * The console's routes: Harbor's portal URLs under /harbor (the router's basename), so links
 * people follow (Kargo's guide: /harbor/projects/<id>/webhook) open the same page here. Signed-out
 * visitors are sent to /harbor/sign-in and come back where they were going.
 */
import { lazy, Suspense, useState } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { CssBaseline, ThemeProvider, createTheme } from '@mui/material';
import { Loading } from './components/common.tsx';
import { useSession } from './lib/session.tsx';
import { SignInPage } from './pages/SignIn.tsx';

// Everything behind sign-in (the frame, projects, administration) is a chunk of its own, loaded
// after the session check, so the sign-in page loads only what it shows.
const SignedInArea = lazy(() => import('./SignedInArea.tsx').then((m) => ({ default: m.SignedInArea })));

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
    <Suspense fallback={<Loading label="Loading the console" />}>
      <SignedInArea mode={mode} onToggleMode={onToggleMode} />
    </Suspense>
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
