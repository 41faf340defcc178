/**
 * Pieces the administration pages share: a form dialog that shows the API's message and stays
 * open on failure, a status chip, a dialog that shows a job's log, polling while a job runs,
 * a schedule editor (None/Hourly/Daily/Weekly/Custom cron, as Harbor's), tabs that are links,
 * and a small labelled native select (keyboard friendly, and easy for tests to pick by label).
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link as RouterLink, useLocation } from 'react-router';
import { Box, Button, Chip, Dialog, DialogActions, DialogContent, DialogTitle, Tab, Tabs, TextField, Typography, type TextFieldProps } from '@mui/material';
import { ErrorAlert, Loading, PlainTable as SharedPlainTable, type Column } from '../../components/common.tsx';
import { cronProblem, presetCrons, statusColor, type ScheduleType, type ScheduleView } from './lib.ts';

let dialogSeq = 0;

/** A dialog with a form: `onSubmit` may reject, then its message is shown and the dialog stays open. */
export function FormDialog({
  open,
  title,
  submitLabel = 'OK',
  onClose,
  onSubmit,
  children,
  maxWidth = 'sm',
}: {
  open: boolean;
  title: string;
  submitLabel?: string;
  onClose: () => void;
  onSubmit: () => Promise<void>;
  children: ReactNode;
  maxWidth?: 'xs' | 'sm' | 'md' | 'lg';
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [id] = useState(() => `form-dialog-${++dialogSeq}`);
  useEffect(() => {
    if (open) setError(null);
  }, [open]);
  return (
    <Dialog open={open} onClose={busy ? undefined : onClose} aria-labelledby={id} fullWidth maxWidth={maxWidth}>
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await onSubmit();
            onClose();
          } catch (err) {
            setError(err instanceof Error ? err.message : String(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <DialogTitle id={id}>{title}</DialogTitle>
        <DialogContent>
          <ErrorAlert error={error} />
          <Box sx={{ display: 'flex', flexDirection: 'column', gap: 2, pt: 1 }}>{children}</Box>
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button type="submit" variant="contained" disabled={busy}>
            {submitLabel}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

/** A labelled native select: `options` as [value, label]. */
export function SelectField({ label, value, onChange, options, ...rest }: { label: string; value: string; onChange: (v: string) => void; options: readonly (readonly [string, string])[] } & Omit<TextFieldProps, 'onChange' | 'value' | 'select'>) {
  return (
    <TextField {...rest} select label={label} value={value} onChange={(e) => onChange(e.target.value)} slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
      {options.map(([v, l]) => (
        <option key={v} value={v}>
          {l}
        </option>
      ))}
    </TextField>
  );
}

export function StatusChip({ status }: { status: string | null | undefined }) {
  if (!status) return null;
  return <Chip size="small" label={status} color={statusColor(status)} variant="outlined" />;
}

/** Calls `tick` every `ms` while `active`. */
export function usePoll(active: boolean, tick: () => void, ms = 2000): void {
  const ref = useRef(tick);
  ref.current = tick;
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => ref.current(), ms);
    return () => clearInterval(t);
  }, [active, ms]);
}

/** A dialog showing a log (text) that `load` fetches; reloads every 2 s while `live`. */
export function LogDialog({ title, load, onClose, live = false }: { title: string; load: (() => Promise<string>) | null; onClose: () => void; live?: boolean }) {
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  usePoll(!!load && live, () => setTick((t) => t + 1));
  useEffect(() => {
    if (!load) {
      setText(null);
      setError(null);
      return;
    }
    let gone = false;
    load().then(
      (t) => !gone && (setText(t), setError(null)),
      (e: unknown) => !gone && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      gone = true;
    };
  }, [load, tick]);
  return (
    <Dialog open={!!load} onClose={onClose} fullWidth maxWidth="lg" aria-labelledby="log-dialog-title">
      <DialogTitle id="log-dialog-title">{title}</DialogTitle>
      <DialogContent>
        <ErrorAlert error={error} />
        {text === null && !error ? <Loading label="Loading the log" /> : null}
        {text !== null ? (
          <Box component="pre" aria-label="Log" sx={{ fontFamily: 'monospace', fontSize: 12, whiteSpace: 'pre-wrap', wordBreak: 'break-all', m: 0, p: 1, bgcolor: 'action.hover', borderRadius: 1, maxHeight: '65vh', overflow: 'auto' }}>
            {text === '' ? '(the log is empty)' : text}
          </Box>
        ) : null}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}

const scheduleTypes: readonly (readonly [ScheduleType, string])[] = [
  ['None', 'None'],
  ['Hourly', 'Hourly'],
  ['Daily', 'Daily'],
  ['Weekly', 'Weekly'],
  ['Custom', 'Custom'],
];

/** Harbor's schedule editor: a type, a cron for Custom (six fields, UTC), and Save. */
export function ScheduleEditor({ label, value, onSave, extra }: { label: string; value: ScheduleView; onSave: (v: ScheduleView) => Promise<void>; extra?: ReactNode }) {
  const [draft, setDraft] = useState<ScheduleView>(value);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => setDraft(value), [value.type, value.cron]); // eslint-disable-line react-hooks/exhaustive-deps
  const problem = draft.type === 'Custom' ? cronProblem(draft.cron) : null;
  const shownCron = draft.type === 'Custom' ? draft.cron : draft.type === 'None' ? '' : presetCrons[draft.type];
  return (
    <Box component="section" aria-label={label} sx={{ mb: 3 }}>
      <Typography variant="subtitle1" component="h2" sx={{ mb: 1 }}>
        {label}
      </Typography>
      <ErrorAlert error={error} />
      <Box sx={{ display: 'flex', gap: 2, alignItems: 'flex-start', flexWrap: 'wrap' }}>
        <SelectField label="Schedule" size="small" value={draft.type} onChange={(t) => setDraft({ type: t as ScheduleType, cron: t === 'Custom' ? draft.cron || value.cron : '' })} options={scheduleTypes} sx={{ minWidth: 140 }} />
        <TextField
          size="small"
          label="Cron (UTC, seconds first)"
          value={shownCron}
          disabled={draft.type !== 'Custom'}
          onChange={(e) => setDraft({ type: 'Custom', cron: e.target.value })}
          error={!!problem && draft.cron !== ''}
          helperText={draft.type === 'Custom' ? (problem ?? ' ') : ' '}
          sx={{ minWidth: 260 }}
        />
        {extra}
        <Button
          variant="outlined"
          disabled={busy || !!problem}
          onClick={async () => {
            setBusy(true);
            setError(null);
            setSaved(false);
            try {
              await onSave(draft);
              setSaved(true);
            } catch (e) {
              setError(e instanceof Error ? e.message : String(e));
            } finally {
              setBusy(false);
            }
          }}
        >
          Save
        </Button>
        {saved ? (
          <Typography role="status" color="success.main" sx={{ alignSelf: 'center' }}>
            Saved
          </Typography>
        ) : null}
      </Box>
    </Box>
  );
}

/** Tabs that are links to sub-routes (`base` + each `path`). */
export function LinkTabs({ base, tabs, label }: { base: string; tabs: { path: string; label: string }[]; label: string }) {
  const location = useLocation();
  const current = tabs.findIndex((t) => location.pathname.startsWith(`${base}/${t.path}`));
  return (
    <Tabs value={current < 0 ? 0 : current} aria-label={label} sx={{ mb: 2 }}>
      {tabs.map((t) => (
        <Tab key={t.path} label={t.label} component={RouterLink} to={`${base}/${t.path}`} />
      ))}
    </Tabs>
  );
}

/** The message of a thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A table of a short list the API does not page (queues, pools, workers): the spinner only while nothing is shown yet. */
export function PlainTable<T>({ rows, loading = false, ...rest }: { rows: T[] | undefined; columns: Column<T>[]; rowKey: (row: T) => string | number; label: string; empty?: string; loading?: boolean; error?: string | null }) {
  return <SharedPlainTable rows={rows} loading={loading && (rows ?? []).length === 0} {...rest} />;
}
