/**
 * /projects: the projects the user may see, paged on the server, searched by name (`q=name=~x`),
 * with Harbor's columns; "New Project" for whoever `/systeminfo`'s `project_creation_restriction`
 * lets create one (name, public; storage quota and proxy cache for admins) and
 * delete with a confirmation that shows the API's refusal (a project with repositories: 412).
 */
import { useState, type FormEvent } from 'react';
import { Link as RouterLink } from 'react-router';
import {
  Box,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControlLabel,
  Link,
  MenuItem,
  TextField,
} from '@mui/material';
import { ConfirmDialog, ErrorAlert, PageTitle, PagedTable, type Column } from '../../components/common.tsx';
import { get, write } from '../../lib/api.ts';
import { formatTime, quotaBytes } from '../../lib/format.ts';
import { useSession } from '../../lib/session.tsx';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { accessLevel, containsTerm, projectType, roleText, type StorageUnit } from './helpers.ts';
import { useDebounced } from './hooks.ts';
import type { Project, Registry } from './types.ts';

/** The signed-in user's role in a project: the project's `current_user_role_id` (System Admin for admins who are not members). */
function RoleCell({ project, sysadmin }: { project: Project; sysadmin: boolean }) {
  return <>{roleText(project, sysadmin)}</>;
}

function NewProjectDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: () => void }) {
  const { user } = useSession();
  const admin = user?.sysadmin_flag === true;
  const [name, setName] = useState('');
  const [isPublic, setPublic] = useState(false);
  const [limit, setLimit] = useState('-1');
  const [unit, setUnit] = useState<StorageUnit>('GiB');
  const [proxy, setProxy] = useState(false);
  const [registryId, setRegistryId] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const registries = useApi<Registry[]>((signal) => (open && admin ? get<Registry[]>('/registries?page_size=100', { signal }) : Promise.resolve([])), [open, admin]);
  const limitNumber = Number(limit);
  const limitInvalid = limit.trim() === '' || !Number.isFinite(limitNumber) || (limitNumber < 0 && limitNumber !== -1);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (admin && limitInvalid) {
      setError('The storage quota must be -1 (unlimited) or a number of at least 0.');
      return;
    }
    setBusy(true);
    try {
      // Only a system admin sets the limit; other users' projects get storage_per_project (/configurations).
      const body: Record<string, unknown> = { project_name: name.trim(), metadata: { public: String(isPublic) }, ...(admin ? { storage_limit: quotaBytes(limitNumber, unit) } : {}) };
      if (proxy && registryId !== '') body.registry_id = Number(registryId);
      await write('POST', '/projects', body);
      setName('');
      setPublic(false);
      setLimit('-1');
      setProxy(false);
      setRegistryId('');
      onCreated();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="new-project-title" fullWidth maxWidth="sm">
      <form onSubmit={submit}>
        <DialogTitle id="new-project-title">New Project</DialogTitle>
        <DialogContent>
          <ErrorAlert error={error} />
          <TextField
            label="Project Name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
            fullWidth
            margin="normal"
            autoFocus
            helperText="Lower-case letters and digits, separated by single '.', '_' or '-'"
          />
          <FormControlLabel control={<Checkbox checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />} label="Public" />
          {admin ? (
            <Box sx={{ display: 'flex', gap: 2 }}>
              <TextField
                label="Storage Quota"
                value={limit}
                onChange={(e) => setLimit(e.target.value)}
                error={limitInvalid}
                helperText="-1 for unlimited"
                margin="normal"
                inputMode="decimal"
                sx={{ flexGrow: 1 }}
              />
              <TextField select label="Unit" value={unit} onChange={(e) => setUnit(e.target.value as StorageUnit)} margin="normal" sx={{ width: 120 }}>
                <MenuItem value="MiB">MiB</MenuItem>
                <MenuItem value="GiB">GiB</MenuItem>
                <MenuItem value="TiB">TiB</MenuItem>
              </TextField>
            </Box>
          ) : null}
          {admin ? (
            <>
              <FormControlLabel control={<Checkbox checked={proxy} onChange={(e) => setProxy(e.target.checked)} />} label="Proxy Cache" />
              {proxy ? (
                <TextField
                  select
                  label="Registry Endpoint"
                  value={registryId}
                  onChange={(e) => setRegistryId(e.target.value)}
                  fullWidth
                  margin="normal"
                  required
                  helperText={registries.error ?? (registries.data?.length === 0 ? 'No registry endpoints: add one under Registries' : ' ')}
                >
                  {(registries.data ?? []).map((r) => (
                    <MenuItem key={r.id} value={String(r.id)}>
                      {r.name} ({r.url})
                    </MenuItem>
                  ))}
                </TextField>
              ) : null}
            </>
          ) : null}
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={busy || name.trim() === ''}>
            OK
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

export function ProjectsList() {
  const { user } = useSession();
  const [search, setSearch] = useState('');
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Project | null>(null);
  const q = useDebounced(containsTerm('name', search));
  const list = usePaged<Project>('/projects', { q });
  const sysadmin = user?.sysadmin_flag === true;
  // Who may create projects: the system admin, and everyone unless /systeminfo says `adminonly`.
  const info = useApi((signal) => get<{ project_creation_restriction?: string }>('/systeminfo', { signal }), []);
  const canCreate = sysadmin || info.data?.project_creation_restriction === 'everyone';
  const columns: Column<Project>[] = [
    {
      label: 'Project Name',
      render: (p) => (
        <Link component={RouterLink} to={`/projects/${p.project_id}/repositories`}>
          {p.name}
        </Link>
      ),
    },
    { label: 'Access Level', render: (p) => accessLevel(p) },
    { label: 'Role', render: (p) => <RoleCell project={p} sysadmin={sysadmin} /> },
    { label: 'Type', render: (p) => projectType(p) },
    { label: 'Repositories Count', render: (p) => p.repo_count },
    { label: 'Creation Time', render: (p) => formatTime(p.creation_time) },
    {
      label: 'Actions',
      render: (p) => (
        <Button size="small" color="error" onClick={() => setDeleting(p)} aria-label={`Delete ${p.name}`}>
          Delete
        </Button>
      ),
    },
  ];
  return (
    <>
      <PageTitle
        actions={
          canCreate ? (
            <Button variant="contained" onClick={() => setCreating(true)}>
              New Project
            </Button>
          ) : undefined
        }
      >
        Projects
      </PageTitle>
      <Box sx={{ mb: 2 }}>
        <TextField label="Search projects" size="small" value={search} onChange={(e) => setSearch(e.target.value)} type="search" />
      </Box>
      <PagedTable list={list} columns={columns} rowKey={(p) => p.project_id} label="Projects" empty="No projects found." />
      <NewProjectDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={() => {
          setCreating(false);
          list.reload();
        }}
      />
      <ConfirmDialog
        key={deleting?.project_id ?? 0}
        open={deleting !== null}
        title="Delete project"
        text={`Delete the project ${deleting?.name ?? ''}? Its labels, members and policies go with it.`}
        onConfirm={async () => {
          if (deleting) await write('DELETE', `/projects/${deleting.project_id}`);
          list.reload();
        }}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}
