/**
 * /harbor/project-quotas: each project's storage usage against its limit (`/quotas`, system
 * admin), sorted on the server, with a bar per project and "Edit" to change the limit
 * (`PUT /quotas/{id}`; -1 is unlimited). New projects take the limit given when they are created,
 * else `storage_per_project` from `/configurations` (System Settings).
 */
import { useState } from 'react';
import { Link as RouterLink } from 'react-router';
import { Box, Button, Checkbox, FormControlLabel, LinearProgress, Link, TextField, Typography } from '@mui/material';
import { PagedTable, PageTitle } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { formatSize } from '../../lib/format.ts';
import { usePaged } from '../../lib/use-api.ts';
import { limitFromInput, limitToInput, type SizeUnit } from './lib.ts';
import { FormDialog, SelectField } from './ui.tsx';

interface Quota {
  id: number;
  ref: { id: number; name: string; owner_name: string };
  hard: { storage: number };
  used: { storage: number };
}

function EditQuota({ quota, onClose, onDone }: { quota: Quota | null; onClose: () => void; onDone: () => void }) {
  const [v, setV] = useState(limitToInput(-1));
  const [opened, setOpened] = useState<number | null>(null);
  if ((quota?.id ?? null) !== opened) {
    setOpened(quota?.id ?? null);
    setV(limitToInput(quota?.hard.storage));
  }
  return (
    <FormDialog
      open={!!quota}
      title={`Edit quota of ${quota?.ref.name ?? ''}`}
      submitLabel="Save"
      onClose={onClose}
      onSubmit={async () => {
        const bytes = limitFromInput(v);
        if (typeof bytes === 'string') throw new Error(bytes);
        await write('PUT', `/quotas/${quota!.id}`, { hard: { storage: bytes } });
        onDone();
      }}
    >
      <Typography>Used: {formatSize(quota?.used.storage)}</Typography>
      <FormControlLabel control={<Checkbox checked={v.unlimited} onChange={(e) => setV({ ...v, unlimited: e.target.checked })} />} label="Unlimited" />
      <Box sx={{ display: 'flex', gap: 2 }}>
        <TextField label="Storage limit" value={v.value} disabled={v.unlimited} onChange={(e) => setV({ ...v, value: e.target.value })} inputMode="decimal" sx={{ flexGrow: 1 }} />
        <SelectField label="Unit" value={v.unit} disabled={v.unlimited} onChange={(u) => setV({ ...v, unit: u as SizeUnit })} options={[['MiB', 'MiB'], ['GiB', 'GiB'], ['TiB', 'TiB']]} sx={{ minWidth: 100 }} />
      </Box>
    </FormDialog>
  );
}

function Usage({ q }: { q: Quota }) {
  const limit = q.hard.storage;
  const used = q.used.storage;
  const pct = limit > 0 ? Math.min(100, Math.round((used / limit) * 100)) : 0;
  return (
    <Box sx={{ minWidth: 200 }}>
      {limit > 0 ? <LinearProgress variant="determinate" value={pct} color={pct >= 85 ? (pct >= 100 ? 'error' : 'warning') : 'primary'} aria-label={`Storage of ${q.ref.name}: ${pct}%`} sx={{ mb: 0.5 }} /> : null}
      <Typography variant="caption">
        {formatSize(used)} of {limit < 0 ? 'unlimited' : formatSize(limit)}
      </Typography>
    </Box>
  );
}

export function ProjectQuotasPage() {
  const [sort, setSort] = useState('-used.storage');
  const list = usePaged<Quota>('/quotas', { reference: 'project', sort });
  const [editing, setEditing] = useState<Quota | null>(null);
  return (
    <>
      <PageTitle actions={<Button onClick={list.reload}>Refresh</Button>}>Project Quotas</PageTitle>
      <Box sx={{ mb: 2 }}>
        <SelectField
          size="small"
          label="Sort by"
          value={sort}
          onChange={setSort}
          options={[
            ['-used.storage', 'Most storage used'],
            ['used.storage', 'Least storage used'],
            ['-hard.storage', 'Highest limit'],
            ['id', 'Project id'],
          ]}
          sx={{ minWidth: 200 }}
        />
      </Box>
      <PagedTable
        label="Project quotas"
        list={list}
        rowKey={(q) => q.id}
        columns={[
          {
            label: 'Project',
            render: (q) => (
              <Link component={RouterLink} to={`/projects/${q.ref.id}/summary`}>
                {q.ref.name}
              </Link>
            ),
          },
          { label: 'Owner', render: (q) => q.ref.owner_name },
          { label: 'Storage', render: (q) => <Usage q={q} /> },
          {
            label: 'Actions',
            render: (q) => (
              <Button size="small" onClick={() => setEditing(q)} aria-label={`Edit quota of ${q.ref.name}`}>
                Edit
              </Button>
            ),
          },
        ]}
      />
      <EditQuota quota={editing} onClose={() => setEditing(null)} onDone={list.reload} />
    </>
  );
}
