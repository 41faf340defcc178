/**
 * /harbor/labels: global labels (`/labels?scope=g`, system admin): "New Label" with a name, a
 * colour and a description, edit and delete (a deleted label leaves every artifact first).
 */
import { useState } from 'react';
import { Box, Button, TextField } from '@mui/material';
import { ConfirmDialog, PagedTable, PageTitle } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { FormDialog } from './ui.tsx';

interface Label {
  id: number;
  name: string;
  description: string;
  color: string;
  scope: string;
  creation_time: string;
}

/** Harbor's label palette (a few of its colours) besides a free colour. */
const palette = ['#0065AB', '#343DAC', '#781DA0', '#9B0D54', '#C92100', '#CD3517', '#C25400', '#D28F00', '#48960C', '#006668', '#737373', '#000000'];

/** A colour chip with the label's name, readable on light and dark colours. */
export function LabelChip({ name, color }: { name: string; color: string }) {
  const hex = /^#[0-9a-f]{6}$/i.test(color) ? color : '#737373';
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  const dark = r * 0.299 + g * 0.587 + b * 0.114 < 150;
  return (
    <Box component="span" sx={{ display: 'inline-block', px: 1, py: 0.25, borderRadius: 1, bgcolor: hex, color: dark ? '#fff' : '#000', fontSize: 13 }}>
      {name}
    </Box>
  );
}

function LabelDialog({ open, editing, onClose, onDone }: { open: boolean; editing: Label | null; onClose: () => void; onDone: () => void }) {
  const [f, setF] = useState({ name: '', color: palette[0]!, description: '' });
  const [opened, setOpened] = useState<number | 'new' | null>(null);
  const key = open ? (editing?.id ?? 'new') : null;
  if (key !== opened) {
    setOpened(key);
    setF(editing ? { name: editing.name, color: editing.color || palette[0]!, description: editing.description } : { name: '', color: palette[0]!, description: '' });
  }
  return (
    <FormDialog
      open={open}
      title={editing ? 'Edit Label' : 'New Label'}
      submitLabel={editing ? 'Save' : 'OK'}
      onClose={onClose}
      onSubmit={async () => {
        const body = { name: f.name.trim(), color: f.color, description: f.description, scope: 'g', project_id: 0 };
        if (editing) await write('PUT', `/labels/${editing.id}`, body);
        else await write('POST', '/labels', body);
        onDone();
      }}
    >
      <TextField label="Label Name" required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} autoFocus />
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'center' }}>
        <TextField label="Color" type="color" value={/^#[0-9a-f]{6}$/i.test(f.color) ? f.color : '#737373'} onChange={(e) => setF({ ...f, color: e.target.value })} sx={{ width: 90 }} />
        <Box role="group" aria-label="Palette" sx={{ display: 'flex', gap: 0.5, flexWrap: 'wrap' }}>
          {palette.map((c) => (
            <Box key={c} component="button" type="button" aria-label={`Color ${c}`} aria-pressed={f.color.toLowerCase() === c.toLowerCase()} onClick={() => setF({ ...f, color: c })} sx={{ width: 22, height: 22, bgcolor: c, border: f.color.toLowerCase() === c.toLowerCase() ? '2px solid' : '1px solid', borderColor: 'text.primary', borderRadius: 0.5, cursor: 'pointer', p: 0 }} />
          ))}
        </Box>
        <LabelChip name={f.name || 'preview'} color={f.color} />
      </Box>
      <TextField label="Description" value={f.description} onChange={(e) => setF({ ...f, description: e.target.value })} multiline minRows={2} />
    </FormDialog>
  );
}

export function LabelsPage() {
  const [search, setSearch] = useState('');
  const [name, setName] = useState('');
  const list = usePaged<Label>('/labels', { scope: 'g', name });
  const [dialog, setDialog] = useState<{ editing: Label | null } | null>(null);
  const [deleting, setDeleting] = useState<Label | null>(null);
  return (
    <>
      <PageTitle
        actions={
          <Button variant="contained" onClick={() => setDialog({ editing: null })}>
            New Label
          </Button>
        }
      >
        Labels
      </PageTitle>
      <Box
        component="form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setName(search.trim());
        }}
        sx={{ display: 'flex', gap: 1, mb: 2 }}
      >
        <TextField size="small" label="Search labels" value={search} onChange={(e) => setSearch(e.target.value)} />
        <Button type="submit">Search</Button>
      </Box>
      <PagedTable
        label="Global labels"
        list={list}
        rowKey={(l) => l.id}
        empty="No labels yet."
        columns={[
          { label: 'Label', render: (l) => <LabelChip name={l.name} color={l.color} /> },
          { label: 'Description', render: (l) => l.description },
          { label: 'Creation Time', render: (l) => formatTime(l.creation_time) },
          {
            label: 'Actions',
            render: (l) => (
              <Box sx={{ display: 'flex', gap: 0.5 }}>
                <Button size="small" onClick={() => setDialog({ editing: l })} aria-label={`Edit ${l.name}`}>
                  Edit
                </Button>
                <Button size="small" color="error" onClick={() => setDeleting(l)} aria-label={`Delete ${l.name}`}>
                  Delete
                </Button>
              </Box>
            ),
          },
        ]}
      />
      <LabelDialog open={!!dialog} editing={dialog?.editing ?? null} onClose={() => setDialog(null)} onDone={list.reload} />
      <ConfirmDialog
        open={!!deleting}
        title="Delete label"
        text={`Delete the label ${deleting?.name ?? ''}? It is removed from every artifact.`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await write('DELETE', `/labels/${deleting!.id}`);
          list.reload();
        }}
      />
    </>
  );
}
