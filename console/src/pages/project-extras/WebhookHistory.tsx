/**
 * A webhook policy's delivery history: its executions (Harbor's URL webhook/:policyId/executions)
 * with status, event and trigger, a "Redeliver" button (Wharf's …/executions/{eid}/redeliver),
 * and an execution's tasks (webhook/:policyId/executions/:executionId/tasks) with what Wharf's
 * task log tells: the request sent (URL, headers, body) and the response status, headers and body
 * of every attempt, plus the raw log. Lists refresh while a delivery is still going.
 */
import { useEffect, useState } from 'react';
import { Link as RouterLink, useNavigate, useParams } from 'react-router';
import { Alert, Box, Breadcrumbs, Button, Card, CardContent, FormControl, InputLabel, Link, MenuItem, Select, Stack, Typography } from '@mui/material';
import { ErrorAlert, Loading, PageTitle, PagedTable, type Column } from '../../components/common.tsx';
import { get, getText, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import type { ProjectTabProps } from './types.ts';
import { LogDialog, Pre, StatusChip, useAction } from './parts.tsx';
import { duration } from './rules.ts';
import { eventLabel, parseDeliveryLog, type WebhookPolicy } from './webhook-form.ts';

interface Execution {
  id: number;
  vendor_id: number;
  status: string;
  status_message?: string;
  trigger: string;
  extra_attrs?: { event_type?: string; payload?: string; event_id?: string; target_id?: number };
  start_time: string;
  end_time: string;
}

interface Task {
  id: number;
  execution_id: number;
  status: string;
  status_message?: string;
  run_count?: number;
  creation_time?: string;
  start_time: string;
  update_time?: string;
  end_time: string;
}

const unfinished = (s: string) => s === 'Pending' || s === 'Running' || s === 'Scheduled';

/** Reloads `reload` every 2 s while `active`. */
function usePolling(active: boolean, reload: () => void) {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(reload, 2000);
    return () => clearInterval(t);
  }, [active, reload]);
}

function HistoryCrumbs({ projectId, policy, execution }: { projectId: number; policy?: WebhookPolicy; execution?: string }) {
  return (
    <Breadcrumbs aria-label="breadcrumb" sx={{ mb: 1 }}>
      <Link component={RouterLink} to={`/projects/${projectId}/webhook`}>
        Webhooks
      </Link>
      {policy ? (
        <Link component={RouterLink} to={`/projects/${projectId}/webhook/${policy.id}/executions`}>
          {policy.name}
        </Link>
      ) : null}
      {execution ? <Typography color="text.primary">Execution {execution}</Typography> : null}
    </Breadcrumbs>
  );
}

export function WebhookExecutions({ projectId }: ProjectTabProps) {
  const { policyId = '' } = useParams();
  const base = `/projects/${projectId}/webhook/policies/${policyId}`;
  const policy = useApi((signal) => get<WebhookPolicy>(base, { signal }), [base]);
  const [status, setStatus] = useState('');
  const list = usePaged<Execution>(`${base}/executions`, { sort: '-id', q: status ? `status=${status}` : undefined });
  const redeliver = useAction();
  const [redelivered, setRedelivered] = useState<number | null>(null);
  const navigate = useNavigate();
  usePolling((list.data?.items ?? []).some((e) => unfinished(e.status)), list.reload);

  const columns: Column<Execution>[] = [
    {
      label: 'ID',
      render: (e) => (
        <Link component={RouterLink} to={`/projects/${projectId}/webhook/${policyId}/executions/${e.id}/tasks`} aria-label={`Tasks of execution ${e.id}`}>
          {e.id}
        </Link>
      ),
    },
    { label: 'Event Type', render: (e) => (e.extra_attrs?.event_type ? eventLabel(e.extra_attrs.event_type) : '') },
    { label: 'Status', render: (e) => <StatusChip status={e.status} /> },
    { label: 'Trigger', render: (e) => (e.trigger === 'MANUAL' ? 'Manual (redelivery)' : 'Event') },
    { label: 'Start Time', render: (e) => formatTime(e.start_time) },
    { label: 'Duration', render: (e) => duration(e.start_time, e.end_time) },
    { label: 'Message', render: (e) => e.status_message ?? '' },
    {
      label: 'Actions',
      render: (e) => (
        <Stack direction="row" spacing={0.5}>
          <Button size="small" onClick={() => navigate(`/projects/${projectId}/webhook/${policyId}/executions/${e.id}/tasks`)} aria-label={`View tasks of execution ${e.id}`}>
            Tasks
          </Button>
          <Button
            size="small"
            disabled={redeliver.busy}
            aria-label={`Redeliver execution ${e.id}`}
            onClick={() =>
              redeliver.run(async () => {
                const r = await write<Execution>('POST', `${base}/executions/${e.id}/redeliver`);
                setRedelivered(r.data?.id ?? null);
                list.reload();
              })
            }
          >
            Redeliver
          </Button>
        </Stack>
      ),
    },
  ];

  return (
    <Box>
      <HistoryCrumbs projectId={projectId} policy={policy.data} />
      <PageTitle actions={<Button onClick={list.reload}>Refresh</Button>}>Executions of {policy.data?.name ?? `webhook ${policyId}`}</PageTitle>
      <ErrorAlert error={policy.error ?? redeliver.error} />
      {redelivered !== null ? (
        <Alert severity="success" role="status" sx={{ mb: 2 }} onClose={() => setRedelivered(null)}>
          Redelivery queued as execution {redelivered}.
        </Alert>
      ) : null}
      <FormControl size="small" sx={{ minWidth: 160, mb: 2 }}>
        <InputLabel id="wh-exec-status" shrink>
          Status
        </InputLabel>
        <Select labelId="wh-exec-status" label="Status" value={status} displayEmpty notched onChange={(e) => setStatus(e.target.value)}>
          <MenuItem value="">All</MenuItem>
          {['Pending', 'Running', 'Success', 'Error', 'Stopped'].map((st) => (
            <MenuItem key={st} value={st}>
              {st}
            </MenuItem>
          ))}
        </Select>
      </FormControl>
      <PagedTable list={list} columns={columns} rowKey={(e) => e.id} label="Webhook executions" empty={status ? `No ${status} delivery.` : 'No delivery yet.'} />
    </Box>
  );
}

export function WebhookTasks({ projectId }: ProjectTabProps) {
  const { policyId = '', executionId = '' } = useParams();
  const base = `/projects/${projectId}/webhook/policies/${policyId}`;
  const policy = useApi((signal) => get<WebhookPolicy>(base, { signal }), [base]);
  const list = usePaged<Task>(`${base}/executions/${executionId}/tasks`);
  const [logOf, setLogOf] = useState<Task | null>(null);
  const redeliver = useAction();
  const [redelivered, setRedelivered] = useState<number | null>(null);
  const tasks = list.data?.items ?? [];
  usePolling(tasks.some((t) => unfinished(t.status)), list.reload);

  const columns: Column<Task>[] = [
    { label: 'ID', render: (t) => t.id },
    { label: 'Status', render: (t) => <StatusChip status={t.status} /> },
    { label: 'Attempts', render: (t) => t.run_count ?? '' },
    { label: 'Start Time', render: (t) => formatTime(t.start_time) },
    { label: 'End Time', render: (t) => formatTime(t.end_time) },
    { label: 'Message', render: (t) => t.status_message ?? '' },
    {
      label: 'Log',
      render: (t) => (
        <Button size="small" onClick={() => setLogOf(t)} aria-label={`Log of task ${t.id}`}>
          Log
        </Button>
      ),
    },
  ];

  return (
    <Box>
      <HistoryCrumbs projectId={projectId} policy={policy.data} execution={executionId} />
      <PageTitle
        actions={
          <>
            <Button onClick={list.reload}>Refresh</Button>
            <Button
              variant="outlined"
              disabled={redeliver.busy}
              onClick={() =>
                redeliver.run(async () => {
                  const r = await write<Execution>('POST', `${base}/executions/${executionId}/redeliver`);
                  setRedelivered(r.data?.id ?? null);
                })
              }
            >
              Redeliver
            </Button>
          </>
        }
      >
        Tasks of execution {executionId}
      </PageTitle>
      <ErrorAlert error={redeliver.error} />
      {redelivered !== null ? (
        <Alert severity="success" role="status" sx={{ mb: 2 }}>
          Redelivery queued as execution{' '}
          <Link component={RouterLink} to={`/projects/${projectId}/webhook/${policyId}/executions/${redelivered}/tasks`}>
            {redelivered}
          </Link>
          .
        </Alert>
      ) : null}
      <PagedTable list={list} columns={columns} rowKey={(t) => t.id} label="Webhook tasks" empty="No task." />
      {tasks.map((t) => (
        <TaskDetail key={`${t.id}-${t.status}-${t.run_count ?? 0}`} path={`${base}/executions/${executionId}/tasks/${t.id}/log`} taskId={t.id} />
      ))}
      <LogDialog title={`Log of task ${logOf?.id ?? ''}`} path={logOf ? `${base}/executions/${executionId}/tasks/${logOf.id}/log` : null} onClose={() => setLogOf(null)} />
    </Box>
  );
}

/** The attempts of one task, read from its log: request and response side by side. */
function TaskDetail({ path, taskId }: { path: string; taskId: number }) {
  const log = useApi((signal) => getText(path, { signal }), [path]);
  if (log.loading) return <Loading label={`Loading task ${taskId}`} />;
  if (log.error) return <ErrorAlert error={log.error} />;
  const attempts = parseDeliveryLog(log.data ?? '');
  return (
    <Box component="section" aria-label={`Task ${taskId}`} sx={{ mt: 3 }}>
      <Typography variant="h6" component="h2" sx={{ mb: 1 }}>
        Task {taskId}
      </Typography>
      {attempts.length === 0 ? <Typography variant="body2">No attempt yet.</Typography> : null}
      {attempts.map((a) => (
        <Card key={a.attempt} variant="outlined" sx={{ mb: 2 }}>
          <CardContent>
            <Typography variant="subtitle1" component="h3">
              Attempt {a.attempt}: {a.responseStatus !== null ? `response ${a.responseStatus}` : 'no response'}
              {a.durationMs !== null ? ` after ${a.durationMs} ms` : ''}
            </Typography>
            {a.errors.map((e, i) => (
              <Alert key={i} severity="error" sx={{ my: 1 }}>
                {e}
              </Alert>
            ))}
            <Stack direction={{ xs: 'column', md: 'row' }} spacing={2} sx={{ mt: 1 }}>
              <Box sx={{ flex: 1, minWidth: 0 }}>
                <Typography variant="overline">Request</Typography>
                <Typography variant="body2" sx={{ wordBreak: 'break-all' }}>
                  POST {a.url}
                </Typography>
                <Pre label={`Request headers of attempt ${a.attempt}`}>{a.requestHeaders.join('\n')}</Pre>
                <Typography variant="caption">Body</Typography>
                <Pre label={`Request body of attempt ${a.attempt}`}>{a.requestBody}</Pre>
              </Box>
              <Box sx={{ flex: 1, minWidth: 0 }}>
                <Typography variant="overline">Response</Typography>
                <Typography variant="body2" aria-label={`Response status of attempt ${a.attempt}`}>
                  Status: {a.responseStatus ?? 'none'}
                </Typography>
                <Pre label={`Response headers of attempt ${a.attempt}`}>{a.responseHeaders.join('\n')}</Pre>
                <Typography variant="caption">Body</Typography>
                <Pre label={`Response body of attempt ${a.attempt}`}>{a.responseBody}</Pre>
              </Box>
            </Stack>
          </CardContent>
        </Card>
      ))}
    </Box>
  );
}
