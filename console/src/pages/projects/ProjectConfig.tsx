/**
 * A project's configuration tab (`PUT /projects/{id}` with Harbor's metadata keys): public,
 * scan on push, SBOM on push, prevent vulnerable images from running with a severity, the CVE
 * allowlist (the system's, or the project's own with its CVE ids and expiry), and for proxy-cache
 * projects the bandwidth limit. Saved together; the API's refusal is shown as it is.
 */
import { useState, type FormEvent } from 'react';
import { Box, Button, Checkbox, FormControl, FormControlLabel, FormLabel, MenuItem, Paper, Radio, RadioGroup, TextField, Typography } from '@mui/material';
import { ErrorAlert } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { parseCveIds, projectType } from './helpers.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';

const severityChoices: Array<{ value: string; label: string }> = [
  { value: 'critical', label: 'Critical' },
  { value: 'high', label: 'High' },
  { value: 'medium', label: 'Medium' },
  { value: 'low', label: 'Low' },
  { value: 'none', label: 'None' },
];

/** Unix seconds → `YYYY-MM-DD` (UTC) for a date field, and back. */
function toDateField(expires: number | null | undefined): string {
  return expires ? new Date(expires * 1000).toISOString().slice(0, 10) : '';
}

export function ProjectConfigTab({ project, reloadProject }: ProjectPageProps) {
  const md = project.metadata ?? {};
  const [isPublic, setPublic] = useState(md.public === 'true');
  const [autoScan, setAutoScan] = useState(md.auto_scan === 'true');
  const [autoSbom, setAutoSbom] = useState(md.auto_sbom_generation === 'true');
  const [preventVul, setPreventVul] = useState(md.prevent_vul === 'true');
  const [severity, setSeverity] = useState(md.severity || 'low');
  const [reuseSystem, setReuseSystem] = useState(md.reuse_sys_cve_allowlist !== 'false');
  const [cves, setCves] = useState((project.cve_allowlist?.items ?? []).map((i) => i.cve_id).join('\n'));
  const [expires, setExpires] = useState(toDateField(project.cve_allowlist?.expires_at));
  const [speed, setSpeed] = useState(md.proxy_speed_kb ?? '-1');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const proxy = projectType(project) === 'Proxy Cache';
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const metadata: Record<string, string> = {
        public: String(isPublic),
        auto_scan: String(autoScan),
        auto_sbom_generation: String(autoSbom),
        prevent_vul: String(preventVul),
        severity,
        reuse_sys_cve_allowlist: String(reuseSystem),
      };
      if (proxy) metadata.proxy_speed_kb = speed.trim() === '' ? '-1' : speed.trim();
      const expiresAt = expires === '' ? null : Math.floor(Date.parse(`${expires}T00:00:00Z`) / 1000);
      await write('PUT', `/projects/${project.project_id}`, {
        metadata,
        cve_allowlist: { project_id: project.project_id, expires_at: expiresAt, items: parseCveIds(cves).map((cve_id) => ({ cve_id })) },
      });
      setSaved(true);
      reloadProject();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper variant="outlined" component="form" onSubmit={submit} sx={{ p: 2, maxWidth: 760 }} aria-label="Project configuration">
      <ErrorAlert error={error} />
      {saved ? (
        <Typography role="status" color="success.main" sx={{ mb: 1 }}>
          Configuration saved.
        </Typography>
      ) : null}
      <FormControl component="fieldset" sx={{ display: 'block', mb: 2 }}>
        <FormLabel component="legend">Project registry</FormLabel>
        <FormControlLabel control={<Checkbox checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />} label="Public" />
        <Typography variant="body2" color="text.secondary">
          Anyone may pull from a public project; a private one only its members.
        </Typography>
      </FormControl>
      <FormControl component="fieldset" sx={{ display: 'block', mb: 2 }}>
        <FormLabel component="legend">Vulnerability scanning</FormLabel>
        <FormControlLabel control={<Checkbox checked={autoScan} onChange={(e) => setAutoScan(e.target.checked)} />} label="Automatically scan images on push" />
        <FormControlLabel control={<Checkbox checked={autoSbom} onChange={(e) => setAutoSbom(e.target.checked)} />} label="Automatically generate SBOM on push" />
      </FormControl>
      <FormControl component="fieldset" sx={{ display: 'block', mb: 2 }}>
        <FormLabel component="legend">Deployment security</FormLabel>
        <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, flexWrap: 'wrap' }}>
          <FormControlLabel control={<Checkbox checked={preventVul} onChange={(e) => setPreventVul(e.target.checked)} />} label="Prevent vulnerable images from running" />
          <TextField select size="small" label="Severity and above" value={severity} onChange={(e) => setSeverity(e.target.value)} disabled={!preventVul} sx={{ minWidth: 180 }}>
            {severityChoices.map((s) => (
              <MenuItem key={s.value} value={s.value}>
                {s.label}
              </MenuItem>
            ))}
          </TextField>
        </Box>
      </FormControl>
      <FormControl component="fieldset" sx={{ display: 'block', mb: 2 }}>
        <FormLabel component="legend">CVE allowlist</FormLabel>
        <RadioGroup row value={reuseSystem ? 'system' : 'project'} onChange={(e) => setReuseSystem(e.target.value === 'system')}>
          <FormControlLabel value="system" control={<Radio />} label="System allowlist" />
          <FormControlLabel value="project" control={<Radio />} label="Project allowlist" />
        </RadioGroup>
        <TextField
          label="CVE IDs"
          value={cves}
          onChange={(e) => setCves(e.target.value)}
          multiline
          minRows={3}
          fullWidth
          margin="normal"
          disabled={reuseSystem}
          helperText="One CVE ID per line (or separated by commas); used when the project allowlist is chosen"
        />
        <TextField label="Expires on" type="date" value={expires} onChange={(e) => setExpires(e.target.value)} disabled={reuseSystem} slotProps={{ inputLabel: { shrink: true } }} helperText="Empty: never expires" />
      </FormControl>
      {proxy ? (
        <FormControl component="fieldset" sx={{ display: 'block', mb: 2 }}>
          <FormLabel component="legend">Proxy cache</FormLabel>
          <TextField label="Bandwidth (Kbps)" value={speed} onChange={(e) => setSpeed(e.target.value)} helperText="-1 for no limit" margin="normal" />
        </FormControl>
      ) : null}
      <Button type="submit" variant="contained" disabled={busy}>
        Save
      </Button>
    </Paper>
  );
}
