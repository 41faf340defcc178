/**
 * /harbor/registries: registry endpoints (`/registries`, system admin). "New Endpoint" and Edit
 * take the type (`/replication/adapters`), name, URL, access key and secret (write-only: the
 * stored one is never shown, and an empty field keeps it), "Verify Remote Cert" (the inverse of
 * `insecure`) and a CA certificate; "Test Connection" is `POST /registries/ping`. A delete the API
 * refuses (412 while a replication rule or a proxy-cache project uses the endpoint) shows its message.
 */
import { useState } from 'react';
import { Alert, Box, Button, Checkbox, FormControlLabel, TextField } from '@mui/material';
import { ConfirmDialog, PagedTable, PageTitle } from '../../components/common.tsx';
import { get, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import { qValue, type Registry } from './lib.ts';
import { FormDialog, SelectField, StatusChip, messageOf } from './ui.tsx';

interface Form {
  type: string;
  name: string;
  description: string;
  url: string;
  accessKey: string;
  accessSecret: string;
  verifyCert: boolean;
  ca: string;
}

const emptyForm: Form = { type: 'harbor', name: '', description: '', url: '', accessKey: '', accessSecret: '', verifyCert: true, ca: '' };

function formOf(r: Registry): Form {
  return { type: r.type, name: r.name, description: r.description ?? '', url: r.url, accessKey: r.credential?.access_key ?? '', accessSecret: '', verifyCert: !r.insecure, ca: r.ca_certificate ?? '' };
}

function EndpointDialog({ open, editing, onClose, onDone }: { open: boolean; editing: Registry | null; onClose: () => void; onDone: () => void }) {
  const [f, setF] = useState<Form>(emptyForm);
  const [opened, setOpened] = useState<number | 'new' | null>(null);
  const [test, setTest] = useState<{ ok: boolean; text: string } | null>(null);
  const [testing, setTesting] = useState(false);
  const adapters = useApi((signal) => get<string[]>('/replication/adapters', { signal }), []);
  const key = open ? (editing?.id ?? 'new') : null;
  if (key !== opened) {
    setOpened(key);
    setF(editing ? formOf(editing) : emptyForm);
    setTest(null);
  }
  const set = (k: keyof Form) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const credential = () => (f.accessKey || f.accessSecret ? { type: 'basic', access_key: f.accessKey, access_secret: f.accessSecret || (editing ? '*****' : '') } : undefined);
  const testConnection = async () => {
    setTesting(true);
    setTest(null);
    try {
      const body: Record<string, unknown> =
        editing && f.url === editing.url && f.type === editing.type
          ? { id: editing.id, access_key: f.accessKey, ...(f.accessSecret ? { access_secret: f.accessSecret } : {}) }
          : { type: f.type, url: f.url.trim(), credential_type: 'basic', access_key: f.accessKey, access_secret: f.accessSecret, insecure: !f.verifyCert, ...(f.ca.trim() ? { ca_certificate: f.ca } : {}) };
      await write('POST', '/registries/ping', body);
      setTest({ ok: true, text: 'Connection tested successfully.' });
    } catch (e) {
      setTest({ ok: false, text: `Failed to ping endpoint: ${messageOf(e)}` });
    } finally {
      setTesting(false);
    }
  };
  return (
    <FormDialog
      open={open}
      title={editing ? 'Edit Endpoint' : 'New Registry Endpoint'}
      onClose={onClose}
      submitLabel={editing ? 'Save' : 'OK'}
      onSubmit={async () => {
        if (editing) {
          const body: Record<string, unknown> = { name: f.name.trim(), description: f.description, url: f.url.trim(), credential_type: 'basic', access_key: f.accessKey, insecure: !f.verifyCert, ca_certificate: f.ca.trim() ? f.ca : null };
          if (f.accessSecret) body.access_secret = f.accessSecret;
          await write('PUT', `/registries/${editing.id}`, body);
        } else {
          await write('POST', '/registries', { name: f.name.trim(), type: f.type, description: f.description, url: f.url.trim(), insecure: !f.verifyCert, ...(f.ca.trim() ? { ca_certificate: f.ca } : {}), ...(credential() ? { credential: credential() } : {}) });
        }
        onDone();
      }}
    >
      <SelectField label="Provider" value={f.type} disabled={!!editing} onChange={(v) => setF({ ...f, type: v })} options={(adapters.data ?? ['harbor', 'docker-registry']).map((a) => [a, a === 'harbor' ? 'Harbor' : a === 'docker-registry' ? 'Docker Registry' : a] as const)} />
      <TextField label="Name" required value={f.name} onChange={set('name')} />
      <TextField label="Description" value={f.description} onChange={set('description')} />
      <TextField label="Endpoint URL" required value={f.url} onChange={set('url')} placeholder="https://registry.example.com" />
      <TextField label="Access ID" value={f.accessKey} onChange={set('accessKey')} autoComplete="off" />
      <TextField label="Access Secret" type="password" value={f.accessSecret} onChange={set('accessSecret')} autoComplete="new-password" helperText={editing ? 'Write-only: leave empty to keep the stored secret (a changed URL clears it unless you enter it again).' : 'Write-only: never shown again.'} />
      <FormControlLabel control={<Checkbox checked={f.verifyCert} onChange={(e) => setF({ ...f, verifyCert: e.target.checked })} />} label="Verify Remote Cert" />
      <TextField label="CA certificate (PEM)" value={f.ca} onChange={set('ca')} multiline minRows={2} maxRows={6} />
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'center' }}>
        <Button variant="outlined" onClick={testConnection} disabled={testing || !f.url.trim()}>
          Test Connection
        </Button>
        {testing ? <span role="status">Testing…</span> : null}
      </Box>
      {test ? (
        <Alert severity={test.ok ? 'success' : 'error'} role={test.ok ? 'status' : 'alert'}>
          {test.text}
        </Alert>
      ) : null}
    </FormDialog>
  );
}

export function RegistriesPage() {
  const [search, setSearch] = useState('');
  const [q, setQ] = useState('');
  const list = usePaged<Registry>('/registries', { q });
  const [dialog, setDialog] = useState<{ editing: Registry | null } | null>(null);
  const [deleting, setDeleting] = useState<Registry | null>(null);
  return (
    <>
      <PageTitle
        actions={
          <Button variant="contained" onClick={() => setDialog({ editing: null })}>
            New Endpoint
          </Button>
        }
      >
        Registries
      </PageTitle>
      <Box
        component="form"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setQ(search.trim() ? `name=~${qValue(search.trim())}` : '');
        }}
        sx={{ display: 'flex', gap: 1, mb: 2 }}
      >
        <TextField size="small" label="Search endpoints" value={search} onChange={(e) => setSearch(e.target.value)} />
        <Button type="submit">Search</Button>
        <Button onClick={list.reload}>Refresh</Button>
      </Box>
      <PagedTable
        label="Registry endpoints"
        list={list}
        rowKey={(r) => r.id}
        empty="No registry endpoints yet."
        columns={[
          { label: 'Name', render: (r) => r.name },
          { label: 'Status', render: (r) => <StatusChip status={r.status} /> },
          { label: 'Endpoint URL', render: (r) => r.url },
          { label: 'Provider', render: (r) => r.type },
          { label: 'Verify Remote Cert', render: (r) => (r.insecure ? 'No' : 'Yes') },
          { label: 'Access ID', render: (r) => r.credential?.access_key ?? '' },
          { label: 'Creation Time', render: (r) => formatTime(r.creation_time) },
          {
            label: 'Actions',
            render: (r) => (
              <Box sx={{ display: 'flex', gap: 0.5 }}>
                <Button size="small" onClick={() => setDialog({ editing: r })} aria-label={`Edit ${r.name}`}>
                  Edit
                </Button>
                <Button size="small" color="error" onClick={() => setDeleting(r)} aria-label={`Delete ${r.name}`}>
                  Delete
                </Button>
              </Box>
            ),
          },
        ]}
      />
      <EndpointDialog open={!!dialog} editing={dialog?.editing ?? null} onClose={() => setDialog(null)} onDone={list.reload} />
      <ConfirmDialog
        open={!!deleting}
        title="Delete endpoint"
        text={`Delete the registry endpoint ${deleting?.name ?? ''}?`}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await write('DELETE', `/registries/${deleting!.id}`);
          list.reload();
        }}
      />
    </>
  );
}
