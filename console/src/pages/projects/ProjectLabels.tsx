/**
 * A project's labels tab: the project's own labels (`/labels?scope=p&project_id=N`, paged on the
 * server, searched by name), "New Label", edit and delete (a deleted label leaves every artifact).
 */
import { useState, type FormEvent } from 'react';
import { Box, Button, Chip, Dialog, DialogActions, DialogContent, DialogTitle, TextField } from '@mui/material';
import { ConfirmDialog, ErrorAlert, PagedTable, type Column } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { useDebounced } from './hooks.ts';
import type { ProjectPageProps } from './ProjectDetail.tsx';
import type { Label } from './types.ts';

function LabelDialog({ label, projectId, onClose, onSaved }: { label: Label | 'new' | null; projectId: number; onClose: () => void; onSaved: () => void }) {
  const editing = label !== null && label !== 'new' ? label : null;
  const [name, setName] = useState(editing?.name ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [color, setColor] = useState(editing?.color || '#1976d2');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (editing) await write('PUT', `/labels/${editing.id}`, { name: name.trim(), description, color });
      else await write('POST', '/labels', { name: name.trim(), description, color, scope: 'p', project_id: projectId });
      onSaved();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={label !== null} onClose={onClose} aria-labelledby="label-dialog-title" fullWidth maxWidth="xs">
      <form onSubmit={submit}>
        <DialogTitle id="label-dialog-title">{editing ? 'Edit Label' : 'New Label'}</DialogTitle>
        <DialogContent>
          <ErrorAlert error={error} />
          <TextField label="Label Name" value={name} onChange={(e) => setName(e.target.value)} required fullWidth margin="normal" autoFocus />
          <TextField label="Color" type="color" value={color} onChange={(e) => setColor(e.target.value)} fullWidth margin="normal" />
          <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} fullWidth margin="normal" multiline minRows={2} />
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

export function ProjectLabelsTab({ project }: ProjectPageProps) {
  const [search, setSearch] = useState('');
  const [editing, setEditing] = useState<Label | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Label | null>(null);
  const name = useDebounced(search.trim());
  const list = usePaged<Label>(`/labels?scope=p&project_id=${project.project_id}`, { name });
  const columns: Column<Label>[] = [
    { label: 'Label', render: (l) => <Chip size="small" label={l.name} variant="outlined" sx={l.color ? { borderColor: l.color, borderWidth: 2 } : undefined} /> },
    { label: 'Description', render: (l) => l.description ?? '' },
    { label: 'Creation Time', render: (l) => formatTime(l.creation_time) },
    {
      label: 'Actions',
      render: (l) => (
        <Box sx={{ display: 'flex', gap: 0.5 }}>
          <Button size="small" aria-label={`Edit ${l.name}`} onClick={() => setEditing(l)}>
            Edit
          </Button>
          <Button size="small" color="error" aria-label={`Delete ${l.name}`} onClick={() => setDeleting(l)}>
            Delete
          </Button>
        </Box>
      ),
    },
  ];
  return (
    <>
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'center', mb: 2 }}>
        <Button variant="contained" onClick={() => setEditing('new')}>
          New Label
        </Button>
        <TextField label="Search labels" size="small" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </Box>
      <PagedTable list={list} columns={columns} rowKey={(l) => l.id} label="Labels" empty="No labels in this project." />
      <LabelDialog
        key={editing === null ? 'none' : editing === 'new' ? 'new' : editing.id}
        label={editing}
        projectId={project.project_id}
        onClose={() => setEditing(null)}
        onSaved={() => {
          setEditing(null);
          list.reload();
        }}
      />
      <ConfirmDialog
        key={deleting?.id ?? 0}
        open={deleting !== null}
        title="Delete label"
        text={`Delete the label ${deleting?.name ?? ''}? It is removed from every artifact.`}
        onConfirm={async () => {
          if (deleting) await write('DELETE', `/labels/${deleting.id}`);
          list.reload();
        }}
        onClose={() => setDeleting(null)}
      />
    </>
  );
}
