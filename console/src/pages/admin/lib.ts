/**
 * Pure helpers of the administration pages (unit-tested in lib.test.ts): the audit log's `q`
 * filter, job schedules and their crons, job states, replication policies between the API's
 * shape and the form's, quota limits, and Harbor's password rule as a hint before the server says.
 */

/** Quotes a `q` value that holds a space, a comma or a quote, as Harbor's parser reads it. */
export function qValue(v: string): string {
  if (!/[\s,"'{}()[\]~]/.test(v)) return v;
  return v.includes('"') ? `'${v}'` : `"${v}"`;
}

export interface AuditFilter {
  username?: string;
  resource?: string;
  resourceType?: string;
  operation?: string;
  /** ISO 8601 or '' (open). */
  from?: string;
  to?: string;
}

/** The audit log's `q`: substring matches on user and resource, exact type and operation, an `op_time` range. */
export function auditQuery(f: AuditFilter): string {
  const terms: string[] = [];
  if (f.username?.trim()) terms.push(`username=~${qValue(f.username.trim())}`);
  if (f.resource?.trim()) terms.push(`resource=~${qValue(f.resource.trim())}`);
  if (f.resourceType?.trim()) terms.push(`resource_type=${qValue(f.resourceType.trim())}`);
  if (f.operation?.trim()) terms.push(`operation=${qValue(f.operation.trim())}`);
  if (f.from || f.to) terms.push(`op_time=[${f.from ?? ''}~${f.to ?? ''}]`);
  return terms.join(',');
}

/** A `datetime-local` input's value (the browser's time zone) as ISO 8601 in UTC; '' when empty or invalid. */
export function localToIso(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Harbor's schedule types for GC, audit purge and scan all. */
export type ScheduleType = 'None' | 'Hourly' | 'Daily' | 'Weekly' | 'Custom';

export const presetCrons: Record<'Hourly' | 'Daily' | 'Weekly', string> = {
  Hourly: '0 0 * * * *',
  Daily: '0 0 0 * * *',
  Weekly: '0 0 0 * * 0',
};

/** Why a six-field cron (seconds first, UTC) would be refused, or null when it looks right. */
export function cronProblem(cron: string): string | null {
  const fields = cron.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 6) return 'a cron has six fields: seconds, minutes, hours, day of month, month, day of week';
  if (fields[0] !== '0') return 'the seconds field must be 0';
  if (!fields.every((f) => /^[0-9*/,?LW#A-Za-z-]+$/.test(f))) return 'a field holds characters a cron cannot have';
  return null;
}

export interface ScheduleView {
  type: ScheduleType;
  cron: string;
}

/** The schedule a `GET …/schedule` answered (`{}` or `{schedule:{type,cron}}`) as the editor shows it. */
export function scheduleOf(answer: unknown): ScheduleView {
  const s = (answer as { schedule?: { type?: string; cron?: string } | null } | null)?.schedule;
  if (!s?.type) return { type: 'None', cron: '' };
  const type = (['Hourly', 'Daily', 'Weekly', 'Custom'] as const).find((t) => t.toLowerCase() === s.type!.toLowerCase());
  if (!type) return { type: s.cron ? 'Custom' : 'None', cron: s.cron ?? '' };
  return { type, cron: s.cron ?? (type === 'Custom' ? '' : presetCrons[type]) };
}

/** The body of `PUT …/schedule`: `{schedule:{type,cron?}, parameters}`. */
export function scheduleBody(view: ScheduleView, parameters: Record<string, unknown> = {}): { schedule: { type: string; cron?: string }; parameters: Record<string, unknown> } {
  const schedule: { type: string; cron?: string } = { type: view.type };
  if (view.type === 'Custom') schedule.cron = view.cron.trim();
  return { schedule, parameters };
}

/** A job's `job_parameters` (a JSON string) as an object; {} when absent or not JSON. */
export function jobParameters(s: string | null | undefined): Record<string, unknown> {
  if (!s) return {};
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const running = new Set(['pending', 'running', 'inprogress', 'in_progress', 'scheduled', 'queued']);

/** True while a job, execution or task may still change (poll it). */
export function isRunning(status: string | null | undefined): boolean {
  return !!status && running.has(status.toLowerCase());
}

/** The colour of a status chip. */
export function statusColor(status: string | null | undefined): 'success' | 'error' | 'warning' | 'info' | 'default' {
  const s = (status ?? '').toLowerCase();
  if (s === 'success' || s === 'succeed' || s === 'succeeded' || s === 'healthy') return 'success';
  if (s === 'error' || s === 'failed' || s === 'unhealthy') return 'error';
  if (s === 'stopped') return 'warning';
  if (running.has(s)) return 'info';
  return 'default';
}

/** Counts of a replication execution as a percentage done (0–100), from total and finished tasks. */
export function executionPercent(e: { total?: number; succeed?: number; failed?: number; stopped?: number }): number {
  const total = e.total ?? 0;
  if (total <= 0) return 0;
  const done = (e.succeed ?? 0) + (e.failed ?? 0) + (e.stopped ?? 0);
  return Math.min(100, Math.round((done / total) * 100));
}

/** Harbor's password rule (8–128 characters, an upper-case and a lower-case letter and a digit): what is missing, or null. */
export function passwordProblem(pw: string): string | null {
  if (pw.length < 8 || pw.length > 128) return 'the password needs 8 to 128 characters';
  const missing: string[] = [];
  if (!/[A-Z]/.test(pw)) missing.push('an upper-case letter');
  if (!/[a-z]/.test(pw)) missing.push('a lower-case letter');
  if (!/[0-9]/.test(pw)) missing.push('a digit');
  return missing.length ? `the password needs ${missing.join(', ')}` : null;
}

export type SizeUnit = 'MiB' | 'GiB' | 'TiB';

/** A storage limit (bytes, -1 unlimited) as the quota editor shows it. */
export function limitToInput(bytes: number | null | undefined): { unlimited: boolean; value: string; unit: SizeUnit } {
  if (bytes === null || bytes === undefined || bytes < 0) return { unlimited: true, value: '', unit: 'GiB' };
  for (const [unit, f] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20]] as const) {
    if (bytes >= f && bytes % f === 0) return { unlimited: false, value: String(bytes / f), unit };
  }
  return { unlimited: false, value: String(Math.round((bytes / 2 ** 20) * 100) / 100), unit: 'MiB' };
}

/** The editor's value as bytes, or an error message. */
export function limitFromInput(v: { unlimited: boolean; value: string; unit: SizeUnit }): number | string {
  if (v.unlimited) return -1;
  const n = Number(v.value);
  if (v.value.trim() === '' || !Number.isFinite(n) || n <= 0) return 'enter a positive number, or choose unlimited';
  const f = v.unit === 'MiB' ? 2 ** 20 : v.unit === 'GiB' ? 2 ** 30 : 2 ** 40;
  return Math.round(n * f);
}

/** A registry endpoint as the API shows it (secret masked). */
export interface Registry {
  id: number;
  name: string;
  type: string;
  url: string;
  insecure: boolean;
  description?: string;
  ca_certificate?: string | null;
  credential?: { type?: string; access_key?: string; access_secret?: string };
  status?: string;
  creation_time?: string;
  update_time?: string;
}

export interface ReplicationFilter {
  type: string;
  value: unknown;
  decoration?: string;
}

/** A replication policy as `GET /replication/policies/{id}` shows it. */
export interface ReplicationPolicy {
  id: number;
  name: string;
  description?: string;
  src_registry?: Registry | null;
  dest_registry?: Registry | null;
  dest_namespace?: string;
  dest_namespace_replace_count?: number;
  trigger?: { type: string; trigger_settings?: { cron?: string } | null } | null;
  filters?: ReplicationFilter[] | null;
  replicate_deletion?: boolean;
  deletion?: boolean;
  override?: boolean;
  enabled?: boolean;
  speed?: number;
  copy_by_chunk?: boolean;
  single_active_replication?: boolean;
  event_mode?: string;
  event_status_filter?: string;
  creation_time?: string;
  update_time?: string;
}

/** The replication rule form: flat strings and booleans. */
export interface PolicyForm {
  name: string;
  description: string;
  mode: 'push' | 'pull';
  /** The remote endpoint: the destination when pushing, the source when pulling. */
  registryId: string;
  nameFilter: string;
  tagFilter: string;
  tagDecoration: 'matches' | 'excludes';
  labelFilter: string;
  labelDecoration: 'matches' | 'excludes';
  resource: '' | 'image' | 'artifact';
  destNamespace: string;
  /** -1 (flatten all but the last), 0..3 */
  flattening: string;
  trigger: 'manual' | 'scheduled' | 'event_based';
  cron: string;
  deletion: boolean;
  override: boolean;
  enabled: boolean;
  speed: string;
  copyByChunk: boolean;
  singleActive: boolean;
  eventMode: 'per_task' | 'summary';
  eventStatusFilter: 'all' | 'failures';
}

export function emptyPolicyForm(): PolicyForm {
  return {
    name: '',
    description: '',
    mode: 'push',
    registryId: '',
    nameFilter: '',
    tagFilter: '',
    tagDecoration: 'matches',
    labelFilter: '',
    labelDecoration: 'matches',
    resource: '',
    destNamespace: '',
    flattening: '-1',
    trigger: 'manual',
    cron: '',
    deletion: false,
    override: true,
    enabled: true,
    speed: '',
    copyByChunk: false,
    singleActive: false,
    eventMode: 'per_task',
    eventStatusFilter: 'all',
  };
}

const isLocal = (r: Registry | null | undefined) => !r || !r.id;

/** The form for editing `p`. */
export function policyToForm(p: ReplicationPolicy): PolicyForm {
  const f = emptyPolicyForm();
  const pull = isLocal(p.dest_registry) && !isLocal(p.src_registry);
  f.name = p.name;
  f.description = p.description ?? '';
  f.mode = pull ? 'pull' : 'push';
  const remote = pull ? p.src_registry : p.dest_registry;
  f.registryId = remote?.id ? String(remote.id) : '';
  for (const flt of p.filters ?? []) {
    if (flt.type === 'name' && typeof flt.value === 'string') f.nameFilter = flt.value;
    if (flt.type === 'tag' && typeof flt.value === 'string') {
      f.tagFilter = flt.value;
      f.tagDecoration = flt.decoration === 'excludes' ? 'excludes' : 'matches';
    }
    if (flt.type === 'label') {
      f.labelFilter = Array.isArray(flt.value) ? flt.value.join(', ') : String(flt.value ?? '');
      f.labelDecoration = flt.decoration === 'excludes' ? 'excludes' : 'matches';
    }
    if (flt.type === 'resource' && (flt.value === 'image' || flt.value === 'artifact')) f.resource = flt.value;
  }
  f.destNamespace = p.dest_namespace ?? '';
  f.flattening = String(p.dest_namespace_replace_count ?? -1);
  const t = p.trigger?.type;
  f.trigger = t === 'scheduled' || t === 'event_based' ? t : 'manual';
  f.cron = p.trigger?.trigger_settings?.cron ?? '';
  f.deletion = !!(p.deletion || p.replicate_deletion);
  f.override = p.override ?? true;
  f.enabled = p.enabled ?? false;
  f.speed = p.speed && p.speed > 0 ? String(p.speed) : '';
  f.copyByChunk = !!p.copy_by_chunk;
  f.singleActive = !!p.single_active_replication;
  f.eventMode = p.event_mode === 'summary' ? 'summary' : 'per_task';
  f.eventStatusFilter = p.event_status_filter === 'failures' ? 'failures' : 'all';
  return f;
}

/** The body of `POST`/`PUT /replication/policies` from the form, or an error message. */
export function formToPolicy(f: PolicyForm): Record<string, unknown> | string {
  if (!f.name.trim()) return 'a rule needs a name';
  if (!f.registryId) return f.mode === 'push' ? 'choose the destination registry' : 'choose the source registry';
  if (f.trigger === 'scheduled') {
    const p = cronProblem(f.cron);
    if (p) return `cron: ${p}`;
  }
  let speed = 0;
  if (f.speed.trim() !== '') {
    speed = Number(f.speed);
    if (!Number.isInteger(speed) || speed < 0) return 'the speed is a whole number of KB/s (empty or 0: unlimited)';
  }
  const filters: ReplicationFilter[] = [];
  if (f.nameFilter.trim()) filters.push({ type: 'name', value: f.nameFilter.trim() });
  if (f.tagFilter.trim()) filters.push({ type: 'tag', value: f.tagFilter.trim(), decoration: f.tagDecoration });
  const labels = f.labelFilter
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (labels.length) filters.push({ type: 'label', value: labels, decoration: f.labelDecoration });
  if (f.resource) filters.push({ type: 'resource', value: f.resource });
  const remote = { id: Number(f.registryId) };
  return {
    name: f.name.trim(),
    description: f.description,
    src_registry: f.mode === 'pull' ? remote : null,
    dest_registry: f.mode === 'push' ? remote : null,
    dest_namespace: f.destNamespace.trim(),
    dest_namespace_replace_count: Number(f.flattening),
    trigger: f.trigger === 'scheduled' ? { type: 'scheduled', trigger_settings: { cron: f.cron.trim() } } : { type: f.trigger },
    filters,
    deletion: f.deletion,
    override: f.override,
    enabled: f.enabled,
    speed,
    copy_by_chunk: f.copyByChunk,
    single_active_replication: f.singleActive,
    event_mode: f.eventMode,
    event_status_filter: f.eventStatusFilter,
  };
}

/** Harbor's flattening choices for `dest_namespace_replace_count`. */
export const flatteningLevels: { value: string; label: string }[] = [
  { value: '-1', label: 'Flatten all levels' },
  { value: '0', label: 'No flattening' },
  { value: '1', label: 'Flatten 1 level' },
  { value: '2', label: 'Flatten 2 levels' },
  { value: '3', label: 'Flatten 3 levels' },
];

/**
 * Where `repo` (`library/a/b`) lands under a namespace and flattening level, for the form's
 * preview: the namespace replaces that many leading components before the last (-1: all of them);
 * null when the repository has fewer such components than the level asks for (the run refuses it).
 */
export function destinationName(repo: string, namespace: string, replaceCount: number): string | null {
  const ns = namespace.trim();
  const parts = repo.split('/');
  const last = parts[parts.length - 1] ?? repo;
  const prefixes = parts.slice(0, -1);
  if (!ns) return repo;
  if (replaceCount < 0) return `${ns}/${last}`;
  if (replaceCount > prefixes.length) return null;
  return [ns, ...prefixes.slice(replaceCount), last].join('/');
}

/** Event types the audit log purge offers (Harbor's `<operation>_<resource_type>`). */
export const purgeEventTypes = ['create_artifact', 'delete_artifact', 'pull_artifact', 'create_tag', 'delete_tag', 'create_repository', 'delete_repository', 'create_project', 'delete_project', 'update_project', 'login_user'] as const;

/**
 * The parameters of an audit log purge: `audit_retention_hour` from a number of hours or days,
 * `include_event_types` comma-separated (left out when every offered type is chosen: every entry),
 * or an error message.
 */
export function purgeParameters(v: { keep: string; unit: 'hours' | 'days'; types: readonly string[]; dryRun: boolean }): Record<string, unknown> | string {
  const n = Number(v.keep);
  if (v.keep.trim() === '' || !Number.isInteger(n) || n <= 0) return 'keep records for a whole number of hours or days, at least 1';
  if (v.types.length === 0) return 'choose at least one event type';
  const params: Record<string, unknown> = { audit_retention_hour: v.unit === 'days' ? n * 24 : n, dry_run: v.dryRun };
  const all = purgeEventTypes.every((t) => v.types.includes(t));
  if (!all) params.include_event_types = v.types.join(',');
  return params;
}

/** The purge form read back from stored parameters (`job_parameters`). */
export function purgeFormOf(p: Record<string, unknown>): { keep: string; unit: 'hours' | 'days'; types: string[] } {
  const hours = typeof p.audit_retention_hour === 'number' ? p.audit_retention_hour : Number(p.audit_retention_hour ?? 0);
  const keep = Number.isFinite(hours) && hours > 0 ? (hours % 24 === 0 ? { keep: String(hours / 24), unit: 'days' as const } : { keep: String(hours), unit: 'hours' as const }) : { keep: '30', unit: 'days' as const };
  const given = typeof p.include_event_types === 'string' && p.include_event_types.trim() ? p.include_event_types.split(',').map((s) => s.trim().toLowerCase()) : null;
  return { ...keep, types: given ?? [...purgeEventTypes] };
}

/** One line about what a GC or purge run did, from Wharf's `report`. */
export function jobReportText(report: Record<string, unknown> | null | undefined, formatBytes: (n: number) => string): string {
  if (!report) return '';
  const dry = report.dry_run === true;
  if ('blobs_deleted' in report) {
    const blobs = Number(report.blobs_deleted ?? 0);
    const bytes = Number(report.bytes_freed ?? 0);
    const arts = Number(report.artifacts_deleted ?? 0);
    const verb = dry ? 'would delete' : 'deleted';
    return `${verb} ${blobs} blob(s), ${formatBytes(bytes)}${arts ? `, ${arts} untagged artifact(s)` : ''}${dry ? ' (dry run)' : ''}`;
  }
  if ('deleted' in report) return `${dry ? 'would delete' : 'deleted'} ${Number(report.deleted ?? 0)} entries${dry ? ' (dry run)' : ''}`;
  return '';
}

/** A `GET /configurations` entry: Harbor's `{value, editable}`. */
export interface ConfigItem {
  value: unknown;
  editable: boolean;
}

/** The keys of `draft` that differ from `stored` and may be changed: the body of `PUT /configurations`. */
export function configChanges(stored: Record<string, ConfigItem>, draft: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, item] of Object.entries(stored)) {
    if (!item.editable || !(k in draft)) continue;
    if (JSON.stringify(draft[k]) !== JSON.stringify(item.value)) out[k] = draft[k];
  }
  return out;
}

/** The CVE ids typed in a text area (one per line, or separated by commas or spaces), without repeats. */
export function parseCveIds(text: string): string[] {
  const seen = new Set<string>();
  for (const raw of text.split(/[\s,]+/)) {
    const id = raw.trim();
    if (id) seen.add(id);
  }
  return [...seen];
}

/** `expires_at` (seconds since the epoch, null: never) from a date input's value (`YYYY-MM-DD`, the end of that day UTC). */
export function expiresAtOf(date: string): number | null {
  if (!date) return null;
  const t = Date.parse(`${date}T23:59:59Z`);
  return Number.isNaN(t) ? null : Math.floor(t / 1000);
}

/** The date input's value for `expires_at`. */
export function dateOfExpiry(expiresAt: number | null | undefined): string {
  if (!expiresAt) return '';
  return new Date(expiresAt * 1000).toISOString().slice(0, 10);
}
