/**
 * A project's scanner tab: the scanner its scans use (`GET /projects/{id}/scanner`: the pinned
 * registration, else the system default) with its health and capabilities, and "Select Scanner"
 * from the candidates (`…/scanner/candidates`, project admins) to pin another (`PUT {uuid}`).
 */
import { useState } from 'react';
import { Box, Button, Chip, Dialog, DialogActions, DialogContent, DialogTitle, MenuItem, Paper, TextField, Typography } from '@mui/material';
import { ErrorAlert, Loading } from '../../components/common.tsx';
import { get, write } from '../../lib/api.ts';
import { useApi } from '../../lib/use-api.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { Scanner } from './types.ts';

export function ProjectScannerTab({ project }: ProjectPageProps) {
  const scanner = useApi((signal) => get<Scanner | null>(`/projects/${project.project_id}/scanner`, { signal }), [project.project_id]);
  const [open, setOpen] = useState(false);
  const candidates = useApi((signal) => (open ? get<Scanner[]>(`/projects/${project.project_id}/scanner/candidates?page_size=100`, { signal }) : Promise.resolve([] as Scanner[])), [open, project.project_id]);
  const [picked, setPicked] = useState('');
  const [error, setError] = useState<string | null>(null);
  const s = scanner.data;
  const save = async () => {
    setError(null);
    try {
      await write('PUT', `/projects/${project.project_id}/scanner`, { uuid: picked });
      setOpen(false);
      scanner.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-label="Scanner">
      <ErrorAlert error={scanner.error} />
      {scanner.loading && !s ? <Loading /> : null}
      {!scanner.loading && !s && !scanner.error ? <Typography>No scanner: the administrator has registered none.</Typography> : null}
      {s ? (
        <Box component="dl" sx={{ display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: 2, rowGap: 1, m: 0, mb: 2 }}>
          <Typography component="dt" color="text.secondary">
            Name
          </Typography>
          <Typography component="dd" sx={{ m: 0 }}>
            {s.name} {s.is_default ? <Chip size="small" label="Default" /> : null}
          </Typography>
          <Typography component="dt" color="text.secondary">
            Health
          </Typography>
          <Typography component="dd" sx={{ m: 0 }}>
            <Chip size="small" color={s.health === 'healthy' ? 'success' : 'error'} label={s.health ?? 'unknown'} />
          </Typography>
          <Typography component="dt" color="text.secondary">
            Vendor
          </Typography>
          <Typography component="dd" sx={{ m: 0 }}>
            {[s.vendor, s.version].filter(Boolean).join(' ')}
          </Typography>
          <Typography component="dt" color="text.secondary">
            Endpoint
          </Typography>
          <Typography component="dd" sx={{ m: 0 }}>
            {s.url}
          </Typography>
          <Typography component="dt" color="text.secondary">
            Capabilities
          </Typography>
          <Typography component="dd" sx={{ m: 0 }}>
            {[s.capabilities?.support_vulnerability ? 'Vulnerability' : '', s.capabilities?.support_sbom ? 'SBOM' : ''].filter(Boolean).join(', ')}
          </Typography>
          {s.description ? (
            <>
              <Typography component="dt" color="text.secondary">
                Description
              </Typography>
              <Typography component="dd" sx={{ m: 0 }}>
                {s.description}
              </Typography>
            </>
          ) : null}
        </Box>
      ) : null}
      <Button
        variant="outlined"
        onClick={() => {
          setPicked(s?.uuid ?? '');
          setError(null);
          setOpen(true);
        }}
      >
        Select Scanner
      </Button>
      <Dialog open={open} onClose={() => setOpen(false)} aria-labelledby="select-scanner-title" fullWidth maxWidth="sm">
        <DialogTitle id="select-scanner-title">Select Scanner</DialogTitle>
        <DialogContent>
          <ErrorAlert error={error ?? candidates.error} />
          {candidates.loading ? <Loading /> : null}
          <TextField select label="Scanner" value={picked} onChange={(e) => setPicked(e.target.value)} fullWidth margin="normal">
            {(candidates.data ?? []).map((c) => (
              <MenuItem key={c.uuid} value={c.uuid} disabled={c.disabled}>
                {c.name}
                {c.is_default ? ' (default)' : ''}
                {c.disabled ? ' (disabled)' : ''}
              </MenuItem>
            ))}
          </TextField>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setOpen(false)}>Cancel</Button>
          <Button variant="contained" disabled={picked === ''} onClick={() => void save()}>
            OK
          </Button>
        </DialogActions>
      </Dialog>
    </Paper>
  );
}
