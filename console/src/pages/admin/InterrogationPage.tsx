/**
 * /harbor/interrogation-services/{scanners,vulnerability,security-hub}: scanner registrations
 * (`/scanners`: "New Scanner" after a ping, set default, enable/disable, delete); scan all
 * ("Scan Now", Stop, the schedule, and the progress of the latest run from `/scans/all/metrics`,
 * polled while it goes on); the security hub (`/security/summary` and a search over `/security/vul`).
 */
import { useCallback, useState } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Alert, Box, Button, Checkbox, FormControlLabel, LinearProgress, Paper, TextField, Typography } from '@mui/material';
import { ConfirmDialog, ErrorAlert, Loading, PagedTable, PageTitle } from '../../components/common.tsx';
import { get, write } from '../../lib/api.ts';
import { shortDigest } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { qValue, scheduleBody, scheduleOf } from './lib.ts';
import { FormDialog, LinkTabs, PlainTable, ScheduleEditor, SelectField, messageOf, usePoll } from './ui.tsx';

interface Scanner {
  uuid: string;
  name: string;
  description?: string;
  url: string;
  disabled: boolean;
  is_default: boolean;
  auth: string;
  access_credential?: string;
  skip_certVerify?: boolean;
  use_internal_addr?: boolean;
  health?: string;
  adapter?: string;
  vendor?: string;
  version?: string;
  create_time?: string;
}

const emptyScanner = { name: '', description: '', url: '', auth: '', access_credential: '', skip_certVerify: false, use_internal_addr: false };

function NewScannerDialog({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: () => void }) {
  const [f, setF] = useState(emptyScanner);
  const [test, setTest] = useState<{ ok: boolean; text: string } | null>(null);
  const set = (k: 'name' | 'description' | 'url' | 'access_credential') => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const body = () => ({ ...f, name: f.name.trim(), url: f.url.trim() });
  return (
    <FormDialog
      open={open}
      title="Add Scanner"
      submitLabel="Add"
      onClose={() => {
        setF(emptyScanner);
        setTest(null);
        onClose();
      }}
      onSubmit={async () => {
        await write('POST', '/scanners', body());
        setF(emptyScanner);
        setTest(null);
        onDone();
      }}
    >
      <TextField label="Name" required value={f.name} onChange={set('name')} autoFocus />
      <TextField label="Description" value={f.description} onChange={set('description')} />
      <TextField label="Endpoint" required value={f.url} onChange={set('url')} placeholder="http://scanner-adapter:8080" />
      <SelectField label="Authorization" value={f.auth} onChange={(v) => setF({ ...f, auth: v })} options={[['', 'None'], ['Basic', 'Basic'], ['Bearer', 'Bearer'], ['APIKey', 'APIKey']]} />
      {f.auth ? <TextField label="Credential" type="password" value={f.access_credential} onChange={set('access_credential')} helperText={f.auth === 'Basic' ? 'username:password' : 'Write-only: never shown again.'} /> : null}
      <FormControlLabel control={<Checkbox checked={f.skip_certVerify} onChange={(e) => setF({ ...f, skip_certVerify: e.target.checked })} />} label="Skip certificate verification" />
      <FormControlLabel control={<Checkbox checked={f.use_internal_addr} onChange={(e) => setF({ ...f, use_internal_addr: e.target.checked })} />} label="Use internal registry address" />
      <Box>
        <Button
          variant="outlined"
          disabled={!f.url.trim()}
          onClick={async () => {
            setTest(null);
            try {
              await write('POST', '/scanners/ping', body());
              setTest({ ok: true, text: 'Test connection succeeded.' });
            } catch (e) {
              setTest({ ok: false, text: messageOf(e) });
            }
          }}
        >
          Test Connection
        </Button>
      </Box>
      {test ? (
        <Alert severity={test.ok ? 'success' : 'error'} role={test.ok ? 'status' : 'alert'}>
          {test.text}
        </Alert>
      ) : null}
    </FormDialog>
  );
}

function Scanners() {
  const list = usePaged<Scanner>('/scanners');
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<Scanner | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      list.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <>
      <Box sx={{ display: 'flex', gap: 1, mb: 2 }}>
        <Button variant="contained" onClick={() => setAdding(true)}>
          New Scanner
        </Button>
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      <ErrorAlert error={error} />
      <PagedTable
        label="Scanners"
        list={list}
        rowKey={(s) => s.uuid}
        columns={[
          { label: 'Name', render: (s) => (s.is_default ? `${s.name} (Default)` : s.name) },
          { label: 'Endpoint', render: (s) => s.url },
          { label: 'Health', render: (s) => s.health || '' },
          { label: 'Enabled', render: (s) => (s.disabled ? 'No' : 'Yes') },
          { label: 'Authorization', render: (s) => s.auth || 'None' },
          { label: 'Description', render: (s) => s.description ?? '' },
          {
            label: 'Actions',
            render: (s) => (
              <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
                <Button size="small" disabled={s.is_default} onClick={() => act(() => write('PATCH', `/scanners/${s.uuid}`, { is_default: true }))} aria-label={`Set ${s.name} as default`}>
                  Set as default
                </Button>
                <Button
                  size="small"
                  onClick={() =>
                    act(async () => {
                      const cur = await get<Scanner>(`/scanners/${s.uuid}`);
                      await write('PUT', `/scanners/${s.uuid}`, { name: cur.name, description: cur.description ?? '', url: cur.url, auth: cur.auth, access_credential: '', skip_certVerify: !!cur.skip_certVerify, use_internal_addr: !!cur.use_internal_addr, disabled: !cur.disabled });
                    })
                  }
                  aria-label={`${s.disabled ? 'Enable' : 'Disable'} ${s.name}`}
                >
                  {s.disabled ? 'Enable' : 'Disable'}
                </Button>
                <Button size="small" color="error" onClick={() => setDeleting(s)} aria-label={`Delete ${s.name}`}>
                  Delete
                </Button>
              </Box>
            ),
          },
        ]}
      />
      <NewScannerDialog open={adding} onClose={() => setAdding(false)} onDone={list.reload} />
      <ConfirmDialog
        open={!!deleting}
        title="Delete scanner"
        text={`Delete the scanner ${deleting?.name ?? ''}? Projects that use it go back to the default.`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await write('DELETE', `/scanners/${deleting!.uuid}`);
          list.reload();
        }}
      />
    </>
  );
}

interface ScanMetrics {
  total: number;
  completed: number;
  metrics: Record<string, number>;
  ongoing: boolean;
  trigger?: string;
}

function Vulnerability() {
  const metrics = useApi((signal) => get<ScanMetrics>('/scans/all/metrics', { signal }), []);
  const schedule = useApi((signal) => get<unknown>('/system/scanAll/schedule', { signal }), []);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // After "Scan Now", poll a few times even before the run shows as ongoing (it may end quickly).
  const [kicks, setKicks] = useState(0);
  const m = metrics.data;
  usePoll(!!m?.ongoing || kicks > 0, () => {
    metrics.reload();
    setKicks((k) => Math.max(0, k - 1));
  }, 1500);
  const pct = m && m.total > 0 ? Math.round((m.completed / m.total) * 100) : 0;
  return (
    <>
      <ErrorAlert error={error ?? metrics.error} />
      <Paper variant="outlined" sx={{ p: 2, mb: 3 }} component="section" aria-label="Scan all">
        <Typography variant="subtitle1" component="h2" sx={{ mb: 1 }}>
          Vulnerability scanning of every artifact
        </Typography>
        {m ? (
          <Box sx={{ mb: 2 }} role="status" aria-label="Scan all progress">
            {m.ongoing ? <LinearProgress variant={m.total > 0 ? 'determinate' : 'indeterminate'} value={pct} sx={{ mb: 1 }} aria-label="Scanning" /> : null}
            <Typography>
              {m.ongoing ? 'Scanning: ' : m.total ? 'Last run: ' : 'No scan all has run yet.'}
              {m.total ? `${m.completed} of ${m.total} completed` : ''}
              {m.trigger ? ` (${m.trigger})` : ''}
            </Typography>
            {m.total ? (
              <Typography variant="body2" color="text.secondary">
                {Object.entries(m.metrics ?? {})
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(' · ')}
              </Typography>
            ) : null}
          </Box>
        ) : (
          <Loading />
        )}
        <Box sx={{ display: 'flex', gap: 1 }}>
          <Button
            variant="contained"
            disabled={busy || !!m?.ongoing}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await write('POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } });
                setKicks(4);
                metrics.reload();
              } catch (e) {
                setError(messageOf(e));
              } finally {
                setBusy(false);
              }
            }}
          >
            Scan Now
          </Button>
          {m?.ongoing ? (
            <Button
              color="warning"
              onClick={async () => {
                setError(null);
                try {
                  await write('POST', '/system/scanAll/stop');
                  metrics.reload();
                } catch (e) {
                  setError(messageOf(e));
                }
              }}
            >
              Stop
            </Button>
          ) : null}
        </Box>
      </Paper>
      {schedule.data !== undefined ? (
        <ScheduleEditor
          label="Scan all schedule"
          value={scheduleOf(schedule.data)}
          onSave={async (v) => {
            await write('PUT', '/system/scanAll/schedule', scheduleBody(v));
            schedule.reload();
          }}
        />
      ) : (
        <ErrorAlert error={schedule.error} />
      )}
    </>
  );
}

interface Summary {
  critical_cnt: number;
  high_cnt: number;
  medium_cnt: number;
  low_cnt: number;
  none_cnt: number;
  unknown_cnt: number;
  total_vuls: number;
  scanned_cnt: number;
  total_artifact: number;
  fixable_cnt: number;
  dangerous_cves?: { cve_id: string; severity: string; cvss_score_v3?: number; package: string; version: string }[];
  dangerous_artifacts?: { project_id: number; repository_name: string; digest: string; critical_cnt: number; high_cnt: number; medium_cnt: number }[];
}

interface Vul {
  project_id: number;
  repository_name: string;
  digest: string;
  tags?: string[];
  cve_id: string;
  severity: string;
  cvss_v3_score?: number | null;
  package: string;
  version: string;
  fixed_version?: string;
  desc?: string;
}

function Stat({ label, value }: { label: string; value: number | string }) {
  return (
    <Paper variant="outlined" sx={{ p: 1.5, minWidth: 110 }}>
      <Typography variant="caption" component="div">
        {label}
      </Typography>
      <Typography variant="h6" component="div">
        {value}
      </Typography>
    </Paper>
  );
}

function SecurityHub() {
  const summary = useApi((signal) => get<Summary>('/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true', { signal }), []);
  const [draft, setDraft] = useState({ cve_id: '', severity: '', package: '', repository_name: '', tag: '', min: '', max: '' });
  const [q, setQ] = useState('');
  const list = usePaged<Vul>('/security/vul', { q, with_tag: 'true', tune_count: 'true' });
  const s = summary.data;
  const search = useCallback(() => {
    const terms: string[] = [];
    for (const k of ['cve_id', 'severity', 'package', 'repository_name', 'tag'] as const) if (draft[k].trim()) terms.push(`${k}=${qValue(draft[k].trim())}`);
    if (draft.min.trim() || draft.max.trim()) terms.push(`cvss_score_v3=[${draft.min.trim()}~${draft.max.trim()}]`);
    setQ(terms.join(','));
  }, [draft]);
  const set = (k: keyof typeof draft) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <>
      <ErrorAlert error={summary.error} />
      {s ? (
        <Box component="section" aria-label="Vulnerability summary" sx={{ mb: 3 }}>
          <Box sx={{ display: 'flex', gap: 1.5, flexWrap: 'wrap', mb: 2 }}>
            <Stat label="Artifacts" value={s.total_artifact} />
            <Stat label="Scanned" value={s.scanned_cnt} />
            <Stat label="Vulnerabilities" value={s.total_vuls} />
            <Stat label="Fixable" value={s.fixable_cnt} />
            <Stat label="Critical" value={s.critical_cnt} />
            <Stat label="High" value={s.high_cnt} />
            <Stat label="Medium" value={s.medium_cnt} />
            <Stat label="Low" value={s.low_cnt} />
            <Stat label="None" value={s.none_cnt} />
            <Stat label="Unknown" value={s.unknown_cnt} />
          </Box>
          <Box sx={{ display: 'grid', gridTemplateColumns: { md: '1fr 1fr' }, gap: 2 }}>
            <PlainTable
              label="Most dangerous CVEs"
              rows={s.dangerous_cves}
              rowKey={(c) => `${c.cve_id}/${c.package}/${c.version}`}
              empty="No CVEs."
              columns={[
                { label: 'CVE', render: (c) => c.cve_id },
                { label: 'Severity', render: (c) => c.severity },
                { label: 'CVSS3', render: (c) => c.cvss_score_v3 ?? '' },
                { label: 'Package', render: (c) => `${c.package} ${c.version}` },
              ]}
            />
            <PlainTable
              label="Most dangerous artifacts"
              rows={s.dangerous_artifacts}
              rowKey={(a) => `${a.repository_name}@${a.digest}`}
              empty="No vulnerable artifacts."
              columns={[
                { label: 'Artifact', render: (a) => `${a.repository_name}@${shortDigest(a.digest)}` },
                { label: 'Critical', render: (a) => a.critical_cnt },
                { label: 'High', render: (a) => a.high_cnt },
                { label: 'Medium', render: (a) => a.medium_cnt },
              ]}
            />
          </Box>
        </Box>
      ) : summary.loading ? (
        <Loading />
      ) : null}
      <Typography variant="h6" component="h2" sx={{ mb: 1 }}>
        Vulnerabilities
      </Typography>
      <Box
        component="form"
        role="search"
        aria-label="Search vulnerabilities"
        onSubmit={(e) => {
          e.preventDefault();
          search();
        }}
        sx={{ display: 'flex', gap: 1.5, flexWrap: 'wrap', mb: 2 }}
      >
        <TextField size="small" label="CVE ID" value={draft.cve_id} onChange={set('cve_id')} />
        <SelectField size="small" label="Severity" value={draft.severity} onChange={(v) => setDraft({ ...draft, severity: v })} options={[['', 'Any'], ['Critical', 'Critical'], ['High', 'High'], ['Medium', 'Medium'], ['Low', 'Low'], ['None', 'None'], ['Unknown', 'Unknown']]} sx={{ minWidth: 120 }} />
        <TextField size="small" label="Package" value={draft.package} onChange={set('package')} />
        <TextField size="small" label="Repository" value={draft.repository_name} onChange={set('repository_name')} />
        <TextField size="small" label="Tag" value={draft.tag} onChange={set('tag')} />
        <TextField size="small" label="CVSS3 from" value={draft.min} onChange={set('min')} sx={{ width: 130 }} inputMode="decimal" />
        <TextField size="small" label="CVSS3 to" value={draft.max} onChange={set('max')} sx={{ width: 130 }} inputMode="decimal" />
        <Button type="submit" variant="contained">
          Search
        </Button>
      </Box>
      <PagedTable
        label="Vulnerabilities"
        list={list}
        rowKey={(v) => `${v.repository_name}@${v.digest}/${v.cve_id}/${v.package}/${v.version}`}
        empty="No vulnerabilities found."
        columns={[
          { label: 'CVE ID', render: (v) => v.cve_id },
          { label: 'Repository', render: (v) => v.repository_name },
          { label: 'Digest', render: (v) => shortDigest(v.digest) },
          { label: 'Tags', render: (v) => (v.tags ?? []).join(', ') },
          { label: 'CVSS3', render: (v) => v.cvss_v3_score ?? '' },
          { label: 'Severity', render: (v) => v.severity },
          { label: 'Package', render: (v) => v.package },
          { label: 'Version', render: (v) => v.version },
          { label: 'Fixed in', render: (v) => v.fixed_version ?? '' },
        ]}
      />
    </>
  );
}

export function InterrogationPage() {
  return (
    <>
      <PageTitle>Interrogation Services</PageTitle>
      <LinkTabs
        base="/interrogation-services"
        label="Interrogation services"
        tabs={[
          { path: 'scanners', label: 'Scanners' },
          { path: 'vulnerability', label: 'Vulnerability' },
          { path: 'security-hub', label: 'Security Hub' },
        ]}
      />
      <Routes>
        <Route path="scanners" element={<Scanners />} />
        <Route path="vulnerability" element={<Vulnerability />} />
        <Route path="security-hub" element={<SecurityHub />} />
        <Route path="*" element={<Navigate to="scanners" replace />} />
      </Routes>
    </>
  );
}

