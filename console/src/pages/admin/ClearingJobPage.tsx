/**
 * /harbor/clearing-job/{gc,audit-log-purge}: garbage collection (`/system/gc`: "GC Now" and
 * "Dry Run", with "delete untagged artifacts", the schedule, and the history with each run's log)
 * and the audit log purge (`/system/purgeaudit`: "Purge Now" and "Dry Run" with the retention and
 * the event types, the schedule, the history). The history is polled while a run is going on.
 */
import { useMemo, useState } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Box, Button, Checkbox, FormControlLabel, FormGroup, LinearProgress, Paper, TextField, Typography } from '@mui/material';
import { ErrorAlert, PagedTable, PageTitle } from '../../components/common.tsx';
import { get, getText, write } from '../../lib/api.ts';
import { formatSize, formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { isRunning, jobParameters, jobReportText, purgeEventTypes, purgeFormOf, purgeParameters, scheduleBody, scheduleOf } from './lib.ts';
import { LinkTabs, LogDialog, ScheduleEditor, SelectField, StatusChip, messageOf, usePoll } from './ui.tsx';

interface JobRun {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  job_status: string;
  creation_time: string;
  update_time: string;
  report?: Record<string, unknown> | null;
  error?: string | null;
}

/** The history of one job type (`/system/gc` or `/system/purgeaudit`) with logs and Stop. */
function History({ base, label }: { base: string; label: string }) {
  const list = usePaged<JobRun>(base, {});
  const anyRunning = (list.data?.items ?? []).some((r) => isRunning(r.job_status));
  usePoll(anyRunning, list.reload, 1500);
  const [log, setLog] = useState<JobRun | null>(null);
  const loadLog = useMemo(() => (log ? () => getText(`${base}/${log.id}/log`) : null), [log, base]);
  const [error, setError] = useState<string | null>(null);
  return (
    <Box component="section" aria-label={label}>
      <Box sx={{ display: 'flex', alignItems: 'center', mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          {label}
        </Typography>
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      {anyRunning ? <LinearProgress aria-label="A run is going on" sx={{ mb: 1 }} /> : null}
      <ErrorAlert error={error} />
      <PagedTable
        label={label}
        list={list}
        rowKey={(r) => r.id}
        empty="No runs yet."
        columns={[
          { label: 'Job ID', render: (r) => r.id },
          { label: 'Trigger Type', render: (r) => r.job_kind },
          { label: 'Dry Run', render: (r) => (jobParameters(r.job_parameters).dry_run === true ? 'Yes' : 'No') },
          { label: 'Status', render: (r) => <StatusChip status={r.job_status} /> },
          { label: 'Details', render: (r) => r.error || jobReportText(r.report, formatSize) },
          { label: 'Creation Time', render: (r) => formatTime(r.creation_time) },
          { label: 'Update Time', render: (r) => formatTime(r.update_time) },
          {
            label: 'Logs',
            render: (r) => (
              <Box sx={{ display: 'flex', gap: 0.5 }}>
                <Button size="small" onClick={() => setLog(r)} aria-label={`Log of run ${r.id}`}>
                  Logs
                </Button>
                {isRunning(r.job_status) ? (
                  <Button
                    size="small"
                    color="warning"
                    aria-label={`Stop run ${r.id}`}
                    onClick={async () => {
                      setError(null);
                      try {
                        await write('PUT', `${base}/${r.id}`);
                        list.reload();
                      } catch (e) {
                        setError(messageOf(e));
                      }
                    }}
                  >
                    Stop
                  </Button>
                ) : null}
              </Box>
            ),
          },
        ]}
      />
      <LogDialog title={log ? `Log of run ${log.id}` : ''} load={loadLog} live={!!log && isRunning(log.job_status)} onClose={() => setLog(null)} />
    </Box>
  );
}

function Gc() {
  const schedule = useApi((signal) => get<{ job_parameters?: string; schedule?: unknown }>('/system/gc/schedule', { signal }), []);
  const [deleteUntagged, setDeleteUntagged] = useState(false);
  const [scheduleUntagged, setScheduleUntagged] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const storedUntagged = jobParameters(schedule.data?.job_parameters).delete_untagged === true;
  const untaggedForSchedule = scheduleUntagged ?? storedUntagged;
  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(null);
    setStarted(null);
    try {
      const { id } = await write('POST', '/system/gc/schedule', { schedule: { type: 'Manual' }, parameters: { delete_untagged: deleteUntagged, dry_run: dryRun } });
      setStarted(`${dryRun ? 'A dry run' : 'Garbage collection'} started${id ? ` (job ${id})` : ''}.`);
      setRefresh((r) => r + 1);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Paper variant="outlined" sx={{ p: 2, mb: 3 }} component="section" aria-label="Garbage collection">
        <Typography sx={{ mb: 1 }}>Garbage collection deletes blobs that no artifact refers to any more, and the upload leftovers.</Typography>
        <ErrorAlert error={error} />
        <FormControlLabel control={<Checkbox checked={deleteUntagged} onChange={(e) => setDeleteUntagged(e.target.checked)} />} label="Allow garbage collection on untagged artifacts" />
        <Box sx={{ display: 'flex', gap: 1, alignItems: 'center' }}>
          <Button variant="contained" disabled={busy} onClick={() => run(false)}>
            GC Now
          </Button>
          <Button variant="outlined" disabled={busy} onClick={() => run(true)}>
            Dry Run
          </Button>
          {started ? <Typography role="status">{started}</Typography> : null}
        </Box>
      </Paper>
      {schedule.data !== undefined ? (
        <ScheduleEditor
          label="GC schedule"
          value={scheduleOf(schedule.data)}
          extra={<FormControlLabel control={<Checkbox checked={untaggedForSchedule} onChange={(e) => setScheduleUntagged(e.target.checked)} />} label="Delete untagged artifacts on schedule" />}
          onSave={async (v) => {
            await write('PUT', '/system/gc/schedule', scheduleBody(v, { delete_untagged: untaggedForSchedule, dry_run: false }));
            schedule.reload();
          }}
        />
      ) : (
        <ErrorAlert error={schedule.error} />
      )}
      <History key={refresh} base="/system/gc" label="GC History" />
    </>
  );
}

function PurgeForm({ value, onChange }: { value: { keep: string; unit: 'hours' | 'days'; types: string[] }; onChange: (v: { keep: string; unit: 'hours' | 'days'; types: string[] }) => void }) {
  return (
    <>
      <Box sx={{ display: 'flex', gap: 2, mb: 1 }}>
        <TextField size="small" label="Keep records for" value={value.keep} onChange={(e) => onChange({ ...value, keep: e.target.value })} inputMode="numeric" sx={{ width: 160 }} />
        <SelectField size="small" label="Unit" value={value.unit} onChange={(u) => onChange({ ...value, unit: u as 'hours' | 'days' })} options={[['hours', 'Hours'], ['days', 'Days']]} sx={{ width: 110 }} />
      </Box>
      <Typography variant="body2">Include event types</Typography>
      <FormGroup row aria-label="Include event types">
        {purgeEventTypes.map((t) => (
          <FormControlLabel
            key={t}
            control={<Checkbox size="small" checked={value.types.includes(t)} onChange={(e) => onChange({ ...value, types: e.target.checked ? [...value.types, t] : value.types.filter((x) => x !== t) })} />}
            label={t}
          />
        ))}
      </FormGroup>
    </>
  );
}

function AuditLogPurge() {
  const schedule = useApi((signal) => get<{ job_parameters?: string; schedule?: unknown }>('/system/purgeaudit/schedule', { signal }), []);
  // One set of parameters, as Harbor's page has: used by "Purge Now", "Dry Run" and the schedule (read from the stored schedule).
  const [edited, setEdited] = useState<ReturnType<typeof purgeFormOf> | null>(null);
  const form = edited ?? purgeFormOf(jobParameters(schedule.data?.job_parameters));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const run = async (dryRun: boolean) => {
    setError(null);
    setStarted(null);
    const params = purgeParameters({ ...form, dryRun });
    if (typeof params === 'string') return setError(params);
    setBusy(true);
    try {
      const { id } = await write('POST', '/system/purgeaudit/schedule', { schedule: { type: 'Manual' }, parameters: params });
      setStarted(`${dryRun ? 'A dry run' : 'The purge'} started${id ? ` (job ${id})` : ''}.`);
      setRefresh((r) => r + 1);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Paper variant="outlined" sx={{ p: 2, mb: 3 }} component="section" aria-label="Audit log purge">
        <Typography sx={{ mb: 1 }}>Delete audit log entries older than the time kept, of the chosen event types: now, or on a schedule.</Typography>
        <ErrorAlert error={error ?? schedule.error} />
        <PurgeForm value={form} onChange={setEdited} />
        <Box sx={{ display: 'flex', gap: 1, alignItems: 'center', my: 2 }}>
          <Button variant="contained" disabled={busy} onClick={() => run(false)}>
            Purge Now
          </Button>
          <Button variant="outlined" disabled={busy} onClick={() => run(true)}>
            Dry Run
          </Button>
          {started ? <Typography role="status">{started}</Typography> : null}
        </Box>
        {schedule.data !== undefined ? (
          <ScheduleEditor
            label="Purge schedule"
            value={scheduleOf(schedule.data)}
            onSave={async (v) => {
              const params = purgeParameters({ ...form, dryRun: false });
              if (typeof params === 'string') throw new Error(params);
              await write('PUT', '/system/purgeaudit/schedule', scheduleBody(v, params));
              schedule.reload();
            }}
          />
        ) : null}
      </Paper>
      <History key={refresh} base="/system/purgeaudit" label="Purge History" />
    </>
  );
}

export function ClearingJobPage() {
  return (
    <>
      <PageTitle>Clean Up</PageTitle>
      <LinkTabs
        base="/clearing-job"
        label="Clean up"
        tabs={[
          { path: 'gc', label: 'Garbage Collection' },
          { path: 'audit-log-purge', label: 'Log Rotation' },
        ]}
      />
      <Routes>
        <Route path="gc" element={<Gc />} />
        <Route path="audit-log-purge" element={<AuditLogPurge />} />
        <Route path="*" element={<Navigate to="gc" replace />} />
      </Routes>
    </>
  );
}
