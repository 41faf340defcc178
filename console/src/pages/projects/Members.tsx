/**
 * A project's members tab: the members (users), paged on the server and searched by name
 * (Harbor's `entityname`), "+ User" to add a member by user name with a role, the role changed in
 * place, and remove with a confirmation. Changing members needs the project admin; the API says so.
 */
import { useState, type FormEvent } from 'react';
import { Box, Button, Dialog, DialogActions, DialogContent, DialogTitle, MenuItem, TextField } from '@mui/material';
import { ConfirmDialog, ErrorAlert, PagedTable, type Column } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { roleNames } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { useDebounced } from './hooks.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { Member } from './types.ts';

/** Roles in Harbor's order of power. */
const roleOrder = [1, 4, 2, 3, 5];

function RoleSelect({ value, onChange, label, size }: { value: number; onChange: (v: number) => void; label: string; size?: 'small' | 'medium' }) {
  return (
    <TextField select label={label} value={String(value)} onChange={(e) => onChange(Number(e.target.value))} size={size} sx={{ minWidth: 180 }}>
      {roleOrder.map((r) => (
        <MenuItem key={r} value={String(r)}>
          {roleNames[r]}
        </MenuItem>
      ))}
    </TextField>
  );
}

function AddMemberDialog({ open, projectId, onClose, onAdded }: { open: boolean; projectId: number; onClose: () => void; onAdded: () => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState(2);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await write('POST', `/projects/${projectId}/members`, { role_id: role, member_user: { username: username.trim() } });
      setUsername('');
      onAdded();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="add-member-title" fullWidth maxWidth="xs">
      <form onSubmit={submit}>
        <DialogTitle id="add-member-title">New Member</DialogTitle>
        <DialogContent>
          <ErrorAlert error={error} />
          <TextField label="Name" value={username} onChange={(e) => setUsername(e.target.value)} required fullWidth margin="normal" autoFocus helperText="The user's name" />
          <Box sx={{ mt: 1 }}>
            <RoleSelect label="Role" value={role} onChange={setRole} />
          </Box>
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={busy || username.trim() === ''}>
            OK
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

export function MembersTab({ project }: ProjectPageProps) {
  const [search, setSearch] = useState('');
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [error, setError] = useState<string | null>(null);
  const entityname = useDebounced(search.trim());
  const list = usePaged<Member>(`/projects/${project.project_id}/members`, { entityname });
  const changeRole = async (m: Member, role: number) => {
    setError(null);
    try {
      await write('PUT', `/projects/${project.project_id}/members/${m.id}`, { role_id: role });
      list.reload();
    } catch (err) {
      setError(`${m.entity_name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const columns: Column<Member>[] = [
    { label: 'Name', render: (m) => m.entity_name },
    { label: 'Member Type', render: (m) => (m.entity_type === 'g' ? 'Group' : 'User') },
    { label: 'Role', render: (m) => <RoleSelect size="small" label={`Role of ${m.entity_name}`} value={m.role_id} onChange={(r) => void changeRole(m, r)} /> },
    {
      label: 'Actions',
      render: (m) => (
        <Button size="small" color="error" aria-label={`Remove ${m.entity_name}`} onClick={() => setRemoving(m)}>
          Remove
        </Button>
      ),
    },
  ];
  return (
    <>
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'center', mb: 2 }}>
        <Button variant="contained" onClick={() => setAdding(true)}>
          + User
        </Button>
        <TextField label="Search members" size="small" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </Box>
      <ErrorAlert error={error} />
      <PagedTable list={list} columns={columns} rowKey={(m) => m.id} label="Members" empty="No members." />
      <AddMemberDialog
        open={adding}
        projectId={project.project_id}
        onClose={() => setAdding(false)}
        onAdded={() => {
          setAdding(false);
          list.reload();
        }}
      />
      <ConfirmDialog
        key={removing?.id ?? 0}
        open={removing !== null}
        title="Remove member"
        confirmLabel="Remove"
        text={`Remove ${removing?.entity_name ?? ''} from the project ${project.name}?`}
        onConfirm={async () => {
          if (removing) await write('DELETE', `/projects/${project.project_id}/members/${removing.id}`);
          list.reload();
        }}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}
