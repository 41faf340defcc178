/**
 * A project's webhooks, at Harbor's URL /harbor/projects/:id/webhook (Kargo's guide links it):
 * the policy list (name, enabled, notify type, targets, event types, last trigger) with "New
 * Webhook", edit, enable/disable and delete; below it, relative routes to a policy's executions
 * and an execution's tasks (./WebhookHistory.tsx).
 */
import { useState } from 'react';
import { Link as RouterLink, Route, Routes } from 'react-router';
import { Box, Button, Chip, Link, Stack, Tooltip, Typography } from '@mui/material';
import { ConfirmDialog, ErrorAlert, PageTitle, PagedTable, type Column } from '../../components/common.tsx';
import { get, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import type { ProjectTabProps } from './types.ts';
import { useAction } from './parts.tsx';
import { WebhookDialog } from './WebhookDialog.tsx';
import { WebhookExecutions, WebhookTasks } from './WebhookHistory.tsx';
import { eventLabel, reenabledTarget, toggledPolicy, type SupportedEvents, type WebhookPolicy } from './webhook-form.ts';

interface LastTrigger {
  policy_name: string;
  enabled: boolean;
  event_type: string;
  last_trigger_time: string;
}

export function ProjectWebhooks(props: ProjectTabProps) {
  return (
    <Routes>
      <Route index element={<WebhookList {...props} />} />
      <Route path=":policyId/executions" element={<WebhookExecutions {...props} />} />
      <Route path=":policyId/executions/:executionId/tasks" element={<WebhookTasks {...props} />} />
      <Route path="*" element={<WebhookList {...props} />} />
    </Routes>
  );
}

function WebhookList({ projectId, projectName }: ProjectTabProps) {
  const base = `/projects/${projectId}/webhook`;
  const list = usePaged<WebhookPolicy>(`${base}/policies`, { sort: '-creation_time' });
  const events = useApi((signal) => get<SupportedEvents>(`${base}/events`, { signal }), [base]);
  const last = useApi((signal) => get<LastTrigger[]>(`${base}/lasttrigger`, { signal }), [base, list.data]);
  const [editing, setEditing] = useState<WebhookPolicy | 'new' | null>(null);
  const [deleting, setDeleting] = useState<WebhookPolicy | null>(null);
  const toggle = useAction();

  const lastTrigger = (name: string): string => {
    const times = (last.data ?? []).filter((l) => l.policy_name === name).map((l) => l.last_trigger_time).filter((t) => t && !t.startsWith('0001'));
    times.sort();
    return formatTime(times[times.length - 1]);
  };

  const columns: Column<WebhookPolicy>[] = [
    {
      label: 'Name',
      render: (p) => (
        <>
          <Link component={RouterLink} to={`/projects/${projectId}/webhook/${p.id}/executions`}>
            {p.name}
          </Link>
          {p.description ? (
            <Typography variant="caption" component="div" color="text.secondary">
              {p.description}
            </Typography>
          ) : null}
        </>
      ),
    },
    { label: 'Enabled', render: (p) => <Chip size="small" label={p.enabled ? 'Enabled' : 'Disabled'} color={p.enabled ? 'success' : 'default'} variant="outlined" /> },
    { label: 'Notify Type', render: (p) => p.targets.map((t) => t.type).join(', ') },
    {
      label: 'Target',
      render: (p) =>
        p.targets.map((t, i) => (
          <Box key={i} sx={{ wordBreak: 'break-all', minWidth: 160 }}>
            {t.address}
            {t.enabled === false ? (
              <>
                <Tooltip title={t.disabled_reason ?? 'disabled after failing'}>
                  <Chip size="small" color="warning" label="target disabled" sx={{ ml: 1 }} />
                </Tooltip>
                {t.id !== undefined ? (
                  <Button
                    size="small"
                    disabled={toggle.busy}
                    aria-label={`Enable target ${t.address} again`}
                    onClick={() =>
                      toggle.run(async () => {
                        await write('PUT', `${base}/policies/${p.id}`, reenabledTarget(p, t.id!));
                        list.reload();
                      })
                    }
                  >
                    Enable target
                  </Button>
                ) : null}
              </>
            ) : null}
          </Box>
        )),
    },
    { label: 'Event Types', render: (p) => p.event_types.map(eventLabel).join(', ') },
    { label: 'Last Triggered', render: (p) => lastTrigger(p.name) },
    { label: 'Created', render: (p) => formatTime(p.creation_time) },
    {
      label: 'Actions',
      render: (p) => (
        <Stack direction="row" useFlexGap spacing={0.5} sx={{ flexWrap: 'wrap', maxWidth: 220 }}>
          <Button size="small" component={RouterLink} to={`/projects/${projectId}/webhook/${p.id}/executions`} aria-label={`Executions of ${p.name}`}>
            Executions
          </Button>
          <Button size="small" onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>
            Edit
          </Button>
          <Button
            size="small"
            disabled={toggle.busy}
            aria-label={`${p.enabled ? 'Disable' : 'Enable'} ${p.name}`}
            onClick={() =>
              toggle.run(async () => {
                await write('PUT', `${base}/policies/${p.id}`, toggledPolicy(p, !p.enabled));
                list.reload();
              })
            }
          >
            {p.enabled ? 'Disable' : 'Enable'}
          </Button>
          <Button size="small" color="error" onClick={() => setDeleting(p)} aria-label={`Delete ${p.name}`}>
            Delete
          </Button>
        </Stack>
      ),
    },
  ];

  return (
    <Box>
      <PageTitle
        actions={
          <Button variant="contained" onClick={() => setEditing('new')} disabled={events.loading}>
            New Webhook
          </Button>
        }
      >
        Webhooks of {projectName}
      </PageTitle>
      <ErrorAlert error={events.error ?? toggle.error} />
      <PagedTable list={list} columns={columns} rowKey={(p) => p.id} label="Webhook policies" empty="No webhook yet: press New Webhook." />
      {editing !== null ? (
        <WebhookDialog
          projectId={projectId}
          events={events.data}
          policy={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            list.reload();
          }}
        />
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete webhook"
        text={`Delete the webhook ${deleting?.name ?? ''} with its delivery history?`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await write('DELETE', `${base}/policies/${deleting.id}`);
          list.reload();
        }}
      />
    </Box>
  );
}
