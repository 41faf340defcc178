/**
 * /harbor/configs/{auth,security,setting}: what Wharf reports of its authentication
 * (`/systeminfo`: database users only, no self-registration), the system-wide CVE allowlist
 * (`/system/CVEAllowlist`: the ids the pull gate ignores and their expiry), and the system
 * settings as `GET /configurations` returns them; editable keys are saved with
 * `PUT /configurations` and the API's message is shown when it refuses; the registry's root
 * certificate is downloaded from `/systeminfo/getcert` when Wharf has a CA (`has_ca_root`).
 */
import { useEffect, useState } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Alert, Box, Button, Checkbox, FormControlLabel, Link, Paper, TextField, Typography } from '@mui/material';
import { ErrorAlert, Loading, PageTitle } from '../../components/common.tsx';
import { get, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi } from '../../lib/use-api.ts';
import { configChanges, dateOfExpiry, expiresAtOf, parseCveIds, type ConfigItem } from './lib.ts';
import { LinkTabs, messageOf } from './ui.tsx';

interface SystemInfo {
  auth_mode?: string;
  primary_auth_mode?: boolean;
  self_registration?: boolean;
  project_creation_restriction?: string;
  external_url?: string;
  wharf_version?: string;
  registry_storage_provider_name?: string;
  read_only?: boolean;
  has_ca_root?: boolean;
}

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Box sx={{ display: 'grid', gridTemplateColumns: '240px 1fr', gap: 2, py: 0.75 }}>
      <Typography color="text.secondary">{label}</Typography>
      <Box>{children}</Box>
    </Box>
  );
}

function Auth() {
  const info = useApi((signal) => get<SystemInfo>('/systeminfo', { signal }), []);
  const i = info.data;
  return (
    <>
      <ErrorAlert error={info.error} />
      {!i ? (
        <Loading />
      ) : (
        <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-label="Authentication">
          <Row label="Auth Mode">{i.auth_mode === 'db_auth' ? 'Database' : (i.auth_mode ?? '')}</Row>
          <Row label="Project Creation">{i.project_creation_restriction === 'adminonly' ? 'Admin Only' : 'Everyone'}</Row>
          <Row label="Allow Self-Registration">{i.self_registration ? 'Yes' : 'No'}</Row>
          <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
            Wharf keeps its users in its own database (no LDAP, OIDC or UAA). Users are managed on the Users page; who may create projects is set under System Settings.
          </Typography>
        </Paper>
      )}
    </>
  );
}

interface Allowlist {
  id: number;
  project_id: number;
  expires_at: number | null;
  items: { cve_id: string }[];
  update_time?: string;
}

function Security() {
  const list = useApi((signal) => get<Allowlist>('/system/CVEAllowlist', { signal }), []);
  const [text, setText] = useState('');
  const [expiry, setExpiry] = useState('');
  const [never, setNever] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!list.data) return;
    setText(list.data.items.map((i) => i.cve_id).join('\n'));
    setNever(!list.data.expires_at);
    setExpiry(dateOfExpiry(list.data.expires_at));
  }, [list.data]);
  const ids = parseCveIds(text);
  return (
    <>
      <ErrorAlert error={list.error ?? error} />
      {!list.data ? (
        list.loading ? <Loading /> : null
      ) : (
        <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-label="CVE allowlist">
          <Typography variant="subtitle1" component="h2">
            Deployment security: CVE allowlist
          </Typography>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
            The pull gate ignores these vulnerabilities in every project that uses the system allowlist. Reports still show them.
          </Typography>
          <TextField label="CVE IDs (one per line)" multiline minRows={4} maxRows={16} fullWidth value={text} onChange={(e) => setText(e.target.value)} helperText={`${ids.length} id(s)`} />
          <Box sx={{ display: 'flex', gap: 2, alignItems: 'center', mt: 2 }}>
            <FormControlLabel control={<Checkbox checked={never} onChange={(e) => setNever(e.target.checked)} />} label="Never expires" />
            <TextField type="date" label="Expires at" value={expiry} disabled={never} onChange={(e) => setExpiry(e.target.value)} slotProps={{ inputLabel: { shrink: true } }} />
            <Button
              variant="contained"
              disabled={busy}
              onClick={async () => {
                setBusy(true);
                setError(null);
                setSaved(false);
                try {
                  await write('PUT', '/system/CVEAllowlist', { project_id: 0, expires_at: never ? null : expiresAtOf(expiry), items: ids.map((cve_id) => ({ cve_id })) });
                  setSaved(true);
                  list.reload();
                } catch (e) {
                  setError(messageOf(e));
                } finally {
                  setBusy(false);
                }
              }}
            >
              Save
            </Button>
            {saved ? (
              <Typography role="status" color="success.main">
                Saved
              </Typography>
            ) : null}
          </Box>
          {list.data.update_time ? (
            <Typography variant="caption" color="text.secondary">
              Last changed {formatTime(list.data.update_time)}
            </Typography>
          ) : null}
        </Paper>
      )}
    </>
  );
}

/** Names Harbor's UI gives the settings Wharf serves; other keys show as they are called. */
const settingLabels: Record<string, string> = {
  notification_enable: 'Webhooks enabled (notification_enable)',
};

function Settings() {
  const configs = useApi((signal) => get<Record<string, ConfigItem>>('/configurations', { signal }), []);
  const info = useApi((signal) => get<SystemInfo>('/systeminfo', { signal }), []);
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (configs.data) setDraft(Object.fromEntries(Object.entries(configs.data).map(([k, v]) => [k, v.value])));
  }, [configs.data]);
  const stored = configs.data ?? {};
  const changes = configChanges(stored, draft);
  return (
    <>
      <ErrorAlert error={configs.error ?? error} />
      {!configs.data ? (
        configs.loading ? <Loading /> : null
      ) : (
        <Paper variant="outlined" sx={{ p: 2, mb: 3 }} component="section" aria-label="System settings">
          {Object.entries(stored).map(([k, item]) => {
            const v = draft[k];
            const label = settingLabels[k] ?? k;
            if (typeof item.value === 'boolean')
              return (
                <Box key={k}>
                  <FormControlLabel control={<Checkbox checked={v === true} disabled={!item.editable} onChange={(e) => setDraft({ ...draft, [k]: e.target.checked })} />} label={label} />
                </Box>
              );
            if (typeof item.value === 'number')
              return (
                <Box key={k} sx={{ my: 1 }}>
                  <TextField label={label} size="small" value={String(v ?? '')} disabled={!item.editable} onChange={(e) => setDraft({ ...draft, [k]: e.target.value === '' ? '' : Number(e.target.value) })} inputMode="numeric" />
                </Box>
              );
            if (typeof item.value === 'string')
              return (
                <Box key={k} sx={{ my: 1 }}>
                  <TextField label={label} size="small" fullWidth value={String(v ?? '')} disabled={!item.editable} onChange={(e) => setDraft({ ...draft, [k]: e.target.value })} />
                </Box>
              );
            return (
              <Row key={k} label={label}>
                <code>{JSON.stringify(item.value)}</code>
              </Row>
            );
          })}
          <Box sx={{ display: 'flex', gap: 2, alignItems: 'center', mt: 2 }}>
            <Button
              variant="contained"
              disabled={busy || Object.keys(changes).length === 0}
              onClick={async () => {
                setBusy(true);
                setError(null);
                setSaved(false);
                try {
                  await write('PUT', '/configurations', changes);
                  setSaved(true);
                  configs.reload();
                } catch (e) {
                  setError(messageOf(e));
                } finally {
                  setBusy(false);
                }
              }}
            >
              Save
            </Button>
            <Button disabled={Object.keys(changes).length === 0} onClick={() => setDraft(Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, v.value])))}>
              Cancel
            </Button>
            {saved ? (
              <Typography role="status" color="success.main">
                Saved
              </Typography>
            ) : null}
          </Box>
        </Paper>
      )}
      {info.data ? (
        <Paper variant="outlined" sx={{ p: 2 }} component="section" aria-label="System information">
          <Typography variant="subtitle1" component="h2" sx={{ mb: 1 }}>
            System information
          </Typography>
          <Row label="Version">{info.data.wharf_version}</Row>
          <Row label="External URL">{info.data.external_url}</Row>
          <Row label="Storage">{info.data.registry_storage_provider_name}</Row>
          <Row label="Read only">{info.data.read_only ? 'Yes' : 'No'}</Row>
          <Row label="Registry Root Certificate">
            {info.data.has_ca_root ? (
              <Link href="/api/v2.0/systeminfo/getcert" download="ca.crt">
                Download
              </Link>
            ) : (
              'None: Wharf serves no certificate of its own CA (docs/tls.md)'
            )}
          </Row>
        </Paper>
      ) : null}
      {configs.data ? (
        <Alert severity="info" sx={{ mt: 2 }}>
          Other settings (storage, TLS, retention of job history, audit log retention) come from Wharf&apos;s configuration file and environment, not from this page.
        </Alert>
      ) : null}
    </>
  );
}

export function ConfigsPage() {
  return (
    <>
      <PageTitle>Configuration</PageTitle>
      <LinkTabs
        base="/configs"
        label="Configuration"
        tabs={[
          { path: 'auth', label: 'Authentication' },
          { path: 'security', label: 'Security' },
          { path: 'setting', label: 'System Settings' },
        ]}
      />
      <Routes>
        <Route path="auth" element={<Auth />} />
        <Route path="security" element={<Security />} />
        <Route path="setting" element={<Settings />} />
        <Route path="*" element={<Navigate to="auth" replace />} />
      </Routes>
    </>
  );
}
