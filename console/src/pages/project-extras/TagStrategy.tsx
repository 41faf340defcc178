/**
 * A project's tag strategy (Harbor's "Policy" tab): tag-strategy/tag-retention and
 * tag-strategy/immutable-tag. Retention: the rules (templates from GET /retentions/metadatas,
 * repository and tag selectors, untagged), add/edit/enable/disable/delete, the schedule, "Dry
 * run" and "Run now", and the run history with per-repository tasks and their logs (docs/lifecycle.md).
 * Immutability: the rules with add, edit, enable/disable and delete.
 */
import { useEffect, useState } from 'react';
import { Link as RouterLink, Navigate, Route, Routes, useLocation } from 'react-router';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControl,
  FormControlLabel,
  InputLabel,
  List,
  ListItem,
  ListItemText,
  MenuItem,
  Paper,
  Select,
  Stack,
  Tab,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import { ConfirmDialog, ErrorAlert, Loading, PagedTable, type Column } from '../../components/common.tsx';
import { ApiError, get, getPage, write } from '../../lib/api.ts';
import { formatTime } from '../../lib/format.ts';
import { useApi, usePaged } from '../../lib/use-api.ts';
import type { ProjectTabProps } from './types.ts';
import { LogDialog, StatusChip, useAction } from './parts.tsx';
import {
  duration,
  emptyRuleForm,
  formFromRule,
  immutableRule,
  immutableRuleText,
  retentionPolicy,
  retentionRuleText,
  ruleFromForm,
  scheduleLabel,
  schedulePresets,
  templateTakesParam,
  type ImmutableRule,
  type RetentionMetadata,
  type RetentionPolicy,
  type RetentionRule,
  type RetentionRuleForm,
} from './rules.ts';

export function TagStrategy(props: ProjectTabProps) {
  const location = useLocation();
  const tab = location.pathname.includes('immutable-tag') ? 'immutable-tag' : 'tag-retention';
  const base = `/projects/${props.projectId}/tag-strategy`;
  return (
    <Box>
      <Tabs value={tab} aria-label="Tag strategy" sx={{ mb: 2 }}>
        <Tab label="Tag Retention" value="tag-retention" component={RouterLink} to={`${base}/tag-retention`} />
        <Tab label="Tag Immutability" value="immutable-tag" component={RouterLink} to={`${base}/immutable-tag`} />
      </Tabs>
      <Routes>
        <Route path="tag-retention" element={<Retention {...props} />} />
        <Route path="immutable-tag" element={<Immutability {...props} />} />
        <Route path="*" element={<Navigate to={`${base}/tag-retention`} replace />} />
      </Routes>
    </Box>
  );
}

interface RetentionExecution {
  id: number;
  policy_id: number;
  start_time: string;
  end_time: string;
  status: string;
  status_message?: string;
  trigger: string;
  dry_run: boolean;
}

interface RetentionTask {
  id: number;
  execution_id: number;
  repository: string;
  status: string;
  start_time: string;
  end_time: string;
  total: number;
  retained: number;
}

function Retention({ projectId, projectName }: ProjectTabProps) {
  const meta = useApi((signal) => get<RetentionMetadata>('/retentions/metadatas', { signal }), []);
  const [tick, setTick] = useState(0);
  const policy = useApi(
    async (signal) => {
      const p = await get<{ metadata?: Record<string, string> }>(`/projects/${projectId}`, { signal });
      const id = p.metadata?.retention_id;
      if (!id) return null;
      try {
        return await get<RetentionPolicy>(`/retentions/${id}`, { signal });
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }
    },
    [projectId, tick],
  );
  const reload = () => setTick((t) => t + 1);
  const [editing, setEditing] = useState<{ index: number | null; form: RetentionRuleForm } | null>(null);
  const [deleting, setDeleting] = useState<number | null>(null);
  const [confirmRun, setConfirmRun] = useState(false);
  const [historyTick, setHistoryTick] = useState(0);
  const act = useAction();
  const p = policy.data ?? null;
  const rules = p?.rules ?? [];

  /** Saves the rules (and cron): creates the policy the first time. */
  const saveRules = async (next: RetentionRule[], cron = p?.trigger.settings.cron ?? '') => {
    const body = retentionPolicy(projectId, next, cron, p ?? undefined);
    if (p?.id) await write('PUT', `/retentions/${p.id}`, body);
    else await write('POST', '/retentions', body);
    reload();
  };

  const run = (dryRun: boolean) =>
    act.run(async () => {
      if (!p?.id) throw new Error('Add a rule first.');
      await write('POST', `/retentions/${p.id}/executions`, { dry_run: dryRun });
      setHistoryTick((t) => t + 1);
    });

  if (policy.loading && !policy.data) return <Loading label="Loading the retention policy" />;
  return (
    <Box>
      <ErrorAlert error={meta.error ?? policy.error ?? act.error} />
      <Paper variant="outlined" sx={{ p: 2, mb: 2 }}>
        <Stack direction="row" sx={{ alignItems: 'center', mb: 1 }}>
          <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
            Retention rules {rules.length}/15
          </Typography>
          <Button variant="contained" disabled={rules.length >= 15} onClick={() => setEditing({ index: null, form: emptyRuleForm() })}>
            Add Rule
          </Button>
        </Stack>
        {rules.length === 0 ? <Typography variant="body2">No rule: nothing of {projectName} is deleted by retention.</Typography> : null}
        <List dense aria-label="Retention rules">
          {rules.map((r, i) => (
            <ListItem
              key={i}
              divider
              secondaryAction={
                <Stack direction="row" spacing={0.5}>
                  <Button size="small" onClick={() => setEditing({ index: i, form: formFromRule(r) })} aria-label={`Edit rule ${i + 1}`}>
                    Edit
                  </Button>
                  <Button size="small" disabled={act.busy} aria-label={`${r.disabled ? 'Enable' : 'Disable'} rule ${i + 1}`} onClick={() => act.run(() => saveRules(rules.map((x, j) => (j === i ? { ...x, disabled: !x.disabled } : x))))}>
                    {r.disabled ? 'Enable' : 'Disable'}
                  </Button>
                  <Button size="small" color="error" onClick={() => setDeleting(i)} aria-label={`Delete rule ${i + 1}`}>
                    Delete
                  </Button>
                </Stack>
              }
            >
              <ListItemText sx={{ pr: 28 }} primary={retentionRuleText(r, meta.data)} />
            </ListItem>
          ))}
        </List>
        <FormControlLabel
          control={
            <Checkbox
              checked={p?.summary_event === true}
              disabled={!p?.id || act.busy}
              onChange={(e) => {
                const on = e.target.checked;
                void act.run(async () => {
                  if (!p?.id) return;
                  await write('PUT', `/retentions/${p.id}`, { ...retentionPolicy(projectId, rules, p.trigger.settings.cron ?? '', p), summary_event: on });
                  reload();
                });
              }}
            />
          }
          label="One TAG_RETENTION event per run (Wharf: summary event)"
        />
        <Schedule cron={p?.trigger.settings.cron ?? ''} next={p?.trigger.settings.next_scheduled_time} disabled={!p?.id} onSave={(cron) => act.run(() => saveRules(rules, cron))} />
        <Stack direction="row" spacing={1} sx={{ mt: 2 }}>
          <Button variant="outlined" disabled={!p?.id || act.busy} onClick={() => run(true)}>
            Dry Run
          </Button>
          <Button variant="contained" color="warning" disabled={!p?.id || act.busy} onClick={() => setConfirmRun(true)}>
            Run Now
          </Button>
        </Stack>
      </Paper>
      {p?.id ? <RetentionHistory key={historyTick} policyId={p.id} /> : null}
      {editing ? (
        <RuleDialog
          meta={meta.data}
          initial={editing.form}
          onClose={() => setEditing(null)}
          onSave={async (rule) => {
            const next = editing.index === null ? [...rules, rule] : rules.map((x, j) => (j === editing.index ? { ...rule, disabled: x.disabled } : x));
            await saveRules(next);
            setEditing(null);
          }}
        />
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete rule"
        text="Delete this retention rule?"
        onClose={() => setDeleting(null)}
        onConfirm={() => saveRules(rules.filter((_, j) => j !== deleting))}
      />
      <ConfirmDialog
        open={confirmRun}
        title="Run retention now"
        confirmLabel="Run"
        text="Run the retention policy now? Artifacts no rule retains are deleted."
        onClose={() => setConfirmRun(false)}
        onConfirm={async () => {
          if (!p?.id) return;
          await write('POST', `/retentions/${p.id}/executions`, { dry_run: false });
          setHistoryTick((t) => t + 1);
        }}
      />
    </Box>
  );
}

function Schedule({ cron, next, disabled, onSave }: { cron: string; next?: string; disabled: boolean; onSave: (cron: string) => void }) {
  const [value, setValue] = useState(cron);
  useEffect(() => setValue(cron), [cron]);
  const preset = scheduleLabel(value);
  return (
    <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mt: 2 }}>
      <FormControl size="small" sx={{ minWidth: 140 }}>
        <InputLabel id="ret-schedule">Schedule</InputLabel>
        <Select labelId="ret-schedule" label="Schedule" value={preset} onChange={(e) => setValue(e.target.value === 'Custom' ? value || '0 0 0 * * *' : (schedulePresets.find((s) => s.label === e.target.value)?.cron ?? ''))}>
          {schedulePresets.map((s) => (
            <MenuItem key={s.label} value={s.label}>
              {s.label}
            </MenuItem>
          ))}
          <MenuItem value="Custom">Custom</MenuItem>
        </Select>
      </FormControl>
      <TextField size="small" label="Cron (UTC, seconds first)" value={value} onChange={(e) => setValue(e.target.value)} sx={{ width: 240 }} />
      <Button size="small" disabled={disabled || value === cron} onClick={() => onSave(value)}>
        Save Schedule
      </Button>
      {next ? <Typography variant="body2">Next run: {formatTime(next)}</Typography> : null}
    </Stack>
  );
}

function RuleDialog({ meta, initial, onClose, onSave }: { meta: RetentionMetadata | undefined; initial: RetentionRuleForm; onClose: () => void; onSave: (r: RetentionRule) => Promise<void> }) {
  const [f, setF] = useState(initial);
  const save = useAction();
  const set = <K extends keyof RetentionRuleForm>(k: K, v: RetentionRuleForm[K]) => setF((o) => ({ ...o, [k]: v }));
  const templates = meta?.templates ?? [];
  const unit = templates.find((t) => t.rule_template === f.template)?.params[0]?.unit;
  return (
    <Dialog open onClose={onClose} maxWidth="sm" fullWidth aria-labelledby="rule-dialog-title">
      <DialogTitle id="rule-dialog-title">Tag Retention Rule</DialogTitle>
      <DialogContent dividers>
        <ErrorAlert error={save.error} />
        <Stack spacing={2}>
          <Stack direction="row" spacing={1}>
            <FormControl sx={{ minWidth: 160 }}>
              <InputLabel id="rule-repo-dec">Repositories</InputLabel>
              <Select labelId="rule-repo-dec" label="Repositories" value={f.repoDecoration} onChange={(e) => set('repoDecoration', e.target.value as RetentionRuleForm['repoDecoration'])}>
                <MenuItem value="repoMatches">matching</MenuItem>
                <MenuItem value="repoExcludes">excluding</MenuItem>
              </Select>
            </FormControl>
            <TextField label="Repository pattern" fullWidth value={f.repoPattern} onChange={(e) => set('repoPattern', e.target.value)} helperText="** for all; a/**, {a,b}" />
          </Stack>
          <Stack direction="row" spacing={1}>
            <FormControl fullWidth>
              <InputLabel id="rule-template">By artifact count or number of days</InputLabel>
              <Select labelId="rule-template" label="By artifact count or number of days" value={f.template} onChange={(e) => set('template', e.target.value)}>
                {templates.map((t) => (
                  <MenuItem key={t.rule_template} value={t.rule_template}>
                    {t.display_text.replace('#', 'N')}
                  </MenuItem>
                ))}
              </Select>
            </FormControl>
            {templateTakesParam(meta, f.template) ? <TextField label={unit === 'DAYS' ? 'Days' : 'Count'} sx={{ width: 120 }} value={f.param} onChange={(e) => set('param', e.target.value)} slotProps={{ htmlInput: { inputMode: 'numeric' } }} /> : null}
          </Stack>
          <Stack direction="row" spacing={1}>
            <FormControl sx={{ minWidth: 160 }}>
              <InputLabel id="rule-tag-dec">Tags</InputLabel>
              <Select labelId="rule-tag-dec" label="Tags" value={f.tagDecoration} onChange={(e) => set('tagDecoration', e.target.value as RetentionRuleForm['tagDecoration'])}>
                <MenuItem value="matches">matching</MenuItem>
                <MenuItem value="excludes">excluding</MenuItem>
              </Select>
            </FormControl>
            <TextField label="Tag pattern" fullWidth value={f.tagPattern} onChange={(e) => set('tagPattern', e.target.value)} helperText="** for all; v*, {latest,stable}" />
          </Stack>
          <FormControlLabel control={<Checkbox checked={f.untagged} onChange={(e) => set('untagged', e.target.checked)} />} label="Untagged artifacts" />
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" disabled={save.busy} onClick={() => save.run(() => onSave(ruleFromForm(f, meta)))}>
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function RetentionHistory({ policyId }: { policyId: number }) {
  const list = usePaged<RetentionExecution>(`/retentions/${policyId}/executions`);
  const [open, setOpen] = useState<number | null>(null);
  const act = useAction();
  const running = (list.data?.items ?? []).some((e) => e.status === 'Running' || e.status === 'Pending');
  useEffect(() => {
    if (!running) return;
    const t = setInterval(list.reload, 2000);
    return () => clearInterval(t);
  }, [running, list.reload]);
  const columns: Column<RetentionExecution>[] = [
    { label: 'ID', render: (e) => e.id },
    { label: 'Status', render: (e) => <StatusChip status={e.status} /> },
    { label: 'Dry Run', render: (e) => (e.dry_run ? 'Yes' : 'No') },
    { label: 'Trigger', render: (e) => e.trigger },
    { label: 'Start Time', render: (e) => formatTime(e.start_time) },
    { label: 'Duration', render: (e) => duration(e.start_time, e.end_time) },
    {
      label: 'Actions',
      render: (e) => (
        <Stack direction="row" spacing={0.5}>
          <Button size="small" onClick={() => setOpen(open === e.id ? null : e.id)} aria-expanded={open === e.id} aria-label={`Tasks of run ${e.id}`}>
            {open === e.id ? 'Hide tasks' : 'Tasks'}
          </Button>
          {e.status === 'Running' || e.status === 'Pending' ? (
            <Button
              size="small"
              color="error"
              aria-label={`Stop run ${e.id}`}
              onClick={() =>
                act.run(async () => {
                  await write('PATCH', `/retentions/${policyId}/executions/${e.id}`, { action: 'stop' });
                  list.reload();
                })
              }
            >
              Stop
            </Button>
          ) : null}
        </Stack>
      ),
    },
  ];
  return (
    <Box>
      <Stack direction="row" sx={{ alignItems: 'center', mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Run history
        </Typography>
        <Button onClick={list.reload}>Refresh</Button>
      </Stack>
      <ErrorAlert error={act.error} />
      <PagedTable list={list} columns={columns} rowKey={(e) => e.id} label="Retention runs" empty="No run yet." />
      {open !== null ? <RetentionTasks policyId={policyId} executionId={open} /> : null}
    </Box>
  );
}

function RetentionTasks({ policyId, executionId }: { policyId: number; executionId: number }) {
  const path = `/retentions/${policyId}/executions/${executionId}/tasks`;
  const tasks = useApi((signal) => getPage<RetentionTask>(`${path}?page=1&page_size=100`, { signal }), [path]);
  const [log, setLog] = useState<RetentionTask | null>(null);
  return (
    <Paper variant="outlined" sx={{ p: 2, mt: 2 }} component="section" aria-label={`Tasks of run ${executionId}`}>
      <Typography variant="subtitle1" component="h3">
        Run {executionId}: one task per repository
      </Typography>
      <ErrorAlert error={tasks.error} />
      {tasks.loading ? <Loading /> : null}
      {tasks.data && tasks.data.items.length === 0 ? <Alert severity="info">No repository was selected by the rules.</Alert> : null}
      {tasks.data && tasks.data.items.length > 0 ? (
        <Table size="small" aria-label={`Retention tasks of run ${executionId}`}>
          <TableHead>
            <TableRow>
              <TableCell>Repository</TableCell>
              <TableCell>Status</TableCell>
              <TableCell>Retained / Total</TableCell>
              <TableCell>Start Time</TableCell>
              <TableCell>Duration</TableCell>
              <TableCell>Log</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {tasks.data.items.map((t) => (
              <TableRow key={t.id}>
                <TableCell>{t.repository}</TableCell>
                <TableCell>
                  <StatusChip status={t.status} />
                </TableCell>
                <TableCell>
                  {t.retained} / {t.total}
                </TableCell>
                <TableCell>{formatTime(t.start_time)}</TableCell>
                <TableCell>{duration(t.start_time, t.end_time)}</TableCell>
                <TableCell>
                  <Button size="small" onClick={() => setLog(t)} aria-label={`Log of ${t.repository}`}>
                    Log
                  </Button>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}
      {tasks.data && tasks.data.total !== null && tasks.data.total > tasks.data.items.length ? <Typography variant="body2">Showing the first {tasks.data.items.length} of {tasks.data.total} repositories.</Typography> : null}
      <LogDialog title={`Retention log of ${log?.repository ?? ''}`} path={log ? `${path}/${log.id}` : null} onClose={() => setLog(null)} />
    </Paper>
  );
}

function Immutability({ projectId }: ProjectTabProps) {
  const base = `/projects/${projectId}/immutabletagrules`;
  const list = usePaged<ImmutableRule>(base);
  const [editing, setEditing] = useState<ImmutableRule | 'new' | null>(null);
  const [deleting, setDeleting] = useState<ImmutableRule | null>(null);
  const act = useAction();
  const columns: Column<ImmutableRule>[] = [
    { label: 'Rule', render: (r) => immutableRuleText(r) },
    { label: 'Status', render: (r) => <Chip size="small" variant="outlined" label={r.disabled ? 'Disabled' : 'Enabled'} color={r.disabled ? 'default' : 'success'} /> },
    {
      label: 'Actions',
      render: (r) => (
        <Stack direction="row" spacing={0.5}>
          <Button size="small" onClick={() => setEditing(r)} aria-label={`Edit immutability rule ${r.id}`}>
            Edit
          </Button>
          <Button
            size="small"
            disabled={act.busy}
            aria-label={`${r.disabled ? 'Enable' : 'Disable'} immutability rule ${r.id}`}
            onClick={() =>
              act.run(async () => {
                await write('PUT', `${base}/${r.id}`, { ...r, disabled: !r.disabled });
                list.reload();
              })
            }
          >
            {r.disabled ? 'Enable' : 'Disable'}
          </Button>
          <Button size="small" color="error" onClick={() => setDeleting(r)} aria-label={`Delete immutability rule ${r.id}`}>
            Delete
          </Button>
        </Stack>
      ),
    },
  ];
  return (
    <Box>
      <Stack direction="row" sx={{ alignItems: 'center', mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Immutability rules
        </Typography>
        <Button variant="contained" onClick={() => setEditing('new')}>
          Add Rule
        </Button>
      </Stack>
      <ErrorAlert error={act.error} />
      <PagedTable list={list} columns={columns} rowKey={(r) => r.id ?? 0} label="Immutability rules" empty="No immutability rule." />
      {editing !== null ? (
        <ImmutableDialog
          rule={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSave={async (r) => {
            if (editing === 'new') await write('POST', base, r);
            else await write('PUT', `${base}/${editing.id}`, { ...editing, ...r, id: editing.id, disabled: editing.disabled });
            setEditing(null);
            list.reload();
          }}
        />
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete immutability rule"
        text={deleting ? `Delete the rule "${immutableRuleText(deleting)}"?` : ''}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await write('DELETE', `${base}/${deleting.id}`);
          list.reload();
        }}
      />
    </Box>
  );
}

function ImmutableDialog({ rule, onClose, onSave }: { rule: ImmutableRule | null; onClose: () => void; onSave: (r: ImmutableRule) => Promise<void> }) {
  const repo = rule?.scope_selectors.repository[0];
  const tag = rule?.tag_selectors[0];
  const [repoDec, setRepoDec] = useState<'repoMatches' | 'repoExcludes'>(repo?.decoration === 'repoExcludes' || repo?.decoration === 'excludes' ? 'repoExcludes' : 'repoMatches');
  const [repoPattern, setRepoPattern] = useState(repo?.pattern ?? '**');
  const [tagDec, setTagDec] = useState<'matches' | 'excludes'>(tag?.decoration === 'excludes' ? 'excludes' : 'matches');
  const [tagPattern, setTagPattern] = useState(tag?.pattern ?? '**');
  const save = useAction();
  return (
    <Dialog open onClose={onClose} maxWidth="sm" fullWidth aria-labelledby="imm-dialog-title">
      <DialogTitle id="imm-dialog-title">{rule ? 'Edit Immutability Rule' : 'Add Immutability Rule'}</DialogTitle>
      <DialogContent dividers>
        <ErrorAlert error={save.error} />
        <Stack spacing={2}>
          <Stack direction="row" spacing={1}>
            <FormControl sx={{ minWidth: 160 }}>
              <InputLabel id="imm-repo-dec">Repositories</InputLabel>
              <Select labelId="imm-repo-dec" label="Repositories" value={repoDec} onChange={(e) => setRepoDec(e.target.value as 'repoMatches' | 'repoExcludes')}>
                <MenuItem value="repoMatches">matching</MenuItem>
                <MenuItem value="repoExcludes">excluding</MenuItem>
              </Select>
            </FormControl>
            <TextField label="Repository pattern" fullWidth value={repoPattern} onChange={(e) => setRepoPattern(e.target.value)} />
          </Stack>
          <Stack direction="row" spacing={1}>
            <FormControl sx={{ minWidth: 160 }}>
              <InputLabel id="imm-tag-dec">Tags</InputLabel>
              <Select labelId="imm-tag-dec" label="Tags" value={tagDec} onChange={(e) => setTagDec(e.target.value as 'matches' | 'excludes')}>
                <MenuItem value="matches">matching</MenuItem>
                <MenuItem value="excludes">excluding</MenuItem>
              </Select>
            </FormControl>
            <TextField label="Tag pattern" fullWidth value={tagPattern} onChange={(e) => setTagPattern(e.target.value)} />
          </Stack>
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" disabled={save.busy} onClick={() => save.run(() => onSave(immutableRule(repoDec, repoPattern, tagDec, tagPattern)))}>
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}
