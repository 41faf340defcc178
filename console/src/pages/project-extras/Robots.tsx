/**
 * Robot accounts: a project's (Harbor's project tab robot-account) and the system's
 * (/harbor/robot-accounts). A list with status, permissions and expiry; "New Robot Account"
 * (name, description, expiration in days or never, permissions per resource, and for system
 * robots the projects they cover); the secret shown once with a copy button, after creation and
 * after "Refresh Secret"; enable/disable; delete. Everything through /api/v2.0/robots.
 */
import { useState } from 'react';
import {
  Box,
  Button,
  Checkbox,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControlLabel,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { ConfirmDialog, ErrorAlert, PageTitle, PagedTable, type Column } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import type { ProjectTabProps } from './types.ts';
import { SecretDialog, useAction } from './parts.tsx';
import { accessFromKeys, accessKey, permissionSummary, robotCreateBody, robotDuration, robotExpiry, robotNameProblem, robotResources, type Robot } from './rules.ts';

interface Scope {
  level: 'project' | 'system';
  projectId?: number;
  projectName?: string;
}

export function ProjectRobots({ projectId, projectName }: ProjectTabProps) {
  return <RobotAccounts scope={{ level: 'project', projectId, projectName }} />;
}

export function SystemRobotsPage() {
  return <RobotAccounts scope={{ level: 'system' }} />;
}

function RobotAccounts({ scope }: { scope: Scope }) {
  const q = scope.level === 'project' ? `Level=project,ProjectID=${scope.projectId}` : 'Level=system';
  const [search, setSearch] = useState('');
  const list = usePaged<Robot>('/robots', { q: search.trim() ? `${q},name=~${search.trim()}` : q, sort: '-creation_time' });
  const [creating, setCreating] = useState<Robot | 'new' | null>(null);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [deleting, setDeleting] = useState<Robot | null>(null);
  const [refreshing, setRefreshing] = useState<Robot | null>(null);
  const act = useAction();

  const columns: Column<Robot>[] = [
    {
      label: 'Name',
      render: (r) => (
        <>
          <Box sx={{ wordBreak: 'break-all', minWidth: 140 }}>{r.name}</Box>
          {r.description ? (
            <Typography variant="caption" color="text.secondary">
              {r.description}
            </Typography>
          ) : null}
        </>
      ),
    },
    { label: 'Status', render: (r) => <Chip size="small" variant="outlined" label={r.disable ? 'Disabled' : 'Enabled'} color={r.disable ? 'default' : 'success'} /> },
    { label: 'Permissions', render: (r) => <Typography variant="body2" sx={{ maxWidth: 360 }}>{permissionSummary(r.permissions)}</Typography> },
    { label: 'Expires', render: (r) => robotExpiry(r.expires_at) },
    { label: 'Created', render: (r) => formatTime(r.creation_time) },
    {
      label: 'Actions',
      render: (r) => (
        <Stack direction="row" useFlexGap spacing={0.5} sx={{ flexWrap: 'wrap' }}>
          <Button
            size="small"
            disabled={act.busy}
            aria-label={`${r.disable ? 'Enable' : 'Disable'} ${r.name}`}
            onClick={() =>
              act.run(async () => {
                await write('PUT', `/robots/${r.id}`, { ...r, disable: !r.disable });
                list.reload();
              })
            }
          >
            {r.disable ? 'Enable' : 'Disable'}
          </Button>
          <Button size="small" onClick={() => setCreating(r)} aria-label={`Edit ${r.name}`}>
            Edit
          </Button>
          <Button size="small" onClick={() => setRefreshing(r)} aria-label={`Refresh secret of ${r.name}`}>
            Refresh Secret
          </Button>
          <Button size="small" color="error" onClick={() => setDeleting(r)} aria-label={`Delete ${r.name}`}>
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
          <Button variant="contained" onClick={() => setCreating('new')}>
            New Robot Account
          </Button>
        }
      >
        {scope.level === 'project' ? `Robot Accounts of ${scope.projectName}` : 'Robot Accounts'}
      </PageTitle>
      <TextField size="small" label="Filter by name" value={search} onChange={(e) => setSearch(e.target.value)} sx={{ mb: 2 }} />
      <ErrorAlert error={act.error} />
      <PagedTable list={list} columns={columns} rowKey={(r) => r.id} label="Robot accounts" empty="No robot account yet." />
      {creating !== null ? (
        <RobotDialog
          scope={scope}
          robot={creating === 'new' ? null : creating}
          onClose={() => setCreating(null)}
          onCreated={(name, s) => {
            setCreating(null);
            if (s !== null) setSecret({ name, secret: s });
            list.reload();
          }}
        />
      ) : null}
      <SecretDialog name={secret?.name ?? ''} secret={secret?.secret ?? null} onClose={() => setSecret(null)} />
      <ConfirmDialog
        open={refreshing !== null}
        title="Refresh secret"
        confirmLabel="Refresh"
        text={`Generate a new secret for ${refreshing?.name ?? ''}? The current secret stops working at once.`}
        onClose={() => setRefreshing(null)}
        onConfirm={async () => {
          if (!refreshing) return;
          const r = await write<{ secret: string }>('PATCH', `/robots/${refreshing.id}`, {});
          setSecret({ name: refreshing.name, secret: r.data?.secret ?? '' });
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete robot account"
        text={`Delete ${deleting?.name ?? ''}? Clients using its secret will be refused.`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await write('DELETE', `/robots/${deleting.id}`);
          list.reload();
        }}
      />
    </Box>
  );
}

/** "New Robot Account", or editing one (description, expiry, permissions; name and level stay). `onCreated` gets the secret, null after an edit. */
function RobotDialog({ scope, robot, onClose, onCreated }: { scope: Scope; robot: Robot | null; onClose: () => void; onCreated: (name: string, secret: string | null) => void }) {
  const shortName = robot ? robot.name.replace(/^robot\$/, '').replace(/^[^+]*\+/, '') : '';
  const [name, setName] = useState(shortName);
  const [description, setDescription] = useState(robot?.description ?? '');
  const [days, setDays] = useState(robot && robot.duration > 0 ? String(robot.duration) : '30');
  const [never, setNever] = useState(robot ? robot.duration === -1 : false);
  const [keys, setKeys] = useState<Set<string>>(() => new Set(robot ? (robot.permissions[0]?.access ?? []).map(accessKey) : ['repository:pull', 'repository:push']));
  const existingNs = robot?.permissions.map((p) => p.namespace) ?? [];
  const [allProjects, setAllProjects] = useState(robot ? existingNs.includes('*') : true);
  const [projects, setProjects] = useState(existingNs.filter((n) => n !== '*').join(', '));
  const save = useAction();

  const toggleKey = (k: string, on: boolean) =>
    setKeys((old) => {
      const next = new Set(old);
      if (on) next.add(k);
      else next.delete(k);
      return next;
    });

  const submit = async () => {
    const problem = robot ? null : robotNameProblem(name);
    if (problem) {
      save.setError(problem);
      return;
    }
    await save.run(async () => {
      const duration = robotDuration(never, days);
      const namespaces =
        scope.level === 'project'
          ? [scope.projectName ?? '']
          : allProjects
            ? ['*']
            : projects
                .split(/[\s,]+/)
                .map((s) => s.trim())
                .filter(Boolean);
      if (namespaces.length === 0) throw new Error('Name at least one project, or cover all projects.');
      const body = robotCreateBody(scope.level, name, description, duration, namespaces, accessFromKeys(keys));
      if (robot) {
        await write('PUT', `/robots/${robot.id}`, { ...robot, description, duration, permissions: body.permissions });
        onCreated(robot.name, null);
        return;
      }
      const r = await write<{ name: string; secret: string }>('POST', '/robots', body);
      onCreated(r.data?.name ?? name, r.data?.secret ?? '');
    });
  };

  return (
    <Dialog open onClose={onClose} maxWidth="md" fullWidth aria-labelledby="robot-dialog-title">
      <DialogTitle id="robot-dialog-title">{robot ? `Edit ${robot.name}` : 'New Robot Account'}</DialogTitle>
      <DialogContent dividers>
        <ErrorAlert error={save.error} />
        <Stack spacing={2}>
          <TextField label="Name" required value={name} disabled={robot !== null} onChange={(e) => setName(e.target.value)} autoFocus helperText={scope.level === 'project' ? `Becomes robot$${scope.projectName}+<name>` : 'Becomes robot$<name>'} />
          <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
          <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
            <TextField label="Expiration time (days)" value={days} disabled={never} onChange={(e) => setDays(e.target.value)} slotProps={{ htmlInput: { inputMode: 'numeric' } }} />
            <FormControlLabel control={<Checkbox checked={never} onChange={(e) => setNever(e.target.checked)} />} label="Never expires" />
          </Stack>
          {scope.level === 'system' ? (
            <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
              <FormControlLabel control={<Checkbox checked={allProjects} onChange={(e) => setAllProjects(e.target.checked)} />} label="Cover all projects" />
              {!allProjects ? <TextField label="Projects (names, comma separated)" fullWidth value={projects} onChange={(e) => setProjects(e.target.value)} /> : null}
            </Stack>
          ) : null}
          <Typography variant="subtitle2">Permissions</Typography>
          <Table size="small" aria-label="Permissions">
            <TableHead>
              <TableRow>
                <TableCell>Resource</TableCell>
                <TableCell>Actions</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {robotResources.map((r) => (
                <TableRow key={r.resource}>
                  <TableCell>{r.resource}</TableCell>
                  <TableCell>
                    {r.actions.map((a) => {
                      const k = accessKey({ resource: r.resource, action: a });
                      return (
                        <FormControlLabel
                          key={k}
                          control={<Checkbox size="small" checked={keys.has(k)} onChange={(e) => toggleKey(k, e.target.checked)} slotProps={{ input: { 'aria-label': `${r.resource} ${a}` } }} />}
                          label={a}
                        />
                      );
                    })}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={save.busy}>
          {robot ? 'Save' : 'Add'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
