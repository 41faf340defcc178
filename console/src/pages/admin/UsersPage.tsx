/**
 * /harbor/users: the users (`/users`, system admin): search by name, "New User", set or unset
 * administrator, reset a password (an admin needs no old one), enable/disable (Wharf's
 * `disabled`) and delete. Every refusal shows the API's message.
 */
import { useState } from 'react';
import { Box, Button, Chip, FormControlLabel, Checkbox, TextField } from '@mui/material';
import { ConfirmDialog, PagedTable, PageTitle } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { useSession } from '../../lib/session.tsx';
import { passwordProblem, qValue } from './lib.ts';
import { FormDialog } from './ui.tsx';

interface User {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  disabled?: boolean;
  creation_time: string;
}

function NewUserDialog({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: () => void }) {
  const [f, setF] = useState({ username: '', email: '', realname: '', password: '', confirm: '', comment: '' });
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const pwProblem = f.password ? passwordProblem(f.password) : null;
  return (
    <FormDialog
      open={open}
      title="New User"
      onClose={onClose}
      onSubmit={async () => {
        if (f.password !== f.confirm) throw new Error('the passwords do not match');
        await write('POST', '/users', { username: f.username.trim(), email: f.email.trim(), realname: f.realname.trim(), password: f.password, comment: f.comment });
        setF({ username: '', email: '', realname: '', password: '', confirm: '', comment: '' });
        onDone();
      }}
    >
      <TextField label="Username" required value={f.username} onChange={set('username')} autoFocus />
      <TextField label="Email" type="email" value={f.email} onChange={set('email')} />
      <TextField label="First and last name" value={f.realname} onChange={set('realname')} />
      <TextField label="Password" type="password" required value={f.password} onChange={set('password')} error={!!pwProblem} helperText={pwProblem ?? '8–128 characters with an upper-case letter, a lower-case letter and a digit'} autoComplete="new-password" />
      <TextField label="Confirm Password" type="password" required value={f.confirm} onChange={set('confirm')} error={!!f.confirm && f.confirm !== f.password} autoComplete="new-password" />
      <TextField label="Comments" value={f.comment} onChange={set('comment')} multiline minRows={2} />
    </FormDialog>
  );
}

function PasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  const [pw, setPw] = useState('');
  const [confirm, setConfirm] = useState('');
  const problem = pw ? passwordProblem(pw) : null;
  return (
    <FormDialog
      open={!!user}
      title={`Reset password of ${user?.username ?? ''}`}
      onClose={() => {
        setPw('');
        setConfirm('');
        onClose();
      }}
      onSubmit={async () => {
        if (pw !== confirm) throw new Error('the passwords do not match');
        await write('PUT', `/users/${user!.user_id}/password`, { new_password: pw });
        setPw('');
        setConfirm('');
      }}
    >
      <TextField label="New Password" type="password" required value={pw} onChange={(e) => setPw(e.target.value)} error={!!problem} helperText={problem ?? ' '} autoComplete="new-password" autoFocus />
      <TextField label="Confirm Password" type="password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} error={!!confirm && confirm !== pw} autoComplete="new-password" />
    </FormDialog>
  );
}

export function UsersPage() {
  const { user: me } = useSession();
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const list = usePaged<User>('/users', { q });
  const [creating, setCreating] = useState(false);
  const [pwFor, setPwFor] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const act = async (f: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await f();
      list.reload();
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <>
      <PageTitle
        actions={
          <Button variant="contained" onClick={() => setCreating(true)}>
            New User
          </Button>
        }
      >
        Users
      </PageTitle>
      <Box
        component="form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(search.trim() ? `username=~${qValue(search.trim())}` : '');
        }}
        sx={{ display: 'flex', gap: 1, mb: 2 }}
      >
        <TextField size="small" label="Search users" value={search} onChange={(e) => setSearch(e.target.value)} />
        <Button type="submit">Search</Button>
      </Box>
      {actionError ? (
        <Box role="alert" sx={{ color: 'error.main', mb: 2 }}>
          {actionError}
        </Box>
      ) : null}
      <PagedTable
        label="Users"
        list={list}
        rowKey={(u) => u.user_id}
        columns={[
          { label: 'Name', render: (u) => u.username },
          { label: 'Administrator', render: (u) => (u.sysadmin_flag ? 'Yes' : 'No') },
          { label: 'Email', render: (u) => u.email },
          { label: 'Status', render: (u) => (u.disabled ? <Chip size="small" label="Disabled" color="warning" variant="outlined" /> : 'Enabled') },
          { label: 'Registration Time', render: (u) => formatTime(u.creation_time) },
          {
            label: 'Actions',
            render: (u) => {
              const self = me?.user_id === u.user_id;
              return (
                <Box sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
                  <Button size="small" disabled={self} onClick={() => act(() => write('PUT', `/users/${u.user_id}/sysadmin`, { sysadmin_flag: !u.sysadmin_flag }))} aria-label={`${u.sysadmin_flag ? 'Revoke admin from' : 'Set as admin'} ${u.username}`}>
                    {u.sysadmin_flag ? 'Revoke admin' : 'Set as admin'}
                  </Button>
                  <Button size="small" onClick={() => setPwFor(u)} aria-label={`Reset password of ${u.username}`}>
                    Reset password
                  </Button>
                  <Button size="small" disabled={self} onClick={() => act(() => write('PUT', `/users/${u.user_id}`, { disabled: !u.disabled }))} aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.username}`}>
                    {u.disabled ? 'Enable' : 'Disable'}
                  </Button>
                  <Button size="small" color="error" disabled={self} onClick={() => setDeleting(u)} aria-label={`Delete ${u.username}`}>
                    Delete
                  </Button>
                </Box>
              );
            },
          },
        ]}
      />
      <NewUserDialog open={creating} onClose={() => setCreating(false)} onDone={list.reload} />
      <PasswordDialog user={pwFor} onClose={() => setPwFor(null)} />
      <ConfirmDialog
        open={!!deleting}
        title="Delete user"
        text={`Delete the user ${deleting?.username ?? ''}? Their project memberships go too.`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await write('DELETE', `/users/${deleting!.user_id}`);
          list.reload();
        }}
      />
    </>
  );
}
