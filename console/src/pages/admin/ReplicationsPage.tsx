/**
 * /harbor/replications and /harbor/replications/:id/tasks: replication rules
 * (`/replication/policies`) with "New Replication Rule", edit, delete and "Replicate"; below them
 * the executions (`/replication/executions`, optionally of one rule) with status, counts and a
 * progress bar, polled while any runs, and "Stop"; an execution's tasks with their logs.
 */
import { useEffect, useMemo, useState } from 'react';
import { Link as RouterLink, Route, Routes, useParams } from 'react-router';
import { Box, Button, Checkbox, Divider, FormControlLabel, LinearProgress, Link, Paper, TextField, Typography } from '@mui/material';
import { ConfirmDialog, ErrorAlert, Loading, PagedTable, PageTitle } from '../../components/common.tsx';
import { get, getText, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { destinationName, emptyPolicyForm, executionPercent, flatteningLevels, formToPolicy, isRunning, policyToForm, qValue, type PolicyForm, type Registry, type ReplicationPolicy } from './lib.ts';
import { FormDialog, LogDialog, SelectField, StatusChip, messageOf, usePoll } from './ui.tsx';

interface Execution {
  id: number;
  policy_id: number;
  status: string;
  status_text?: string;
  trigger: string;
  start_time: string;
  end_time?: string | null;
  total: number;
  failed: number;
  succeed: number;
  in_progress: number;
  stopped: number;
}

interface Task {
  id: number;
  execution_id: number;
  status: string;
  job_id: string;
  operation: string;
  resource_type: string;
  src_resource: string;
  dst_resource: string;
  start_time: string;
  end_time?: string | null;
}

interface RegistryInfo {
  supported_resource_filters?: { type: string; style?: string; values?: string[] }[];
  supported_triggers?: string[];
  supported_copy_by_chunk?: boolean;
}

const registryName = (r: Registry | null | undefined) => (r && r.id ? r.name : 'Local');

function duration(start: string, end: string | null | undefined): string {
  if (!start || !end || end.startsWith('0001')) return '';
  const ms = new Date(end).getTime() - new Date(start).getTime();
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  return <FormControlLabel control={<Checkbox checked={checked} onChange={(e) => onChange(e.target.checked)} />} label={label} />;
}

function PolicyDialog({ open, editing, onClose, onDone }: { open: boolean; editing: ReplicationPolicy | null; onClose: () => void; onDone: () => void }) {
  const [f, setF] = useState<PolicyForm>(emptyPolicyForm);
  const [opened, setOpened] = useState<number | 'new' | null>(null);
  const key = open ? (editing?.id ?? 'new') : null;
  if (key !== opened) {
    setOpened(key);
    setF(editing ? policyToForm(editing) : emptyPolicyForm());
  }
  const registries = useApi((signal) => (open ? get<Registry[]>('/registries?page_size=100&sort=name', { signal }) : Promise.resolve([] as Registry[])), [open]);
  // Labels and triggers: the source side's info (this Wharf when pushing, the endpoint when pulling).
  const infoId = f.mode === 'push' ? '0' : f.registryId;
  const info = useApi((signal) => (open && infoId !== '' ? get<RegistryInfo>(`/registries/${infoId}/info`, { signal }) : Promise.resolve(null)), [open, infoId]);
  const set = <K extends keyof PolicyForm>(k: K, v: PolicyForm[K]) => setF((old) => ({ ...old, [k]: v }));
  const text = (k: keyof PolicyForm) => (e: { target: { value: string } }) => set(k, e.target.value as never);
  const labelValues = info.data?.supported_resource_filters?.find((x) => x.type === 'label')?.values ?? [];
  const triggers: [PolicyForm['trigger'], string][] = [
    ['manual', 'Manual'],
    ['scheduled', 'Scheduled'],
  ];
  if (f.mode === 'push') triggers.push(['event_based', 'Event Based']);
  const preview = f.destNamespace.trim() ? destinationName('project/a/repo', f.destNamespace, Number(f.flattening)) : null;
  return (
    <FormDialog
      open={open}
      maxWidth="md"
      title={editing ? 'Edit Replication Rule' : 'New Replication Rule'}
      submitLabel="Save"
      onClose={onClose}
      onSubmit={async () => {
        const body = formToPolicy(f);
        if (typeof body === 'string') throw new Error(body);
        if (editing) await write('PUT', `/replication/policies/${editing.id}`, body);
        else await write('POST', '/replication/policies', body);
        onDone();
      }}
    >
      <ErrorAlert error={registries.error} />
      <TextField size="small" label="Name" required value={f.name} onChange={text('name')} autoFocus />
      <TextField size="small" label="Description" value={f.description} onChange={text('description')} multiline minRows={1} />
      <SelectField
        size="small"
        label="Replication mode"
        value={f.mode}
        onChange={(v) => setF((old) => ({ ...old, mode: v as PolicyForm['mode'], trigger: v === 'pull' && old.trigger === 'event_based' ? 'manual' : old.trigger }))}
        options={[
          ['push', 'Push-based (this Wharf to the endpoint)'],
          ['pull', 'Pull-based (the endpoint to this Wharf)'],
        ]}
      />
      <SelectField
        size="small"
        label={f.mode === 'push' ? 'Destination registry' : 'Source registry'}
        value={f.registryId}
        onChange={(v) => set('registryId', v)}
        options={[['', '— choose an endpoint —'], ...(registries.data ?? []).map((r) => [String(r.id), `${r.name} (${r.url})`] as [string, string])]}
      />
      <Typography variant="subtitle2" component="h3">
        Source resource filter
      </Typography>
      <TextField size="small" label="Name filter" value={f.nameFilter} onChange={text('nameFilter')} helperText="A glob on the repository's full name: library/**, team/{a,b}" />
      <Box sx={{ display: 'flex', gap: 2 }}>
        <TextField size="small" label="Tag filter" value={f.tagFilter} onChange={text('tagFilter')} sx={{ flexGrow: 1 }} helperText="A glob: v*, {1.0,latest}" />
        <SelectField size="small" label="Tag decoration" value={f.tagDecoration} onChange={(v) => set('tagDecoration', v as PolicyForm['tagDecoration'])} options={[['matches', 'matching'], ['excludes', 'excluding']]} sx={{ minWidth: 140 }} />
      </Box>
      <Box sx={{ display: 'flex', gap: 2 }}>
        <TextField size="small" label="Label filter" value={f.labelFilter} onChange={text('labelFilter')} sx={{ flexGrow: 1 }} helperText={labelValues.length ? `Label names, comma-separated. Known: ${labelValues.join(', ')}` : 'Label names, comma-separated'} />
        <SelectField size="small" label="Label decoration" value={f.labelDecoration} onChange={(v) => set('labelDecoration', v as PolicyForm['labelDecoration'])} options={[['matches', 'matching'], ['excludes', 'excluding']]} sx={{ minWidth: 140 }} />
      </Box>
      <SelectField size="small" label="Resource" value={f.resource} onChange={(v) => set('resource', v as PolicyForm['resource'])} options={[['', 'All'], ['image', 'image'], ['artifact', 'artifact']]} />
      <Typography variant="subtitle2" component="h3">
        Destination
      </Typography>
      <Box sx={{ display: 'flex', gap: 2 }}>
        <TextField size="small" label="Destination namespace" value={f.destNamespace} onChange={text('destNamespace')} sx={{ flexGrow: 1 }} helperText={preview ? `project/a/repo lands at ${preview}` : preview === null && f.destNamespace.trim() ? 'project/a/repo has too few levels for this flattening' : 'Empty: keep the source path'} />
        <SelectField size="small" label="Flattening" value={f.flattening} onChange={(v) => set('flattening', v)} options={flatteningLevels.map((l) => [l.value, l.label] as [string, string])} sx={{ minWidth: 180 }} />
      </Box>
      <Typography variant="subtitle2" component="h3">
        Trigger
      </Typography>
      <Box sx={{ display: 'flex', gap: 2 }}>
        <SelectField size="small" label="Trigger mode" value={f.trigger} onChange={(v) => set('trigger', v as PolicyForm['trigger'])} options={triggers} sx={{ minWidth: 160 }} />
        {f.trigger === 'scheduled' ? <TextField size="small" label="Cron (UTC, seconds first)" value={f.cron} onChange={text('cron')} placeholder="0 0 2 * * *" sx={{ flexGrow: 1 }} /> : null}
      </Box>
      {f.trigger === 'event_based' ? <Check label="Delete remote resources when locally deleted" checked={f.deletion} onChange={(v) => set('deletion', v)} /> : null}
      <Box sx={{ display: 'flex', flexWrap: 'wrap', columnGap: 2 }}>
        <Check label="Override" checked={f.override} onChange={(v) => set('override', v)} />
        <Check label="Enable rule" checked={f.enabled} onChange={(v) => set('enabled', v)} />
        <Check label="Copy by chunk" checked={f.copyByChunk} onChange={(v) => set('copyByChunk', v)} />
        {f.trigger !== 'event_based' ? <Check label="Single active replication" checked={f.singleActive} onChange={(v) => set('singleActive', v)} /> : null}
      </Box>
      <TextField size="small" label="Bandwidth (KB/s per task)" value={f.speed} onChange={text('speed')} helperText="Empty or 0: unlimited" inputMode="numeric" />
      <Typography variant="subtitle2" component="h3">
        Webhook events (Wharf)
      </Typography>
      <Box sx={{ display: 'flex', gap: 2 }}>
        <SelectField size="small" label="Event mode" value={f.eventMode} onChange={(v) => set('eventMode', v as PolicyForm['eventMode'])} options={[['per_task', 'One event per task (Harbor)'], ['summary', 'One summary per execution']]} sx={{ flexGrow: 1 }} />
        <SelectField size="small" label="Event status filter" value={f.eventStatusFilter} onChange={(v) => set('eventStatusFilter', v as PolicyForm['eventStatusFilter'])} options={[['all', 'All'], ['failures', 'Failures only']]} sx={{ minWidth: 160 }} />
      </Box>
    </FormDialog>
  );
}

function ExecutionProgress({ e }: { e: Execution }) {
  const pct = executionPercent(e);
  return (
    <Box sx={{ minWidth: 160 }}>
      {isRunning(e.status) ? <LinearProgress variant={e.total > 0 ? 'determinate' : 'indeterminate'} value={pct} aria-label={`Execution ${e.id} progress`} sx={{ mb: 0.5 }} /> : null}
      <Typography variant="caption">
        {e.succeed}/{e.total} succeeded{e.failed ? `, ${e.failed} failed` : ''}
        {e.stopped ? `, ${e.stopped} stopped` : ''}
        {e.in_progress ? `, ${e.in_progress} running` : ''}
      </Typography>
    </Box>
  );
}

function Executions({ policy }: { policy: ReplicationPolicy | null }) {
  const [status, setStatus] = useState('');
  const list = usePaged<Execution>('/replication/executions', { policy_id: policy ? String(policy.id) : undefined, status: status || undefined, sort: '-id' });
  const [error, setError] = useState<string | null>(null);
  const anyRunning = (list.data?.items ?? []).some((e) => isRunning(e.status));
  usePoll(anyRunning, list.reload, 1500);
  return (
    <Box component="section" aria-label="Executions" sx={{ mt: 4 }}>
      <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Executions{policy ? ` of ${policy.name}` : ''}
        </Typography>
        <SelectField size="small" label="Status" value={status} onChange={setStatus} options={[['', 'All'], ['InProgress', 'In progress'], ['Succeed', 'Succeeded'], ['Failed', 'Failed'], ['Stopped', 'Stopped']]} sx={{ minWidth: 140 }} />
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      <ErrorAlert error={error} />
      <PagedTable
        label="Replication executions"
        list={list}
        rowKey={(e) => e.id}
        empty="No executions."
        columns={[
          {
            label: 'ID',
            render: (e) => (
              <Link component={RouterLink} to={`/replications/${e.id}/tasks`} aria-label={`Execution ${e.id}`}>
                {e.id}
              </Link>
            ),
          },
          { label: 'Status', render: (e) => <StatusChip status={e.status} /> },
          { label: 'Status Text', render: (e) => e.status_text ?? '' },
          { label: 'Trigger', render: (e) => e.trigger },
          { label: 'Start Time', render: (e) => formatTime(e.start_time) },
          { label: 'Duration', render: (e) => duration(e.start_time, e.end_time) },
          { label: 'Progress', render: (e) => <ExecutionProgress e={e} /> },
          {
            label: 'Actions',
            render: (e) =>
              isRunning(e.status) ? (
                <Button
                  size="small"
                  color="warning"
                  aria-label={`Stop execution ${e.id}`}
                  onClick={async () => {
                    setError(null);
                    try {
                      await write('PUT', `/replication/executions/${e.id}`);
                      list.reload();
                    } catch (err) {
                      setError(messageOf(err));
                    }
                  }}
                >
                  Stop
                </Button>
              ) : null,
          },
        ]}
      />
    </Box>
  );
}

function PoliciesAndExecutions() {
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const list = usePaged<ReplicationPolicy>('/replication/policies', { q });
  const [dialog, setDialog] = useState<{ editing: ReplicationPolicy | null } | null>(null);
  const [deleting, setDeleting] = useState<ReplicationPolicy | null>(null);
  const [replicating, setReplicating] = useState<ReplicationPolicy | null>(null);
  const [selected, setSelected] = useState<ReplicationPolicy | null>(null);
  const [execKey, setExecKey] = useState(0);
  return (
    <>
      <PageTitle
        actions={
          <Button variant="contained" onClick={() => setDialog({ editing: null })}>
            New Replication Rule
          </Button>
        }
      >
        Replications
      </PageTitle>
      <Box
        component="form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(search.trim() ? `name=~${qValue(search.trim())}` : '');
        }}
        sx={{ display: 'flex', gap: 1, mb: 2 }}
      >
        <TextField size="small" label="Search rules" value={search} onChange={(e) => setSearch(e.target.value)} />
        <Button type="submit">Search</Button>
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      <PagedTable
        label="Replication rules"
        list={list}
        rowKey={(p) => p.id}
        empty="No replication rules yet."
        columns={[
          {
            label: 'Name',
            render: (p) => (
              <Box>
                <Link component="button" type="button" onClick={() => setSelected(selected?.id === p.id ? null : p)} aria-pressed={selected?.id === p.id} sx={{ fontWeight: selected?.id === p.id ? 700 : undefined, textAlign: 'left', whiteSpace: 'nowrap' }}>
                  {p.name}
                </Link>
                {p.description ? (
                  <Typography variant="caption" component="div" color="text.secondary">
                    {p.description}
                  </Typography>
                ) : null}
              </Box>
            ),
          },
          { label: 'Status', render: (p) => (p.enabled ? 'Enabled' : 'Disabled') },
          { label: 'Source Registry', render: (p) => registryName(p.src_registry) },
          { label: 'Mode', render: (p) => (p.src_registry && p.src_registry.id ? 'pull' : 'push') },
          { label: 'Destination Registry', render: (p) => registryName(p.dest_registry) },
          { label: 'Namespace', render: (p) => p.dest_namespace ?? '' },
          { label: 'Trigger', render: (p) => (p.trigger?.type === 'scheduled' ? `scheduled (${p.trigger.trigger_settings?.cron ?? ''})` : (p.trigger?.type ?? 'manual')) },
          {
            label: 'Actions',
            render: (p) => (
              <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
                <Button size="small" variant="outlined" onClick={() => setReplicating(p)} aria-label={`Replicate ${p.name}`}>
                  Replicate
                </Button>
                <Button
                  size="small"
                  aria-label={`Edit ${p.name}`}
                  onClick={async () => {
                    // The list's policy is complete, but fetch it so the form edits what is stored now.
                    try {
                      setDialog({ editing: await get<ReplicationPolicy>(`/replication/policies/${p.id}`) });
                    } catch {
                      setDialog({ editing: p });
                    }
                  }}
                >
                  Edit
                </Button>
                <Button size="small" color="error" onClick={() => setDeleting(p)} aria-label={`Delete ${p.name}`}>
                  Delete
                </Button>
              </Box>
            ),
          },
        ]}
      />
      <Executions key={execKey} policy={selected} />
      <PolicyDialog open={!!dialog} editing={dialog?.editing ?? null} onClose={() => setDialog(null)} onDone={list.reload} />
      <ConfirmDialog
        open={!!replicating}
        title="Replicate"
        confirmLabel="Replicate"
        text={`Start a replication of ${replicating?.name ?? ''} now?`}
        onClose={() => setReplicating(null)}
        onConfirm={async () => {
          await write('POST', '/replication/executions', { policy_id: replicating!.id });
          setSelected(replicating);
          setExecKey((k) => k + 1);
        }}
      />
      <ConfirmDialog
        open={!!deleting}
        title="Delete replication rule"
        text={`Delete the rule ${deleting?.name ?? ''}? Its executions and their logs go too.`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await write('DELETE', `/replication/policies/${deleting!.id}`);
          if (selected?.id === deleting!.id) setSelected(null);
          list.reload();
        }}
      />
    </>
  );
}

function ExecutionTasks() {
  const { id = '' } = useParams();
  const execution = useApi((signal) => get<Execution>(`/replication/executions/${encodeURIComponent(id)}`, { signal }), [id]);
  const [status, setStatus] = useState('');
  const tasks = usePaged<Task>(`/replication/executions/${encodeURIComponent(id)}/tasks`, { status: status || undefined });
  const running = isRunning(execution.data?.status);
  usePoll(running, () => {
    execution.reload();
    tasks.reload();
  }, 1500);
  // Once the execution ends, read the tasks once more so their final states show.
  const [wasRunning, setWasRunning] = useState(false);
  useEffect(() => {
    if (running) setWasRunning(true);
    else if (wasRunning) {
      setWasRunning(false);
      tasks.reload();
    }
  }, [running]); // eslint-disable-line react-hooks/exhaustive-deps
  const [log, setLog] = useState<Task | null>(null);
  const loadLog = useMemo(() => (log ? () => getText(`/replication/executions/${encodeURIComponent(id)}/tasks/${log.id}/log`) : null), [log, id]);
  const [error, setError] = useState<string | null>(null);
  const e = execution.data;
  return (
    <>
      <PageTitle
        actions={
          <Button component={RouterLink} to="/replications">
            Back to replications
          </Button>
        }
      >
        Execution {id}
      </PageTitle>
      <ErrorAlert error={execution.error ?? error} />
      {!e && execution.loading ? <Loading /> : null}
      {e ? (
        <Paper variant="outlined" sx={{ p: 2, mb: 2, display: 'flex', gap: 4, flexWrap: 'wrap', alignItems: 'center' }} aria-label="Execution summary" component="section">
          <Box>
            <Typography variant="caption" component="div">
              Status
            </Typography>
            <StatusChip status={e.status} />
          </Box>
          <Box>
            <Typography variant="caption" component="div">
              Trigger
            </Typography>
            {e.trigger}
          </Box>
          <Box>
            <Typography variant="caption" component="div">
              Started
            </Typography>
            {formatTime(e.start_time)}
          </Box>
          <Box>
            <Typography variant="caption" component="div">
              Duration
            </Typography>
            {duration(e.start_time, e.end_time)}
          </Box>
          <ExecutionProgress e={e} />
          {e.status_text ? <Typography>{e.status_text}</Typography> : null}
          {running ? (
            <Button
              color="warning"
              variant="outlined"
              onClick={async () => {
                setError(null);
                try {
                  await write('PUT', `/replication/executions/${e.id}`);
                  execution.reload();
                } catch (err) {
                  setError(messageOf(err));
                }
              }}
            >
              Stop
            </Button>
          ) : null}
        </Paper>
      ) : null}
      <Divider sx={{ mb: 2 }} />
      <Box sx={{ display: 'flex', gap: 2, mb: 1, alignItems: 'center' }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Tasks
        </Typography>
        <SelectField size="small" label="Task status" value={status} onChange={setStatus} options={[['', 'All'], ['Pending', 'Pending'], ['InProgress', 'In progress'], ['Succeed', 'Succeeded'], ['Failed', 'Failed'], ['Stopped', 'Stopped']]} sx={{ minWidth: 140 }} />
      </Box>
      <PagedTable
        label="Replication tasks"
        list={tasks}
        rowKey={(t) => t.id}
        empty="No tasks."
        columns={[
          { label: 'ID', render: (t) => t.id },
          { label: 'Resource Type', render: (t) => t.resource_type },
          { label: 'Source', render: (t) => t.src_resource },
          { label: 'Destination', render: (t) => t.dst_resource },
          { label: 'Operation', render: (t) => t.operation },
          { label: 'Status', render: (t) => <StatusChip status={t.status} /> },
          { label: 'Start Time', render: (t) => formatTime(t.start_time) },
          { label: 'Duration', render: (t) => duration(t.start_time, t.end_time) },
          {
            label: 'Logs',
            render: (t) => (
              <Button size="small" onClick={() => setLog(t)} aria-label={`Log of task ${t.id}`}>
                Logs
              </Button>
            ),
          },
        ]}
      />
      <LogDialog title={log ? `Log of task ${log.id}` : ''} load={loadLog} live={!!log && isRunning(log.status)} onClose={() => setLog(null)} />
    </>
  );
}

export function ReplicationsPage() {
  return (
    <Routes>
      <Route index element={<PoliciesAndExecutions />} />
      <Route path=":id/tasks" element={<ExecutionTasks />} />
    </Routes>
  );
}
