/** The sign-in page: user name and password (robots cannot sign in); the API's message on failure. */
import { useState, type FormEvent } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { Box, Button, Paper, TextField, Typography } from '@mui/material';
import { ErrorAlert } from '../components/common.tsx';
import { useSession } from '../lib/session.tsx';

export function SignInPage() {
  const { signIn } = useSession();
  const navigate = useNavigate();
  const location = useLocation();
  const [principal, setPrincipal] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = new URLSearchParams(location.search).get('next') ?? '/projects';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(principal, password);
      void navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/projects', { replace: true });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Box sx={{ display: 'flex', justifyContent: 'center', alignItems: 'center', minHeight: '100vh' }}>
      <Paper component="form" onSubmit={submit} sx={{ p: 4, width: 360 }} aria-labelledby="sign-in-title">
        <Typography id="sign-in-title" variant="h5" component="h1" gutterBottom>
          Wharf
        </Typography>
        <ErrorAlert error={error} />
        <TextField label="Username" value={principal} onChange={(e) => setPrincipal(e.target.value)} fullWidth margin="normal" autoComplete="username" autoFocus required />
        <TextField label="Password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} fullWidth margin="normal" autoComplete="current-password" required />
        <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={busy}>
          Log in
        </Button>
      </Paper>
    </Box>
  );
}
