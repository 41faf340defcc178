/**
 * Small pieces the webhook, robot and tag strategy pages share: a status chip, a log viewer
 * dialog, the dialog that shows a secret once with a copy button, and a hook for buttons that
 * call the API (busy flag and the API's error message).
 */
import { useState, type ReactNode } from 'react';
import { Alert, Box, Button, Chip, Dialog, DialogActions, DialogContent, DialogTitle, TextField, Typography } from '@mui/material';
import { ErrorAlert, Loading } from '../../components/common.tsx';
import { getText } from '../../lib/api.ts';
import { useApi } from '../../lib/use-api.ts';

/** Harbor's job statuses as coloured chips. */
export function StatusChip({ status }: { status: string }) {
  const s = status.toLowerCase();
  const color = s === 'success' || s === 'succeed' ? 'success' : s === 'error' || s === 'failed' ? 'error' : s === 'running' || s === 'pending' || s === 'scheduled' || s === 'inprogress' ? 'info' : 'default';
  return <Chip size="small" label={status} color={color} variant="outlined" />;
}

/** Runs API calls for buttons: `run(fn)` sets busy, clears and then shows the error. */
export function useAction(): { busy: boolean; error: string | null; setError: (e: string | null) => void; run: (fn: () => Promise<void>) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}

/** A dialog showing the text log at `path` (under /api/v2.0). */
export function LogDialog({ title, path, onClose }: { title: string; path: string | null; onClose: () => void }) {
  return (
    <Dialog open={path !== null} onClose={onClose} maxWidth="lg" fullWidth aria-labelledby="log-title">
      <DialogTitle id="log-title">{title}</DialogTitle>
      <DialogContent>{path ? <LogText path={path} /> : null}</DialogContent>
      <DialogActions>
        {path ? (
          <Button href={`/api/v2.0${path}`} target="_blank" rel="noreferrer">
            Open raw log
          </Button>
        ) : null}
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}

export function LogText({ path }: { path: string }) {
  const log = useApi((signal) => getText(path, { signal }), [path]);
  if (log.loading) return <Loading label="Loading the log" />;
  return (
    <>
      <ErrorAlert error={log.error} />
      <Pre label="Log">{log.data ?? ''}</Pre>
    </>
  );
}

/** Preformatted text in a scrollable box. */
export function Pre({ children, label }: { children: ReactNode; label: string }) {
  return (
    <Box component="pre" aria-label={label} sx={{ m: 0, p: 1.5, bgcolor: 'action.hover', borderRadius: 1, overflow: 'auto', maxHeight: 480, fontSize: 12, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
      {children}
    </Box>
  );
}

/** Shows a robot's secret once, with a copy button; the caller forgets the secret on close. */
export function SecretDialog({ name, secret, onClose }: { name: string; secret: string | null; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret ?? '');
      setCopied(true);
    } catch {
      const el = document.getElementById('robot-secret') as HTMLInputElement | null;
      el?.select();
    }
  };
  return (
    <Dialog open={secret !== null} onClose={onClose} aria-labelledby="secret-title" fullWidth maxWidth="sm">
      <DialogTitle id="secret-title">Secret of {name}</DialogTitle>
      <DialogContent>
        <Alert severity="warning" sx={{ mb: 2 }}>
          This secret is shown only once. Copy it now: it cannot be read again, only refreshed.
        </Alert>
        <Typography variant="body2" sx={{ mb: 1 }}>
          Name: <code>{name}</code>
        </Typography>
        <TextField id="robot-secret" label="Secret" value={secret ?? ''} fullWidth slotProps={{ htmlInput: { readOnly: true } }} onFocus={(e) => e.target.select()} />
        {copied ? (
          <Typography variant="body2" color="success.main" role="status" sx={{ mt: 1 }}>
            Copied to the clipboard.
          </Typography>
        ) : null}
      </DialogContent>
      <DialogActions>
        <Button onClick={copy}>Copy</Button>
        <Button
          variant="contained"
          onClick={() => {
            setCopied(false);
            onClose();
          }}
        >
          Close
        </Button>
      </DialogActions>
    </Dialog>
  );
}
