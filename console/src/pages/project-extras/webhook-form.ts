/**
 * The webhook dialog's form and the policy body it sends (pure, unit-tested): Harbor's fields
 * (name, description, notify type, payload format, event types, endpoint, auth header, "Verify
 * Remote Certificate" = not skip_cert_verify) and Wharf's extensions (repository and tag filters,
 * signing secret and its style, custom headers, timeout, CloudEvents mode). Wharf never returns
 * secrets: an edit leaves them out (the server keeps them) unless the user typed a new one or
 * asked to remove the stored one.
 */

/** The marker Wharf shows instead of a stored secret value. */
export const REDACTED = '<redacted>';

/** A target as Wharf shows it (the fields the console reads). */
export interface WebhookTarget {
  id?: number;
  type: string;
  address: string;
  auth_header?: string;
  skip_cert_verify?: boolean;
  payload_format?: string;
  auth_header_set?: boolean;
  secret_set?: boolean;
  headers?: Record<string, string>;
  timeout_ms?: number | null;
  signature_style?: string;
  cloudevents_mode?: string;
  template?: string;
  template_content_type?: string;
  ca_cert?: string;
  enabled?: boolean;
  failing_since?: string | null;
  disabled_reason?: string | null;
}

/** A webhook policy as Wharf shows it. */
export interface WebhookPolicy {
  id: number;
  name: string;
  description?: string;
  project_id?: number | null;
  targets: WebhookTarget[];
  event_types: string[];
  creator?: string;
  creation_time?: string;
  update_time?: string;
  enabled: boolean;
  repo_filters?: string[];
  tag_filters?: string[];
  status_filters?: Record<string, unknown>;
  fold_platforms?: boolean;
}

/** GET /projects/{p}/webhook/events. */
export interface SupportedEvents {
  event_type: string[];
  notify_type: string[];
  payload_formats?: { notify_type: string; formats: string[] }[];
}

export interface HeaderRow {
  name: string;
  /** `<redacted>` for a stored value kept as is. */
  value: string;
}

export interface WebhookForm {
  name: string;
  description: string;
  enabled: boolean;
  notifyType: string;
  payloadFormat: string;
  eventTypes: string[];
  address: string;
  authHeader: string;
  /** The stored target has an auth header (edit only). */
  authHeaderSet: boolean;
  removeAuthHeader: boolean;
  verifyRemoteCert: boolean;
  secret: string;
  secretSet: boolean;
  removeSecret: boolean;
  signatureStyle: 'standard' | 'github';
  headers: HeaderRow[];
  /** Milliseconds as typed; '' uses the server's default. */
  timeoutMs: string;
  cloudeventsMode: 'structured' | 'binary';
  /** The Liquid template of a Template target, and the Content-Type it is sent with. */
  template: string;
  templateContentType: string;
  /** PEM CA certificates trusted for this target ('' : the system's and Wharf's only). */
  caCert: string;
  /** The stored policy had a CA (so an emptied field removes it). */
  caCertSet: boolean;
  /** `status_filters` as JSON text ('' : none). */
  statusFilters: string;
  foldPlatforms: boolean;
  /** One pattern per line. */
  repoFilters: string;
  tagFilters: string;
  /** The stored target's id (edit only). */
  targetId?: number;
}

/** The empty form, with every event type the server offers ticked (as Harbor's dialog starts). */
export function emptyForm(events?: SupportedEvents): WebhookForm {
  return {
    name: '',
    description: '',
    enabled: true,
    notifyType: 'http',
    payloadFormat: 'Default',
    eventTypes: events ? [...events.event_type] : [],
    address: '',
    authHeader: '',
    authHeaderSet: false,
    removeAuthHeader: false,
    verifyRemoteCert: true,
    secret: '',
    secretSet: false,
    removeSecret: false,
    signatureStyle: 'standard',
    headers: [],
    timeoutMs: '',
    cloudeventsMode: 'structured',
    template: '',
    templateContentType: 'application/json',
    caCert: '',
    caCertSet: false,
    statusFilters: '',
    foldPlatforms: false,
    repoFilters: '',
    tagFilters: '',
  };
}

/** The form filled from a stored policy (its first target, as Harbor's UI edits it). */
export function formFromPolicy(p: WebhookPolicy): WebhookForm {
  const t: WebhookTarget = p.targets[0] ?? { type: 'http', address: '' };
  return {
    name: p.name,
    description: p.description ?? '',
    enabled: p.enabled,
    notifyType: t.type,
    payloadFormat: t.payload_format || defaultPayloadFormat(t.type),
    eventTypes: [...p.event_types],
    address: t.address,
    authHeader: '',
    authHeaderSet: t.auth_header_set === true,
    removeAuthHeader: false,
    verifyRemoteCert: t.skip_cert_verify !== true,
    secret: '',
    secretSet: t.secret_set === true,
    removeSecret: false,
    signatureStyle: t.signature_style === 'github' ? 'github' : 'standard',
    headers: Object.entries(t.headers ?? {}).map(([name, value]) => ({ name, value })),
    timeoutMs: t.timeout_ms === null || t.timeout_ms === undefined ? '' : String(t.timeout_ms),
    cloudeventsMode: t.cloudevents_mode === 'binary' ? 'binary' : 'structured',
    template: t.template ?? '',
    templateContentType: t.template_content_type ?? 'application/json',
    caCert: t.ca_cert ?? '',
    caCertSet: (t.ca_cert ?? '') !== '',
    statusFilters: p.status_filters && Object.keys(p.status_filters).length > 0 ? JSON.stringify(p.status_filters) : '',
    foldPlatforms: p.fold_platforms === true,
    repoFilters: (p.repo_filters ?? []).join('\n'),
    tagFilters: (p.tag_filters ?? []).join('\n'),
    targetId: t.id,
  };
}

/** Patterns typed one per line (or separated by spaces); `{a,b}` keeps its comma. */
export function splitPatterns(text: string): string[] {
  return text
    .split(/\s+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Whether the notify type takes a payload format (http, and Teams' two card shapes; the other chat types have fixed ones). */
export function hasPayloadFormat(notifyType: string): boolean {
  return notifyType === 'http' || notifyType === 'teams';
}

/** The format the server stores when none is given: Default for http, AdaptiveCard for teams, '' otherwise. */
export function defaultPayloadFormat(notifyType: string): string {
  return notifyType === 'http' ? 'Default' : notifyType === 'teams' ? 'AdaptiveCard' : '';
}

/** The payload formats offered for a notify type. */
export function formatsFor(events: SupportedEvents | undefined, notifyType: string): string[] {
  if (!hasPayloadFormat(notifyType)) return [];
  const found = events?.payload_formats?.find((f) => f.notify_type === notifyType)?.formats;
  if (found && found.length > 0) return found;
  return notifyType === 'teams' ? ['AdaptiveCard', 'MessageCard'] : ['Default', 'CloudEvents'];
}

/** The payload format after switching the notify type: kept when the new type offers it, else the new type's default. */
export function formatAfterTypeChange(events: SupportedEvents | undefined, format: string, notifyType: string): string {
  return formatsFor(events, notifyType).includes(format) ? format : defaultPayloadFormat(notifyType);
}

/** How the notify type menu names a type (Harbor's own two keep their API names). */
export function notifyTypeLabel(notifyType: string): string {
  const labels: Record<string, string> = { discord: 'Discord', teams: 'Microsoft Teams', mattermost: 'Mattermost', googlechat: 'Google Chat' };
  return labels[notifyType] ?? notifyType;
}

/** What is wrong with the form for the user to fix before sending, or null. */
export function validateForm(f: WebhookForm): string | null {
  if (f.name.trim() === '') return 'Name is required.';
  if (f.address.trim() === '') return 'Endpoint URL is required.';
  if (f.eventTypes.length === 0) return 'Choose at least one event type.';
  if (f.timeoutMs.trim() !== '') {
    const n = Number(f.timeoutMs);
    if (!Number.isInteger(n) || n < 1 || n > 120000) return 'Timeout must be a whole number of milliseconds from 1 to 120000.';
  }
  if (f.notifyType === 'http' && f.payloadFormat === 'Template' && f.template.trim() === '') return 'A Template target needs a template.';
  if (f.statusFilters.trim() !== '') {
    let v: unknown;
    try {
      v = JSON.parse(f.statusFilters);
    } catch {
      return 'Status filters must be a JSON object, e.g. {"scan_status": ["Error"]}.';
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'Status filters must be a JSON object, e.g. {"scan_status": ["Error"]}.';
  }
  const names = new Set<string>();
  for (const h of f.headers) {
    const n = h.name.trim().toLowerCase();
    if (n === '') return 'Every custom header needs a name.';
    if (names.has(n)) return `The header ${h.name.trim()} is listed twice.`;
    names.add(n);
  }
  return null;
}

/** The target object of the form (also the body of the "Test" call). */
export function targetFromForm(f: WebhookForm): Record<string, unknown> {
  const t: Record<string, unknown> = {
    type: f.notifyType,
    address: f.address.trim(),
    skip_cert_verify: !f.verifyRemoteCert,
  };
  if (f.targetId !== undefined) t.id = f.targetId;
  if (hasPayloadFormat(f.notifyType)) t.payload_format = f.payloadFormat || defaultPayloadFormat(f.notifyType);
  if (f.authHeader !== '') t.auth_header = f.authHeader;
  else if (f.removeAuthHeader) t.auth_header = null;
  if (f.secret !== '') t.secret = f.secret;
  else if (f.removeSecret) t.secret = null;
  t.signature_style = f.signatureStyle;
  t.headers = Object.fromEntries(f.headers.map((h) => [h.name.trim(), h.value]));
  t.timeout_ms = f.timeoutMs.trim() === '' ? null : Number(f.timeoutMs);
  if (f.notifyType === 'http' && f.payloadFormat === 'CloudEvents') t.cloudevents_mode = f.cloudeventsMode;
  if (f.notifyType === 'http' && f.payloadFormat === 'Template') {
    t.template = f.template;
    t.template_content_type = f.templateContentType.trim() || 'application/json';
  }
  // Left out, the server keeps a stored CA; emptied, it is removed.
  if (f.caCert.trim() !== '') t.ca_cert = f.caCert;
  else if (f.caCertSet) t.ca_cert = null;
  return t;
}

/** The policy body for POST (create) or PUT (a full replace) of the form. */
export function policyBody(f: WebhookForm): Record<string, unknown> {
  return {
    name: f.name.trim(),
    description: f.description,
    enabled: f.enabled,
    event_types: [...f.eventTypes],
    targets: [targetFromForm(f)],
    repo_filters: splitPatterns(f.repoFilters),
    tag_filters: splitPatterns(f.tagFilters),
    status_filters: f.statusFilters.trim() === '' ? null : (JSON.parse(f.statusFilters) as unknown),
    fold_platforms: f.foldPlatforms,
  };
}

/** The body of Wharf's preview (`POST …/webhook/preview`): the form's target and an event type to render a sample of. */
export function previewBody(f: WebhookForm): Record<string, unknown> {
  return { target: targetFromForm(f), event_type: f.eventTypes[0] ?? 'PUSH_ARTIFACT' };
}

/** The body that flips `enabled` on a stored policy, keeping everything else (secrets stay as placeholders, which Wharf keeps). */
export function toggledPolicy(p: WebhookPolicy, enabled: boolean): Record<string, unknown> {
  return { ...p, enabled };
}

/** The body that enables again a target the worker disabled after failing (Wharf: `"enabled": true` on that target). */
export function reenabledTarget(p: WebhookPolicy, targetId: number): Record<string, unknown> {
  return { ...p, targets: p.targets.map((t) => (t.id === targetId ? { ...t, enabled: true } : t)) };
}

/** Event type names as Harbor's UI shows them: `PUSH_ARTIFACT` → `Artifact pushed`. */
const eventLabels: Record<string, string> = {
  PUSH_ARTIFACT: 'Artifact pushed',
  PULL_ARTIFACT: 'Artifact pulled',
  DELETE_ARTIFACT: 'Artifact deleted',
  QUOTA_EXCEED: 'Quota exceeded',
  QUOTA_WARNING: 'Quota near threshold',
  SCANNING_FAILED: 'Scanning failed',
  SCANNING_STOPPED: 'Scanning stopped',
  SCANNING_COMPLETED: 'Scanning finished',
  REPLICATION: 'Replication status changed',
  TAG_RETENTION: 'Tag retention finished',
  CREATE_TAG: 'Tag created',
  DELETE_TAG: 'Tag deleted',
  CREATE_REPOSITORY: 'Repository created',
  DELETE_REPOSITORY: 'Repository deleted',
  CREATE_PROJECT: 'Project created',
  DELETE_PROJECT: 'Project deleted',
  ARTIFACT_LABELED: 'Artifact labeled',
};

export function eventLabel(type: string): string {
  if (eventLabels[type]) return eventLabels[type];
  const words = type.toLowerCase().split('_').filter(Boolean);
  return words.map((w, i) => (i === 0 ? w[0]!.toUpperCase() + w.slice(1) : w)).join(' ');
}

/** One HTTP attempt of a webhook task, read back from Wharf's task log (docs/webhook-api.md). */
export interface LogAttempt {
  attempt: number;
  url: string;
  requestHeaders: string[];
  requestBody: string;
  /** null when no response came. */
  responseStatus: number | null;
  durationMs: number | null;
  responseHeaders: string[];
  responseBody: string;
  /** Why it failed, or why the response is not shown. */
  errors: string[];
}

type Section = 'requestHeaders' | 'requestBody' | 'responseHeaders' | 'responseBody' | null;
const sectionLabels: Record<string, Section> = {
  '  request headers:': 'requestHeaders',
  '  request body:': 'requestBody',
  '  response headers:': 'responseHeaders',
  '  response body (excerpt):': 'responseBody',
};

/**
 * Splits a webhook task log into its attempts: `<time> [LEVEL] attempt N: POST <url>`, then
 * indented `request headers:` / `request body:` blocks, `attempt N: response <status> after <ms> ms`
 * (or `no response after`), `response headers:` / `response body (excerpt):` blocks and error lines.
 * Anything else (the task's first and last lines) is skipped: the page shows the raw log too.
 */
export function parseDeliveryLog(log: string): LogAttempt[] {
  const attempts: LogAttempt[] = [];
  let cur: LogAttempt | null = null;
  let section: Section = null;
  const body: string[] = [];
  const flush = () => {
    if (cur && (section === 'requestBody' || section === 'responseBody')) cur[section] = body.join('\n');
    body.length = 0;
  };
  for (const line of log.split('\n')) {
    const stamped = /^\S+ \[[A-Z]+\] (.*)$/.exec(line);
    if (stamped) {
      flush();
      section = null;
      const msg = stamped[1]!;
      const start = /^attempt (\d+): POST (.*)$/.exec(msg);
      if (start) {
        cur = { attempt: Number(start[1]), url: start[2]!, requestHeaders: [], requestBody: '', responseStatus: null, durationMs: null, responseHeaders: [], responseBody: '', errors: [] };
        attempts.push(cur);
        continue;
      }
      if (!cur) continue;
      const resp = /^attempt \d+: response (\d{3}) after (\d+) ms$/.exec(msg);
      const none = /^attempt \d+: no response after (\d+) ms$/.exec(msg);
      if (resp) {
        cur.responseStatus = Number(resp[1]);
        cur.durationMs = Number(resp[2]);
      } else if (none) cur.durationMs = Number(none[1]);
      else if (/^attempt \d+: /.test(msg)) cur.errors.push(msg.replace(/^attempt \d+: /, ''));
      continue;
    }
    if (!cur) continue;
    const label = sectionLabels[line];
    if (label) {
      flush();
      section = label;
    } else if (line.startsWith('  response headers and body: ')) cur.errors.push(line.trim());
    else if (section === 'requestHeaders' || section === 'responseHeaders') {
      if (line.startsWith('    ')) cur[section].push(line.slice(4));
    } else if (section === 'requestBody' || section === 'responseBody') body.push(line.startsWith('    ') ? line.slice(4) : line);
  }
  flush();
  return attempts;
}
