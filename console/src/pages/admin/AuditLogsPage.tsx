/**
 * /harbor/logs: the system audit log (`GET /audit-logs`, system admin), filtered on the server by
 * user, resource, resource type, operation and a time range (`q`), paged on the server, newest first.
 * Other users are pointed to their projects' logs (the API would answer 403).
 */
import { useState } from 'react';
import { Alert, Box, Button, Chip, TextField } from '@mui/material';
import { PagedTable, PageTitle } from '../../components/common.tsx';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { useSession } from '../../lib/session.tsx';
import { auditQuery, localToIso, type AuditFilter } from './lib.ts';
import { SelectField } from './ui.tsx';

interface AuditLog {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_result?: boolean;
  op_time: string;
}

const operations = [
  ['', 'Any'],
  ['create', 'create'],
  ['delete', 'delete'],
  ['update', 'update'],
  ['pull', 'pull'],
  ['login', 'login'],
] as const;

const resourceTypes = [
  ['', 'Any'],
  ['artifact', 'artifact'],
  ['tag', 'tag'],
  ['repository', 'repository'],
  ['project', 'project'],
  ['quota', 'quota'],
  ['member', 'member'],
  ['robot', 'robot'],
  ['webhook_policy', 'webhook_policy'],
  ['user', 'user'],
  ['blob', 'blob'],
] as const;

interface Draft {
  username: string;
  resource: string;
  resourceType: string;
  operation: string;
  from: string;
  to: string;
}

const emptyDraft: Draft = { username: '', resource: '', resourceType: '', operation: '', from: '', to: '' };

function toFilter(d: Draft): AuditFilter {
  return { username: d.username, resource: d.resource, resourceType: d.resourceType, operation: d.operation, from: localToIso(d.from), to: localToIso(d.to) };
}

export function AuditLogsPage() {
  const { user } = useSession();
  if (user && !user.sysadmin_flag)
    return (
      <>
        <PageTitle>Logs</PageTitle>
        <Alert severity="info">The system audit log is for system administrators. A project&apos;s own log is on the project&apos;s Logs tab.</Alert>
      </>
    );
  return <SystemAuditLog />;
}

function SystemAuditLog() {
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [q, setQ] = useState('');
  const list = usePaged<AuditLog>('/audit-logs', { q, sort: '-op_time' });
  const set = (k: keyof Draft) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });
  return (
    <>
      <PageTitle actions={<Button onClick={list.reload}>Refresh</Button>}>Logs</PageTitle>
      <Box
        component="form"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(auditQuery(toFilter(draft)));
          list.reload();
        }}
        sx={{ display: 'flex', gap: 1.5, flexWrap: 'wrap', mb: 2, alignItems: 'center' }}
      >
        <TextField size="small" label="Username" value={draft.username} onChange={set('username')} />
        <TextField size="small" label="Resource" value={draft.resource} onChange={set('resource')} />
        <SelectField size="small" label="Resource type" value={draft.resourceType} onChange={(v) => setDraft({ ...draft, resourceType: v })} options={resourceTypes} sx={{ minWidth: 150 }} />
        <SelectField size="small" label="Operation" value={draft.operation} onChange={(v) => setDraft({ ...draft, operation: v })} options={operations} sx={{ minWidth: 120 }} />
        <TextField size="small" type="datetime-local" label="From" value={draft.from} onChange={set('from')} slotProps={{ inputLabel: { shrink: true } }} />
        <TextField size="small" type="datetime-local" label="To" value={draft.to} onChange={set('to')} slotProps={{ inputLabel: { shrink: true } }} />
        <Button type="submit" variant="contained">
          Search
        </Button>
        <Button
          onClick={() => {
            setDraft(emptyDraft);
            setQ('');
          }}
        >
          Clear
        </Button>
      </Box>
      <PagedTable
        label="Audit log"
        list={list}
        rowKey={(r) => r.id}
        empty="No log entries match."
        columns={[
          { label: 'Username', render: (r) => r.username },
          { label: 'Resource', render: (r) => r.resource },
          { label: 'Resource Type', render: (r) => r.resource_type },
          { label: 'Operation', render: (r) => r.operation },
          { label: 'Result', render: (r) => (r.operation_result === false ? <Chip size="small" color="error" variant="outlined" label="Failure" /> : 'Success') },
          { label: 'Timestamp', render: (r) => formatTime(r.op_time) },
        ]}
      />
    </>
  );
}
