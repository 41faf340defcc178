/**
 * The "New Webhook" / "Edit Webhook" dialog: every field of Harbor's webhook form plus Wharf's
 * extensions (docs/webhook-api.md), a "Test" button (Wharf's POST …/webhook/policies/test) and
 * save (POST or a full PUT). The form logic lives in ./webhook-form.ts.
 */
import { useState } from 'react';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Divider,
  FormControl,
  FormControlLabel,
  FormGroup,
  FormLabel,
  IconButton,
  InputLabel,
  MenuItem,
  Select,
  Stack,
  Switch,
  TextField,
  Typography,
} from '@mui/material';
import { ErrorAlert } from '../../components/common.tsx';
import { write } from '../../lib/api.ts';
import { useAction } from './parts.tsx';
import { emptyForm, eventLabel, formFromPolicy, formatsFor, hasPayloadFormat, policyBody, previewBody, REDACTED, targetFromForm, validateForm, type SupportedEvents, type WebhookForm, type WebhookPolicy } from './webhook-form.ts';
import { defaultPayloadFormat, formatAfterTypeChange, notifyTypeLabel } from './webhook-form.ts';

interface TestResult {
  success: boolean;
  status_code: number | null;
  duration_ms: number | null;
  error: string | null;
}

export function WebhookDialog({ projectId, events, policy, onClose, onSaved }: { projectId: number; events: SupportedEvents | undefined; policy: WebhookPolicy | null; onClose: () => void; onSaved: () => void }) {
  const [f, setF] = useState<WebhookForm>(() => (policy ? formFromPolicy(policy) : emptyForm(events)));
  const save = useAction();
  const test = useAction();
  const [result, setResult] = useState<TestResult | null>(null);
  const preview = useAction();
  const [rendered, setRendered] = useState<{ content_type: string; body: string } | null>(null);
  const set = <K extends keyof WebhookForm>(k: K, v: WebhookForm[K]) => setF((old) => ({ ...old, [k]: v }));
  const base = `/projects/${projectId}/webhook/policies`;
  const formats = formatsFor(events, f.notifyType);
  const notifyTypes = events?.notify_type.length ? events.notify_type : ['http', 'slack'];
  const eventTypes = events?.event_type ?? [];

  const submit = async () => {
    const problem = validateForm(f);
    if (problem) {
      save.setError(problem);
      return;
    }
    const ok = await save.run(async () => {
      if (policy) await write('PUT', `${base}/${policy.id}`, { ...policyBody(f), id: policy.id });
      else await write('POST', base, policyBody(f));
    });
    if (ok) onSaved();
  };

  const runTest = async () => {
    setResult(null);
    if (f.address.trim() === '') {
      test.setError('Endpoint URL is required.');
      return;
    }
    await test.run(async () => {
      const r = await write<TestResult>('POST', `${base}/test`, targetFromForm(f));
      setResult(r.data);
    });
  };

  const runPreview = async () => {
    setRendered(null);
    await preview.run(async () => {
      const r = await write<{ content_type: string; body: string }>('POST', `/projects/${projectId}/webhook/preview`, previewBody(f));
      setRendered(r.data);
    });
  };

  return (
    <Dialog open onClose={onClose} maxWidth="md" fullWidth aria-labelledby="webhook-dialog-title">
      <DialogTitle id="webhook-dialog-title">{policy ? 'Edit Webhook' : 'Add Webhook'}</DialogTitle>
      <DialogContent dividers>
        <ErrorAlert error={save.error} />
        <Stack spacing={2}>
          <TextField label="Name" required value={f.name} onChange={(e) => set('name', e.target.value)} autoFocus />
          <TextField label="Description" value={f.description} onChange={(e) => set('description', e.target.value)} multiline minRows={2} />
          <FormControlLabel control={<Switch checked={f.enabled} onChange={(e) => set('enabled', e.target.checked)} />} label="Enabled" />
          <Stack direction="row" spacing={2}>
            <FormControl fullWidth>
              <InputLabel id="wh-notify-type">Notify Type</InputLabel>
              <Select
                labelId="wh-notify-type"
                label="Notify Type"
                value={f.notifyType}
                onChange={(e) => {
                  const t = e.target.value;
                  setF((old) => ({ ...old, notifyType: t, payloadFormat: formatAfterTypeChange(events, old.payloadFormat, t) }));
                }}
              >
                {notifyTypes.map((t) => (
                  <MenuItem key={t} value={t}>
                    {notifyTypeLabel(t)}
                  </MenuItem>
                ))}
              </Select>
            </FormControl>
            {hasPayloadFormat(f.notifyType) ? (
              <FormControl fullWidth>
                <InputLabel id="wh-payload-format">Payload Format</InputLabel>
                <Select labelId="wh-payload-format" label="Payload Format" value={f.payloadFormat || defaultPayloadFormat(f.notifyType)} onChange={(e) => set('payloadFormat', e.target.value)}>
                  {formats.map((p) => (
                    <MenuItem key={p} value={p}>
                      {p}
                    </MenuItem>
                  ))}
                </Select>
              </FormControl>
            ) : null}
            {f.notifyType === 'http' && f.payloadFormat === 'CloudEvents' ? (
              <FormControl fullWidth>
                <InputLabel id="wh-ce-mode">CloudEvents mode</InputLabel>
                <Select labelId="wh-ce-mode" label="CloudEvents mode" value={f.cloudeventsMode} onChange={(e) => set('cloudeventsMode', e.target.value as WebhookForm['cloudeventsMode'])}>
                  <MenuItem value="structured">structured</MenuItem>
                  <MenuItem value="binary">binary</MenuItem>
                </Select>
              </FormControl>
            ) : null}
          </Stack>
          <FormControl component="fieldset">
            <FormLabel component="legend">Event Type</FormLabel>
            <FormGroup row>
              {eventTypes.map((t) => (
                <FormControlLabel
                  key={t}
                  sx={{ width: 240 }}
                  control={
                    <Checkbox
                      size="small"
                      checked={f.eventTypes.includes(t)}
                      onChange={(e) => set('eventTypes', e.target.checked ? [...f.eventTypes, t] : f.eventTypes.filter((x) => x !== t))}
                    />
                  }
                  label={eventLabel(t)}
                />
              ))}
            </FormGroup>
          </FormControl>
          {f.notifyType === 'http' && f.payloadFormat === 'Template' ? (
            <Stack spacing={1}>
              <TextField
                label="Template"
                required
                multiline
                minRows={5}
                value={f.template}
                onChange={(e) => set('template', e.target.value)}
                helperText="Liquid: {{ event.type }}, {{ event.repository.name }}, {{ payload.event_data | json }} … (docs/webhook-formats.md, Template)"
                slotProps={{ htmlInput: { spellCheck: false, style: { fontFamily: 'monospace' } } }}
              />
              <TextField label="Template content type" value={f.templateContentType} onChange={(e) => set('templateContentType', e.target.value)} helperText="Sent as Content-Type; JSON types must render valid JSON." />
            </Stack>
          ) : null}
          <TextField label="Endpoint URL" required value={f.address} onChange={(e) => set('address', e.target.value)} placeholder="http(s)://192.168.1.1" />
          {f.notifyType === 'http' ? (
            <Box>
              <TextField
                label="Auth Header"
                fullWidth
                value={f.authHeader}
                onChange={(e) => set('authHeader', e.target.value)}
                helperText={f.authHeaderSet ? 'An auth header is stored (never shown). Leave empty to keep it.' : 'Sent as the Authorization header.'}
              />
              {f.authHeaderSet ? <FormControlLabel control={<Checkbox checked={f.removeAuthHeader} onChange={(e) => set('removeAuthHeader', e.target.checked)} />} label="Remove the stored auth header" /> : null}
            </Box>
          ) : null}
          <FormControlLabel control={<Checkbox checked={f.verifyRemoteCert} onChange={(e) => set('verifyRemoteCert', e.target.checked)} />} label="Verify Remote Certificate" />
          {f.verifyRemoteCert ? (
            <TextField
              label="CA certificate (PEM)"
              multiline
              minRows={2}
              value={f.caCert}
              onChange={(e) => set('caCert', e.target.value)}
              helperText="Trusted for this endpoint besides the system's CAs, e.g. a private CA. Empty: none."
              slotProps={{ htmlInput: { spellCheck: false, style: { fontFamily: 'monospace', fontSize: 12 } } }}
            />
          ) : null}

          <Divider textAlign="left">
            <Typography variant="overline">Wharf extensions</Typography>
          </Divider>
          <Stack direction="row" spacing={2}>
            <TextField label="Repository filters" fullWidth multiline minRows={2} value={f.repoFilters} onChange={(e) => set('repoFilters', e.target.value)} helperText="Glob patterns, one per line (library/**). Empty: every repository." />
            <TextField label="Tag filters" fullWidth multiline minRows={2} value={f.tagFilters} onChange={(e) => set('tagFilters', e.target.value)} helperText="Glob patterns, one per line (v*). Empty: every tag." />
          </Stack>
          <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
            <Box sx={{ flexGrow: 1 }}>
              <TextField
                label="Signing secret"
                type="password"
                fullWidth
                autoComplete="new-password"
                value={f.secret}
                onChange={(e) => set('secret', e.target.value)}
                helperText={f.secretSet ? 'A secret is stored (never shown). Leave empty to keep it.' : 'Signs deliveries (Standard Webhooks); whsec_… accepted.'}
              />
              {f.secretSet ? <FormControlLabel control={<Checkbox checked={f.removeSecret} onChange={(e) => set('removeSecret', e.target.checked)} />} label="Remove the stored secret" /> : null}
            </Box>
            <FormControl sx={{ minWidth: 200 }}>
              <InputLabel id="wh-sig-style">Signature style</InputLabel>
              <Select labelId="wh-sig-style" label="Signature style" value={f.signatureStyle} onChange={(e) => set('signatureStyle', e.target.value as WebhookForm['signatureStyle'])}>
                <MenuItem value="standard">standard</MenuItem>
                <MenuItem value="github">github</MenuItem>
              </Select>
            </FormControl>
            <TextField label="Timeout (ms)" sx={{ width: 160 }} value={f.timeoutMs} onChange={(e) => set('timeoutMs', e.target.value)} helperText="Empty: default" slotProps={{ htmlInput: { inputMode: 'numeric' } }} />
          </Stack>
          <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
            <TextField
              label="Status filters"
              fullWidth
              value={f.statusFilters}
              onChange={(e) => set('statusFilters', e.target.value)}
              placeholder='{"scan_status": ["Error"]}'
              helperText="JSON: scan_status, replication_status, retention_status, quota_min_percent. Empty: every status."
            />
            <FormControlLabel sx={{ minWidth: 260 }} control={<Checkbox checked={f.foldPlatforms} onChange={(e) => set('foldPlatforms', e.target.checked)} />} label="One event per multi-platform push" />
          </Stack>
          <FormControl component="fieldset">
            <FormLabel component="legend">Custom headers</FormLabel>
            <Stack spacing={1} sx={{ mt: 1 }}>
              {f.headers.map((h, i) => (
                <Stack direction="row" spacing={1} key={i} sx={{ alignItems: 'center' }}>
                  <TextField size="small" label={`Header ${i + 1} name`} value={h.name} onChange={(e) => set('headers', f.headers.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
                  <TextField
                    size="small"
                    label={`Header ${i + 1} value`}
                    value={h.value}
                    placeholder={h.value === REDACTED ? 'stored' : ''}
                    onChange={(e) => set('headers', f.headers.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))}
                    sx={{ flexGrow: 1 }}
                  />
                  <IconButton aria-label={`Remove header ${i + 1}`} onClick={() => set('headers', f.headers.filter((_, j) => j !== i))}>
                    ×
                  </IconButton>
                </Stack>
              ))}
              <Box>
                <Button size="small" onClick={() => set('headers', [...f.headers, { name: '', value: '' }])}>
                  + Header
                </Button>
              </Box>
            </Stack>
          </FormControl>
          {policy && (f.authHeaderSet || f.secretSet || f.headers.some((h) => h.value === REDACTED) || f.address.includes(REDACTED)) ? (
            <Typography variant="caption" color="text.secondary">
              Test sends what this form holds: stored secrets (auth header, signing secret, header values, credentials in the URL) are never read back, so type them again to test with them.
            </Typography>
          ) : null}
          <ErrorAlert error={preview.error} />
          {rendered ? (
            <Box aria-label="Preview" role="region">
              <Typography variant="caption" color="text.secondary">
                Preview ({rendered.content_type}) of a sample {eventLabel(f.eventTypes[0] ?? 'PUSH_ARTIFACT')} event, not sent:
              </Typography>
              <Box component="pre" sx={{ m: 0, p: 1, bgcolor: 'action.hover', maxHeight: 240, overflow: 'auto', fontSize: 12, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                {rendered.body}
              </Box>
            </Box>
          ) : null}
          <ErrorAlert error={test.error} />
          {result ? (
            <Alert severity={result.success ? 'success' : 'error'} role="status">
              {result.success ? 'The endpoint answered' : 'The test failed'}
              {result.status_code !== null ? ` with status ${result.status_code}` : ''}
              {result.duration_ms !== null ? ` in ${result.duration_ms} ms` : ''}
              {result.error ? `: ${result.error}` : '.'}
            </Alert>
          ) : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={runPreview} disabled={preview.busy}>
          Preview
        </Button>
        <Button onClick={runTest} disabled={test.busy} sx={{ mr: 'auto' }}>
          Test
        </Button>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={save.busy}>
          {policy ? 'Save' : 'Add'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
