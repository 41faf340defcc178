/**
 * /harbor/job-service-dashboard/{pending-jobs,schedules,workers}: the job queues per type
 * (`/jobservice/queues`: pending count, latency, paused; pause, resume, stop, for one type or
 * all), the schedules (`/schedules`, and whether they are paused), and the worker pools with
 * their task slots (`/jobservice/pools`, `…/workers`: stop a running job, read its log).
 */
import { useMemo, useState } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { Box, Button, Chip, Typography } from '@mui/material';
import { ConfirmDialog, ErrorAlert, PagedTable, PageTitle } from '../../components/common.tsx';
import { get, getText, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { LinkTabs, LogDialog, PlainTable, SelectField, messageOf, usePoll } from './ui.tsx';

interface Queue {
  job_type: string;
  count: number;
  latency: number;
  paused: boolean;
}

type Action = 'pause' | 'resume' | 'stop';

function PendingJobs() {
  const queues = useApi((signal) => get<Queue[]>('/jobservice/queues', { signal }), []);
  usePoll(true, queues.reload, 5000);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<{ type: string; action: Action } | null>(null);
  const act = async (type: string, action: Action) => {
    setError(null);
    try {
      await write('PUT', `/jobservice/queues/${encodeURIComponent(type)}`, { action });
      queues.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <>
      <Box sx={{ display: 'flex', gap: 1, mb: 2 }}>
        <Button variant="outlined" onClick={() => act('all', 'pause')}>
          Pause all
        </Button>
        <Button variant="outlined" onClick={() => act('all', 'resume')}>
          Resume all
        </Button>
        <Button variant="outlined" color="error" onClick={() => setConfirm({ type: 'all', action: 'stop' })}>
          Stop all
        </Button>
        <Button onClick={queues.reload}>Refresh</Button>
      </Box>
      <ErrorAlert error={error} />
      <PlainTable
        label="Job queues"
        rows={queues.data}
        loading={queues.loading}
        error={queues.error}
        rowKey={(q) => q.job_type}
        columns={[
          { label: 'Job Type', render: (q) => q.job_type },
          { label: 'Pending Count', render: (q) => q.count },
          { label: 'Latency', render: (q) => (q.latency ? `${q.latency}s` : '0') },
          { label: 'Paused', render: (q) => (q.paused ? <Chip size="small" color="warning" variant="outlined" label="Paused" /> : 'No') },
          {
            label: 'Actions',
            render: (q) => (
              <Box sx={{ display: 'flex', gap: 0.5 }}>
                {q.paused ? (
                  <Button size="small" onClick={() => act(q.job_type, 'resume')} aria-label={`Resume ${q.job_type}`}>
                    Resume
                  </Button>
                ) : (
                  <Button size="small" onClick={() => act(q.job_type, 'pause')} aria-label={`Pause ${q.job_type}`}>
                    Pause
                  </Button>
                )}
                <Button size="small" color="error" onClick={() => setConfirm({ type: q.job_type, action: 'stop' })} aria-label={`Stop ${q.job_type}`}>
                  Stop
                </Button>
              </Box>
            ),
          },
        ]}
      />
      <ConfirmDialog
        open={!!confirm}
        title="Stop jobs"
        confirmLabel="Stop"
        text={confirm?.type === 'all' ? 'Stop every pending and running job of every type?' : `Stop every pending and running ${confirm?.type ?? ''} job?`}
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await write('PUT', `/jobservice/queues/${encodeURIComponent(confirm!.type)}`, { action: confirm!.action });
          queues.reload();
        }}
      />
    </>
  );
}

interface Schedule {
  id: number;
  vendor_type: string;
  vendor_id: number;
  cron: string;
  update_time: string;
}

function Schedules() {
  const list = usePaged<Schedule>('/schedules');
  const paused = useApi((signal) => get<{ paused: boolean }>('/schedules/all/paused', { signal }), []);
  const [error, setError] = useState<string | null>(null);
  const toggle = async () => {
    setError(null);
    try {
      await write('PUT', '/jobservice/queues/all', { action: paused.data?.paused ? 'resume' : 'pause' });
      paused.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <>
      <Box sx={{ display: 'flex', gap: 2, mb: 2, alignItems: 'center' }}>
        <Typography role="status">{paused.data ? (paused.data.paused ? 'Schedules are paused.' : 'Schedules are running.') : ''}</Typography>
        <Button variant="outlined" onClick={toggle} disabled={!paused.data}>
          {paused.data?.paused ? 'Resume all schedules' : 'Pause all schedules'}
        </Button>
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      <ErrorAlert error={error ?? paused.error} />
      <PagedTable
        label="Schedules"
        list={list}
        rowKey={(s) => s.id}
        empty="No schedules."
        columns={[
          { label: 'ID', render: (s) => s.id },
          { label: 'Vendor Type', render: (s) => s.vendor_type },
          { label: 'Vendor ID', render: (s) => s.vendor_id },
          { label: 'Cron', render: (s) => <code>{s.cron}</code> },
          { label: 'Update Time', render: (s) => formatTime(s.update_time) },
        ]}
      />
    </>
  );
}

interface Pool {
  pid: number;
  worker_pool_id: string;
  start_at: string;
  heartbeat_at: string;
  concurrency: number;
  host: string;
}

interface Worker {
  id: string;
  pool_id: string;
  job_name: string;
  job_id: string;
  start_at: string | null;
  checkin_at: string | null;
  check_in: string;
}

function Workers() {
  const pools = useApi((signal) => get<Pool[]>('/jobservice/pools', { signal }), []);
  const [pool, setPool] = useState('all');
  const workers = useApi((signal) => get<Worker[]>(`/jobservice/pools/${encodeURIComponent(pool)}/workers`, { signal }), [pool]);
  usePoll(true, workers.reload, 5000);
  const [busyOnly, setBusyOnly] = useState(false);
  const [log, setLog] = useState<Worker | null>(null);
  const loadLog = useMemo(() => (log ? () => getText(`/jobservice/jobs/${encodeURIComponent(log.job_id)}/log`) : null), [log]);
  const [error, setError] = useState<string | null>(null);
  const rows = (workers.data ?? []).filter((w) => !busyOnly || w.job_id);
  return (
    <>
      <Typography variant="h6" component="h2" sx={{ mb: 1 }}>
        Worker Pools
      </Typography>
      <PlainTable
        label="Worker pools"
        rows={pools.data}
        loading={pools.loading}
        error={pools.error}
        rowKey={(p) => p.worker_pool_id}
        columns={[
          { label: 'Pool ID', render: (p) => p.worker_pool_id },
          { label: 'PID', render: (p) => p.pid },
          { label: 'Host', render: (p) => p.host },
          { label: 'Concurrency', render: (p) => p.concurrency },
          { label: 'Start Time', render: (p) => formatTime(p.start_at) },
          { label: 'Heartbeat', render: (p) => formatTime(p.heartbeat_at) },
        ]}
      />
      <Box sx={{ display: 'flex', gap: 2, my: 2, alignItems: 'center' }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Workers
        </Typography>
        <SelectField size="small" label="Pool" value={pool} onChange={setPool} options={[['all', 'All pools'], ...(pools.data ?? []).map((p) => [p.worker_pool_id, p.worker_pool_id] as [string, string])]} sx={{ minWidth: 220 }} />
        <SelectField size="small" label="Show" value={busyOnly ? 'busy' : 'all'} onChange={(v) => setBusyOnly(v === 'busy')} options={[['all', 'All workers'], ['busy', 'Busy workers']]} sx={{ minWidth: 150 }} />
        <Button onClick={workers.reload}>Refresh</Button>
      </Box>
      <ErrorAlert error={error} />
      <PlainTable
        label="Workers"
        rows={rows}
        loading={workers.loading}
        error={workers.error}
        rowKey={(w) => w.id}
        empty="No workers."
        columns={[
          { label: 'Worker ID', render: (w) => w.id },
          { label: 'Job Name', render: (w) => w.job_name || 'idle' },
          { label: 'Job ID', render: (w) => w.job_id },
          { label: 'Start Time', render: (w) => formatTime(w.start_at) },
          { label: 'Check-in', render: (w) => [w.check_in, formatTime(w.checkin_at)].filter(Boolean).join(' · ') },
          {
            label: 'Actions',
            render: (w) =>
              w.job_id ? (
                <Box sx={{ display: 'flex', gap: 0.5 }}>
                  <Button size="small" onClick={() => setLog(w)} aria-label={`Log of job ${w.job_id}`}>
                    Logs
                  </Button>
                  <Button
                    size="small"
                    color="error"
                    aria-label={`Stop job ${w.job_id}`}
                    onClick={async () => {
                      setError(null);
                      try {
                        await write('PUT', `/jobservice/jobs/${encodeURIComponent(w.job_id)}`, { action: 'stop' });
                        workers.reload();
                      } catch (e) {
                        setError(messageOf(e));
                      }
                    }}
                  >
                    Stop
                  </Button>
                </Box>
              ) : null,
          },
        ]}
      />
      <LogDialog title={log ? `Log of job ${log.job_id}` : ''} load={loadLog} live onClose={() => setLog(null)} />
    </>
  );
}

export function JobServicePage() {
  return (
    <>
      <PageTitle>Job Service Dashboard</PageTitle>
      <LinkTabs
        base="/job-service-dashboard"
        label="Job service dashboard"
        tabs={[
          { path: 'pending-jobs', label: 'Pending Jobs' },
          { path: 'schedules', label: 'Schedules' },
          { path: 'workers', label: 'Workers' },
        ]}
      />
      <Routes>
        <Route path="pending-jobs" element={<PendingJobs />} />
        <Route path="schedules" element={<Schedules />} />
        <Route path="workers" element={<Workers />} />
        <Route path="*" element={<Navigate to="pending-jobs" replace />} />
      </Routes>
    </>
  );
}
