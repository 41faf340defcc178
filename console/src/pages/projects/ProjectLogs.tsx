/**
 * A project's logs tab: its audit log (`/projects/{name}/logs`), newest first, paged on the
 * server, filtered by user, resource, resource type, operation and a time range (Harbor's `q`,
 * built by helpers.ts auditLogQuery).
 */
import { useState } from 'react';
import { Box, Button, MenuItem, TextField } from '@mui/material';
import { PagedTable, type Column } from '../../components/common.tsx';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { auditLogQuery } from './helpers.ts';
import { useDebounced } from './hooks.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { AuditLog } from './types.ts';

const operations = ['create', 'delete', 'pull', 'update'];
const resourceTypes = ['artifact', 'tag', 'repository', 'project', 'member', 'robot', 'label', 'webhook', 'immutable_rule', 'retention'];

export function ProjectLogsTab({ project }: ProjectPageProps) {
  const [username, setUsername] = useState('');
  const [resource, setResource] = useState('');
  const [resourceType, setResourceType] = useState('');
  const [operation, setOperation] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const q = useDebounced(auditLogQuery({ username, resource, resourceType, operation, from, to }));
  const ref = /^\d+$/.test(project.name) ? String(project.project_id) : encodeURIComponent(project.name);
  const list = usePaged<AuditLog>(`/projects/${ref}/logs`, { q, sort: '-op_time' });
  const columns: Column<AuditLog>[] = [
    { label: 'Username', render: (l) => l.username },
    { label: 'Resource', render: (l) => <Box sx={{ wordBreak: 'break-all' }}>{l.resource}</Box> },
    { label: 'Resource Type', render: (l) => l.resource_type },
    { label: 'Operation', render: (l) => l.operation },
    { label: 'Result', render: (l) => (l.operation_result === false ? 'Failed' : 'Succeeded') },
    { label: 'Timestamp', render: (l) => formatTime(l.op_time) },
  ];
  const clear = () => {
    setUsername('');
    setResource('');
    setResourceType('');
    setOperation('');
    setFrom('');
    setTo('');
  };
  return (
    <>
      <Box component="form" role="search" aria-label="Filter the logs" sx={{ display: 'flex', gap: 1, flexWrap: 'wrap', mb: 2, alignItems: 'center' }} onSubmit={(e) => e.preventDefault()}>
        <TextField label="Username" size="small" value={username} onChange={(e) => setUsername(e.target.value)} />
        <TextField label="Resource" size="small" value={resource} onChange={(e) => setResource(e.target.value)} />
        <TextField select label="Resource Type" size="small" value={resourceType} onChange={(e) => setResourceType(e.target.value)} sx={{ minWidth: 160 }}>
          <MenuItem value="">Any</MenuItem>
          {resourceTypes.map((t) => (
            <MenuItem key={t} value={t}>
              {t}
            </MenuItem>
          ))}
        </TextField>
        <TextField select label="Operation" size="small" value={operation} onChange={(e) => setOperation(e.target.value)} sx={{ minWidth: 140 }}>
          <MenuItem value="">Any</MenuItem>
          {operations.map((o) => (
            <MenuItem key={o} value={o}>
              {o}
            </MenuItem>
          ))}
        </TextField>
        <TextField label="From" type="datetime-local" size="small" value={from} onChange={(e) => setFrom(e.target.value)} slotProps={{ inputLabel: { shrink: true } }} />
        <TextField label="To" type="datetime-local" size="small" value={to} onChange={(e) => setTo(e.target.value)} slotProps={{ inputLabel: { shrink: true } }} />
        <Button onClick={clear}>Clear</Button>
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      <PagedTable list={list} columns={columns} rowKey={(l) => l.id} label="Project logs" empty="No log entries match." />
    </>
  );
}
