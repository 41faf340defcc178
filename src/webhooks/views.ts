/**
 * Presenters: webhook rows shaped as Harbor's /api/v2.0 shows them, with Wharf's extensions on the
 * same objects (system-wide policies with project_id null, repository and tag filters, per-target
 * signing secret, custom headers, timeout, signature style and CloudEvents mode, and target health
 * as the delivery worker keeps it).
 *
 * Secrets are write-only: views never carry `auth_header`, `secret` or custom header values; they
 * say that one is set instead, and addresses are shown redacted (./redaction.ts). For a target a
 * system admin approved for a private address, non-admins read no error details (see
 * `shownMessage`). Pure functions, no I/O.
 */
import type { WebhookExecutionRow, WebhookPolicyRow, WebhookTargetRow, WebhookTaskRow } from '../db/index.ts';
import type { Actor } from '../auth/index.ts';
import { eventTypes, harborEventTypes } from '../events/index.ts';
import { isAdminTrusted } from './target-row.ts';
import { redactAddress } from './redaction.ts';
import { isRecord, rfc3339Seconds } from './formats/common.ts';
import { defaultTemplateContentType, distributionContentTypes, notifyTypes, payloadFormats, vendorTypeFor } from './formats/index.ts';
import { redacted, type TargetSpec } from './policy-spec.ts';
import { column } from './policy-scope.ts';
import { parseJsonText, stringArray, stringMap } from './stored-json.ts';
import { readStatusFilters, type StatusFilters } from './status-filters.ts';
import type { AttemptRecord } from './delivery-attempt.ts';

/** Harbor's WebhookTargetObject plus Wharf's fields. Secrets never appear; `*_set` says one is stored. */
export interface TargetView {
  /** Wharf: the target's id (send it back in an update to name the target being edited). */
  id: number;
  type: string;
  address: string;
  /** Always '' (write-only); see auth_header_set. */
  auth_header: string;
  skip_cert_verify: boolean;
  /** Wharf: the target's own CA certificates (PEM), when set; a CA is not a secret. */
  ca_cert?: string;
  payload_format: string;
  auth_header_set: boolean;
  secret_set: boolean;
  /** Header names with every value shown as `<redacted>`. */
  headers: Record<string, string>;
  timeout_ms: number | null;
  signature_style: string;
  cloudevents_mode?: string;
  distribution_content_type?: string;
  /** Wharf: the MSR type an MSR-format target subscribed to (MSR's /api/v0/webhooks sets it). */
  msr_type?: string;
  /** The Template format's Liquid source and Content-Type. */
  template?: string;
  template_content_type?: string;
  enabled: boolean;
  failing_since: string | null;
  disabled_reason: string | null;
}

/** Harbor's WebhookPolicy plus Wharf's filters. `project_id` is null for a system-wide policy. */
export interface PolicyView {
  id: number;
  name: string;
  description: string;
  project_id: number | null;
  targets: TargetView[];
  event_types: string[];
  creator: string;
  creation_time: string;
  update_time: string;
  enabled: boolean;
  repo_filters: string[];
  tag_filters: string[];
  /** Wharf: the policy's status filters, `{}` when none (./status-filters.ts). */
  status_filters: StatusFilters;
  /** Wharf: one PUSH_ARTIFACT per multi-platform push, the index's. */
  fold_platforms: boolean;
}

/** Harbor's Metrics (zero counts left out, as Harbor's omitempty does). */
export type MetricsView = Partial<Record<'task_count' | 'success_task_count' | 'error_task_count' | 'pending_task_count' | 'running_task_count' | 'scheduled_task_count' | 'stopped_task_count', number>>;

/** Harbor's Execution. */
export interface ExecutionView {
  id: number;
  vendor_type: string;
  vendor_id: number;
  status: string;
  status_message: string;
  metrics: MetricsView;
  trigger: string;
  extra_attrs: { event_type: string; payload: string; event_id: string; target_id: number };
  start_time: string;
  end_time: string;
}

/** Harbor's Task. */
export interface TaskView {
  id: number;
  execution_id: number;
  status: string;
  status_message: string;
  run_count: number;
  extra_attrs: Record<string, unknown>;
  creation_time: string;
  start_time: string;
  update_time: string;
  end_time: string;
}

/** Harbor's WebhookLastTrigger. */
export interface LastTriggerView {
  policy_name: string;
  event_type: string;
  enabled: boolean;
  creation_time: string;
  last_trigger_time: string;
}

/** Harbor's deprecated WebhookJob (an execution seen the pre-2.8 way). */
export interface WebhookJobView {
  id: number;
  policy_id: number;
  event_type: string;
  notify_type: string;
  status: string;
  job_detail: string;
  creation_time: string;
  update_time: string;
}

/** Harbor's SupportedWebhookEventTypes, with Wharf's types and formats appended. */
export interface SupportedEventsView {
  event_type: string[];
  notify_type: string[];
  payload_formats: Array<{ notify_type: string; formats: string[] }>;
}

/** Harbor's "zero time", shown for a time not set yet. */
const zeroTime = '0001-01-01T00:00:00Z';

/** RFC 3339 seconds, or Harbor's zero time for a time not set. */
export function rfc3339(ms: number | null): string {
  return ms === null ? zeroTime : rfc3339Seconds(ms);
}

/**
 * A status message or disable reason as `viewer` may read it: for a target a system admin approved
 * for a private address, non-admins get no error details (which port answered, how it failed).
 */
export function shownMessage(message: string | null, hide: boolean): string | null {
  if (!hide || message === null || message === '' || message.startsWith('redelivery of execution')) return message;
  return `details ${hiddenPrivate}`;
}

/** True when `actor` may not read the delivery details of target `t` (see {@link shownMessage}). */
export function hidesDetails(actor: Actor, t: Pick<WebhookTargetRow, 'options'> | undefined): boolean {
  return !actor.sysadmin && t !== undefined && isAdminTrusted(t.options);
}

export function targetView(t: WebhookTargetRow, actor: Actor): TargetView {
  const options = parseJsonText(t.options);
  const opts = isRecord(options) ? options : {};
  const headers: Record<string, string> = {};
  for (const k of Object.keys(stringMap(t.headers))) headers[k] = redacted;
  const view: TargetView = {
    id: t.id,
    type: t.type,
    address: redactAddress(t.address),
    auth_header: '',
    skip_cert_verify: t.skip_cert_verify === 1,
    ...(typeof opts.ca_cert === 'string' && opts.ca_cert !== '' ? { ca_cert: opts.ca_cert } : {}),
    payload_format: t.payload_format,
    auth_header_set: t.auth_header !== '',
    secret_set: t.secret !== '',
    headers,
    timeout_ms: t.timeout_ms,
    signature_style: typeof opts.signature_style === 'string' ? opts.signature_style : 'standard',
    enabled: t.enabled === 1,
    failing_since: t.failing_since === null ? null : rfc3339(t.failing_since),
    disabled_reason: shownMessage(t.disabled_reason, hidesDetails(actor, t)),
  };
  if (t.payload_format === 'CloudEvents') view.cloudevents_mode = typeof opts.cloudevents_mode === 'string' ? opts.cloudevents_mode : 'structured';
  if (t.payload_format === 'Distribution') {
    view.distribution_content_type = typeof opts.distribution_content_type === 'string' ? opts.distribution_content_type : distributionContentTypes[0];
  }
  if (t.payload_format === 'Template') {
    view.template = typeof opts.template === 'string' ? opts.template : '';
    view.template_content_type = typeof opts.template_content_type === 'string' ? opts.template_content_type : defaultTemplateContentType;
  }
  if (t.payload_format === 'MSR' && typeof opts.msr_type === 'string') view.msr_type = opts.msr_type;
  return view;
}

export function policyView(p: WebhookPolicyRow, targets: WebhookTargetRow[], actor: Actor): PolicyView {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    project_id: p.project_id,
    targets: targets.map((t) => targetView(t, actor)),
    event_types: stringArray(p.event_types),
    creator: p.creator,
    creation_time: rfc3339(p.creation_time),
    update_time: rfc3339(p.update_time),
    enabled: p.enabled === 1,
    repo_filters: stringArray(p.repo_filters),
    tag_filters: stringArray(p.tag_filters),
    status_filters: readStatusFilters(p.status_filters) ?? {},
    fold_platforms: p.fold_platforms === 1,
  };
}

const metricKeys = {
  Success: 'success_task_count',
  Error: 'error_task_count',
  Pending: 'pending_task_count',
  Running: 'running_task_count',
  Scheduled: 'scheduled_task_count',
  Stopped: 'stopped_task_count',
} as const;

export function metricsOf(tasks: Array<Pick<WebhookTaskRow, 'status'>>): MetricsView {
  const m: MetricsView = {};
  if (tasks.length > 0) m.task_count = tasks.length;
  for (const t of tasks) {
    const key = column(metricKeys, t.status);
    if (key) m[key] = (m[key] ?? 0) + 1;
  }
  return m;
}

export function executionView(e: WebhookExecutionRow, tasks: WebhookTaskRow[], hide = false): ExecutionView {
  return {
    id: e.id,
    vendor_type: e.vendor_type,
    vendor_id: e.policy_id,
    status: e.status,
    status_message: shownMessage(e.status_message, hide) ?? '',
    metrics: metricsOf(tasks),
    trigger: e.trigger,
    extra_attrs: { event_type: e.event_type, payload: e.payload, event_id: e.event_id, target_id: e.target_id },
    start_time: rfc3339(e.start_time),
    end_time: rfc3339(e.end_time),
  };
}

export function taskView(t: WebhookTaskRow, hide = false): TaskView {
  return {
    id: t.id,
    execution_id: t.execution_id,
    status: t.status,
    status_message: shownMessage(t.status_message, hide) ?? '',
    run_count: t.run_count,
    extra_attrs: {},
    creation_time: rfc3339(t.creation_time),
    start_time: rfc3339(t.start_time),
    update_time: rfc3339(t.update_time),
    end_time: rfc3339(t.end_time),
  };
}

/** What a non-admin reads in place of an admin-approved private target's answers. */
export const hiddenPrivate = 'hidden (a private target approved by a system admin; system admins see them)';

/** The supported types and formats (static facts: no permission needed to compute them). */
export function supportedEventsView(): SupportedEventsView {
  const extra = eventTypes.filter((t) => !harborEventTypes.some((h) => h === t));
  return {
    event_type: [...harborEventTypes, ...extra],
    notify_type: [...notifyTypes],
    payload_formats: payloadFormats.map((p) => ({ notify_type: p.notify_type, formats: [...p.formats] })),
  };
}

/** An execution seen the pre-2.8 way; `lastUpdate` is its task's update time when it has one. */
export function webhookJobView(e: WebhookExecutionRow, lastUpdate: number | undefined): WebhookJobView {
  return {
    id: e.id,
    policy_id: e.policy_id,
    event_type: e.event_type,
    notify_type: notifyTypes.find((t) => vendorTypeFor(t) === e.vendor_type) ?? e.vendor_type.toLowerCase(),
    status: e.status,
    job_detail: e.payload,
    creation_time: rfc3339(e.start_time),
    update_time: rfc3339(lastUpdate ?? e.end_time ?? e.start_time),
  };
}

/**
 * Wharf's test result: what one attempt to the target gave (address redacted as in policy views).
 * A non-admin's test of a private address is refused before connecting, or (allowed by the
 * configuration) answered with the status only and one error text for every failure, so open and
 * closed ports look alike.
 */
export interface TestResultView {
  type: string;
  address: string;
  success: boolean;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

/** The test result of attempt `r` to target `t`. */
export function testResultView(t: TargetSpec, r: AttemptRecord): TestResultView {
  return {
    type: t.type,
    address: redactAddress(t.address),
    success: r.error === null && r.responseStatus !== null && r.responseStatus >= 200 && r.responseStatus < 300,
    status_code: r.responseStatus,
    duration_ms: r.durationMs,
    error: r.error,
  };
}
