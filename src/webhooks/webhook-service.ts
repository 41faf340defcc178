/**
 * Webhook policies and their delivery history, shaped as Harbor's /api/v2.0 shows them, with
 * Wharf's extensions on the same objects: system-wide policies (project_id null), repository and
 * tag filters, per-target signing secret, custom headers, timeout, signature style and CloudEvents
 * mode, and target health (read-only, kept by the delivery worker).
 *
 * Secrets are write-only: views never carry `auth_header`, `secret` or custom header values; they
 * say that one is set instead. An update that leaves a secret out, or sends the placeholder a read
 * gave, keeps the stored value, but only for a target whose address did not change, so editing a
 * policy cannot redirect a stored secret to a new receiver. Addresses are shown with their
 * userinfo secret and secret query values replaced by the marker (./redaction.ts); an update that
 * sends that redacted address back keeps the stored one.
 *
 * Target addresses are vetted when saved (./address-policy.ts): never-allowed addresses are a 400
 * for everyone; private and loopback ones are a 403 for anyone but a system admin unless
 * `webhooks.allow_private_targets` or `webhooks.allow_list` allows them. A system admin's target
 * whose address is not provably public is marked admin-trusted (./target-row.ts); an unchanged
 * address keeps that mark, a changed one is vetted again as its editor.
 *
 * Validation follows Harbor's handler (targets first, then event types) with its exact messages.
 * The service knows nothing of HTTP; it throws DomainError codes the API maps to statuses.
 */
import { isIP } from 'node:net';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, ProjectRow, WebhookExecutionRow, WebhookPolicyRow, WebhookTargetRow, WebhookTaskRow } from '../db/index.ts';
import type { Outbox } from '../events/index.ts';
import type { Actor, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { eventTypes, harborEventTypes, isEventType } from '../events/index.ts';
import { fail, globLimits, globPatternProblem } from '../domain/index.ts';
import type { Page, SortKey, TextFilter } from '../domain/listing.ts';
import { validateSecret } from './signer.ts';
import { adminTrustedOption, isAdminTrusted, targetColumns } from './target-row.ts';
import { AddressPolicy, classifyAddress } from './address-policy.ts';
import { sealedError, systemResolver, type Resolver } from './http-client.ts';
import { hasMarker, redactAddress, redactionMarker, restoreAddress } from './redaction.ts';
import { recordAudit } from '../audit/index.ts';
import { isRecord, rfc3339Seconds } from './formats/common.ts';
import { distributionContentTypes, httpPayloadFormats, isNotifyType, notifyTypes, payloadFormats, vendorTypeFor, type NotifyType } from './formats/index.ts';

/** What the webhook service needs. */
export interface WebhookServiceDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  config: Config;
  /** Resolves target host names when a policy is saved (tests); the system resolver otherwise. */
  resolver?: Resolver;
}

/** Who calls (the service needs only the actor). */
export interface WebhookCallContext {
  actor: Actor;
}

/** Where policies live: one project (Harbor's `project_name_or_id` + `X-Is-Resource-Name`), or the whole system (Wharf). */
export type PolicyScope = { kind: 'project'; nameOrId: string; isName: boolean } | { kind: 'system' };

/** The list shapes shared with other services (src/domain/listing.ts), re-exported for this module's users. */
export type { TextFilter, SortKey } from '../domain/listing.ts';

/** A list request: page (1-based), filters from `q`, sort keys. */
export interface ListRequest {
  page: number;
  pageSize: number;
  filters: Map<string, TextFilter>;
  sort: SortKey[];
}

/** One page and the total number of matching items (the shared `Page`). */
export type ListPage<T> = Page<T>;

/** Signature header styles (Wharf). */
export const signatureStyles = ['standard', 'github'] as const;
/** CloudEvents content modes (Wharf). */
export const cloudEventsModes = ['structured', 'binary'] as const;
/** The placeholder views show instead of a secret (the one redaction marker), and that updates accept to keep it. */
export const redacted = redactionMarker;
/** Longest per-target timeout accepted, ms. */
export const maxTimeoutMs = 120_000;
/** The configuration key of Harbor's global webhook switch. */
export const notificationEnableKey = 'notification_enable';

/** Headers a target may not set: transport headers and the ones Wharf computes. */
const reservedHeaders = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'authorization',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-hub-signature-256',
  'x-signature',
  'user-agent',
  'x-wharf-event-id',
  'x-wharf-event-type',
  'x-wharf-delivery',
]);

/** Harbor's WebhookTargetObject plus Wharf's fields. Secrets never appear; `*_set` says one is stored. */
export interface TargetView {
  /** Wharf: the target's id (send it back in an update to name the target being edited). */
  id: number;
  type: string;
  address: string;
  /** Always '' (write-only); see auth_header_set. */
  auth_header: string;
  skip_cert_verify: boolean;
  payload_format: string;
  auth_header_set: boolean;
  secret_set: boolean;
  /** Header names with every value shown as `<redacted>`. */
  headers: Record<string, string>;
  timeout_ms: number | null;
  signature_style: string;
  cloudevents_mode?: string;
  distribution_content_type?: string;
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

/** Harbor's configuration item. */
export interface ConfigItemView {
  value: boolean;
  editable: boolean;
}

/** A validated target, ready to store or to test. Secrets are in clear here (never in a view). */
export interface TargetSpec {
  /** The id of the stored target this one updates, when known. */
  id: number | null;
  type: NotifyType;
  address: string;
  payloadFormat: string;
  authHeader: string;
  skipCertVerify: boolean;
  secret: string;
  headers: Record<string, string>;
  timeoutMs: number | null;
  options: { signature_style: string; cloudevents_mode?: string; distribution_content_type?: string; [adminTrustedOption]?: true };
}

/** Harbor's "zero time", shown for a time not set yet. */
const zeroTime = '0001-01-01T00:00:00Z';

function rfc3339(ms: number | null): string {
  return ms === null ? zeroTime : rfc3339Seconds(ms);
}

function oneOf(list: readonly string[], s: string): boolean {
  return list.includes(s);
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function stringArray(text: string): string[] {
  const v = parseJson(text);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function stringMap(text: string | null): Record<string, string> {
  const v = parseJson(text);
  const out: Record<string, string> = {};
  if (isRecord(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/**
 * Harbor's `utils.ParseEndpoint`: trims spaces (and, for the check, a trailing `/`), refuses
 * schemes other than http/https, assumes `http://` when there is none. Returns the address to
 * store: trimmed, with its scheme, otherwise as given (path and query kept; Harbor stores them).
 */
export function parseEndpoint(raw: string): string {
  const trimmed = raw.trim();
  // The look-behind starts a match only at the first `/` of a run: linear, where `/\/+$/` was
  // quadratic on an address full of slashes (a 1 MB body of them ran for hours).
  const checked = trimmed.replace(/(?<!\/)\/+$/, '');
  if (checked === '') throw fail('BAD_REQUEST', 'empty URL');
  const i = trimmed.indexOf('://');
  let address = trimmed;
  if (i >= 0) {
    const scheme = trimmed.slice(0, i);
    if (scheme !== 'http' && scheme !== 'https') throw fail('BAD_REQUEST', `invalid scheme: ${scheme}`);
  } else {
    address = `http://${trimmed}`;
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw fail('BAD_REQUEST', `parse "${address}": invalid URL`);
  }
  if (url.hostname === '') throw fail('BAD_REQUEST', `parse "${address}": missing host`);
  if (/[\s]/.test(address)) throw fail('BAD_REQUEST', `parse "${address}": invalid character in URL`);
  return address;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${field} must be a string`);
  return v;
}

function optionalBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${field} must be true or false`);
  return v;
}

function globList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', `${field} must be an array of glob patterns`);
  if (v.length > globLimits.maxPatterns) throw fail('BAD_REQUEST', `${field}: at most ${globLimits.maxPatterns} patterns`);
  return v.map((p, i) => {
    if (typeof p !== 'string' || p.trim() === '') throw fail('BAD_REQUEST', `${field}[${i}] must be a non-empty glob pattern`);
    // Length, alternatives and syntax (src/domain/glob.ts); matching is linear whatever is stored.
    const problem = globPatternProblem(p.trim());
    if (problem !== null) throw fail('BAD_REQUEST', `${field}[${i}] ${problem}`);
    return p.trim();
  });
}

/** The stored state of a target an update may carry secrets over from. */
type StoredTarget = Pick<WebhookTargetRow, 'id' | 'type' | 'address' | 'auth_header' | 'secret' | 'headers' | 'position'>;

/**
 * Validates one target object (Harbor's rules and messages, then Wharf's fields). `previous` is
 * the stored target this one updates, if any: omitted or placeholder secrets are taken from it
 * when the address is unchanged.
 */
export function parseTarget(input: unknown, index: number, policyName: string, previous: StoredTarget | undefined): TargetSpec {
  if (!isRecord(input)) throw fail('BAD_REQUEST', `targets[${index}] must be an object`);
  const rawAddress = optionalString(input.address, `targets[${index}].address`) ?? '';
  let address = parseEndpoint(rawAddress);
  const restored = previous === undefined ? null : restoreAddress(address, previous.address);
  if (restored !== null) address = restored;
  else if (hasMarker(address)) {
    throw fail('BAD_REQUEST', `targets[${index}].address contains "${redacted}": send the full address (a redacted one is kept only for the target it was read from, unchanged)`);
  }
  const type = optionalString(input.type, `targets[${index}].type`) ?? '';
  if (!isNotifyType(type)) throw fail('BAD_REQUEST', `unsupported target type ${type} with policy ${policyName}`);
  let payloadFormat = optionalString(input.payload_format, `targets[${index}].payload_format`) ?? '';
  if (payloadFormat !== '' && type !== 'http') throw fail('BAD_REQUEST', `set payload format is not allowed for ${type}`);
  if (payloadFormat !== '' && !oneOf(httpPayloadFormats, payloadFormat)) {
    throw fail('BAD_REQUEST', `unsupported payload format type: ${payloadFormat}`);
  }
  if (payloadFormat === '' && type === 'http') payloadFormat = 'Default';

  const keep = previous !== undefined && previous.address === address && previous.type === type;
  const authHeader = secretField(input, 'auth_header', keep ? previous.auth_header : '', index);
  const secret = secretField(input, 'secret', keep ? previous.secret : '', index);
  if (secret.length > 512) throw fail('BAD_REQUEST', `targets[${index}].secret is longer than 512 characters`);
  validateSecret(secret);
  const headers = parseHeaders(input.headers, keep ? stringMap(previous.headers) : {}, index);

  let timeoutMs: number | null = null;
  if (input.timeout_ms !== undefined && input.timeout_ms !== null) {
    const t = input.timeout_ms;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > maxTimeoutMs) {
      throw fail('BAD_REQUEST', `targets[${index}].timeout_ms must be an integer from 1 to ${maxTimeoutMs}`);
    }
    timeoutMs = t;
  }
  const style = optionalString(input.signature_style, `targets[${index}].signature_style`) ?? 'standard';
  if (!oneOf(signatureStyles, style)) {
    throw fail('BAD_REQUEST', `unsupported signature style: ${style} (use ${signatureStyles.join(' or ')})`);
  }
  const options: TargetSpec['options'] = { signature_style: style };
  const mode = optionalString(input.cloudevents_mode, `targets[${index}].cloudevents_mode`);
  if (mode !== undefined && mode !== '') {
    if (payloadFormat !== 'CloudEvents') throw fail('BAD_REQUEST', 'cloudevents_mode applies only to the CloudEvents payload format');
    if (!oneOf(cloudEventsModes, mode)) {
      throw fail('BAD_REQUEST', `unsupported cloudevents_mode: ${mode} (use ${cloudEventsModes.join(' or ')})`);
    }
  }
  if (payloadFormat === 'CloudEvents') options.cloudevents_mode = mode === undefined || mode === '' ? 'structured' : mode;
  const dct = optionalString(input.distribution_content_type, `targets[${index}].distribution_content_type`);
  if (dct !== undefined && dct !== '') {
    if (payloadFormat !== 'Distribution') throw fail('BAD_REQUEST', 'distribution_content_type applies only to the Distribution payload format');
    if (!oneOf(distributionContentTypes, dct)) {
      throw fail('BAD_REQUEST', `unsupported distribution_content_type: ${dct} (use ${distributionContentTypes.join(', ')})`);
    }
  }
  if (payloadFormat === 'Distribution') options.distribution_content_type = dct === undefined || dct === '' ? distributionContentTypes[0] : dct;
  const id = typeof input.id === 'number' && Number.isSafeInteger(input.id) ? input.id : null;
  return {
    id,
    type,
    address,
    payloadFormat,
    authHeader,
    skipCertVerify: optionalBool(input.skip_cert_verify, `targets[${index}].skip_cert_verify`) ?? false,
    secret,
    headers,
    timeoutMs,
    options,
  };
}

/**
 * A write-only string field: absent, '' or the placeholder keeps `kept`; null, or `<field>_set:
 * false`, clears it; any other string replaces it.
 */
function secretField(input: Record<string, unknown>, field: 'auth_header' | 'secret', kept: string, index: number): string {
  const v = input[field];
  if (input[`${field}_set`] === false && (v === undefined || v === '' || v === null || v === redacted)) return '';
  if (v === null) return '';
  if (v === undefined || v === '' || v === redacted) return kept;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `targets[${index}].${field} must be a string`);
  if (/[\r\n\0]/.test(v)) throw fail('BAD_REQUEST', `targets[${index}].${field} must not contain line breaks`);
  return v;
}

/** Custom headers: names are HTTP tokens, values single-line; `<redacted>` keeps the stored value. */
function parseHeaders(v: unknown, stored: Record<string, string>, index: number): Record<string, string> {
  if (v === undefined) return stored;
  if (v === null) return {};
  if (!isRecord(v)) throw fail('BAD_REQUEST', `targets[${index}].headers must be an object of header names to values`);
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length > 50) throw fail('BAD_REQUEST', `targets[${index}].headers: at most 50 headers`);
  for (const [name, value] of entries) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(name)) throw fail('BAD_REQUEST', `targets[${index}].headers: invalid header name "${name}"`);
    if (reservedHeaders.has(name.toLowerCase())) {
      throw fail('BAD_REQUEST', `targets[${index}].headers: ${name} is set by Wharf and cannot be overridden${name.toLowerCase() === 'authorization' ? ' (use auth_header)' : ''}`);
    }
    if (typeof value !== 'string') throw fail('BAD_REQUEST', `targets[${index}].headers.${name} must be a string`);
    if (value === redacted) {
      const kept = Object.entries(stored).find(([k]) => k.toLowerCase() === name.toLowerCase());
      if (!kept) throw fail('BAD_REQUEST', `targets[${index}].headers.${name}: "${redacted}" keeps a stored value, but none is stored for this target and address`);
      out[name] = kept[1];
      continue;
    }
    if (/[\r\n\0]/.test(value) || value.length > 4096) throw fail('BAD_REQUEST', `targets[${index}].headers.${name}: the value must be one line of at most 4096 characters`);
    out[name] = value;
  }
  return out;
}

/** A validated policy body. */
interface PolicySpec {
  name: string;
  description: string;
  enabled: boolean;
  eventTypes: string[];
  targets: TargetSpec[];
  repoFilters: string[];
  tagFilters: string[];
  creator: string | undefined;
}

/** Pairs each incoming target with the stored one it updates: by id, else same position and address, else same address. */
function matchTargets(inputs: unknown[], stored: StoredTarget[]): Array<StoredTarget | undefined> {
  const used = new Set<number>();
  const out: Array<StoredTarget | undefined> = inputs.map(() => undefined);
  inputs.forEach((t, i) => {
    if (!isRecord(t) || typeof t.id !== 'number') return;
    const hit = stored.find((s) => s.id === t.id && !used.has(s.id));
    if (hit) {
      used.add(hit.id);
      out[i] = hit;
    }
  });
  const parsed = (t: unknown): string => {
    if (!isRecord(t) || typeof t.address !== 'string') return '';
    try {
      return parseEndpoint(t.address);
    } catch {
      return '';
    }
  };
  // The address as stored: a redacted copy of a stored address counts as that address.
  const addrFor = (t: unknown, s: StoredTarget): string => {
    const a = parsed(t);
    return restoreAddress(a, s.address) ?? a;
  };
  inputs.forEach((t, i) => {
    if (out[i]) return;
    const s = stored[i];
    if (s && !used.has(s.id) && s.address === addrFor(t, s)) {
      used.add(s.id);
      out[i] = s;
    }
  });
  inputs.forEach((t, i) => {
    if (out[i]) return;
    const hit = stored.find((s) => !used.has(s.id) && s.address === addrFor(t, s));
    if (hit) {
      used.add(hit.id);
      out[i] = hit;
    }
  });
  return out;
}

/** The stored target `t` updates when its address did not change. */
function unchangedTarget(t: TargetSpec, stored: readonly WebhookTargetRow[]): WebhookTargetRow | undefined {
  if (t.id === null) return undefined;
  const s = stored.find((x) => x.id === t.id);
  return s !== undefined && s.address === t.address ? s : undefined;
}

/**
 * Sets each target's admin-trusted mark: a non-admin's unchanged target keeps the stored mark;
 * every other target takes what {@link WebhookService.vetAddresses} decided for its address.
 * CONFLICT when an address was not vetted (the policy changed between the vetting and the write).
 */
function applyTrust(actor: Actor, targets: TargetSpec[], stored: readonly WebhookTargetRow[], vetted: ReadonlyMap<string, boolean>): void {
  for (const t of targets) {
    delete t.options[adminTrustedOption];
    const same = actor.sysadmin ? undefined : unchangedTarget(t, stored);
    const trusted = same !== undefined ? isAdminTrusted(same.options) : vetted.get(t.address);
    if (trusted === undefined) throw fail('CONFLICT', 'the policy changed while it was being saved; read it again and retry');
    if (trusted) t.options[adminTrustedOption] = true;
  }
}

/** Validates a whole policy body, in Harbor's order: targets, then event types. */
function parsePolicy(body: unknown, stored: StoredTarget[]): PolicySpec {
  if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object (a WebhookPolicy)');
  const name = optionalString(body.name, 'name') ?? '';
  if (name.trim() === '') throw fail('BAD_REQUEST', 'name is required');
  if (name.length > 256) throw fail('BAD_REQUEST', 'name is longer than 256 characters');
  const description = optionalString(body.description, 'description') ?? '';
  const enabled = optionalBool(body.enabled, 'enabled') ?? false;
  const targetsIn = body.targets ?? [];
  if (!Array.isArray(targetsIn)) throw fail('BAD_REQUEST', 'targets must be an array of target objects');
  if (targetsIn.length === 0) throw fail('BAD_REQUEST', `empty notification target with policy ${name}`);
  if (targetsIn.length > 20) throw fail('BAD_REQUEST', 'a policy has at most 20 targets');
  const matched = matchTargets(targetsIn, stored);
  const targets = targetsIn.map((t, i) => parseTarget(t, i, name, matched[i]));
  targets.forEach((t, i) => (t.id = matched[i]?.id ?? null));
  const typesIn = body.event_types ?? [];
  if (!Array.isArray(typesIn)) throw fail('BAD_REQUEST', 'event_types must be an array of event type names');
  if (typesIn.length === 0) throw fail('BAD_REQUEST', 'empty event type');
  const types: string[] = [];
  for (const t of typesIn) {
    if (typeof t !== 'string' || !isEventType(t)) throw fail('BAD_REQUEST', `unsupported event type ${String(t)}`);
    if (!types.includes(t)) types.push(t);
  }
  const creator = optionalString(body.creator, 'creator');
  return {
    name,
    description,
    enabled,
    eventTypes: types,
    targets,
    repoFilters: globList(body.repo_filters, 'repo_filters'),
    tagFilters: globList(body.tag_filters, 'tag_filters'),
    creator,
  };
}

/**
 * A status message or disable reason as `viewer` may read it: for a target a system admin approved
 * for a private address, non-admins get no error details (which port answered, how it failed).
 */
function shownMessage(message: string | null, hide: boolean): string | null {
  if (!hide || message === null || message === '' || message.startsWith('redelivery of execution')) return message;
  return `details ${hiddenPrivate}`;
}

/** True when `actor` may not read the delivery details of target `t` (see {@link shownMessage}). */
function hidesDetails(actor: Actor, t: Pick<WebhookTargetRow, 'options'> | undefined): boolean {
  return !actor.sysadmin && t !== undefined && isAdminTrusted(t.options);
}

function targetView(t: WebhookTargetRow, actor: Actor): TargetView {
  const options = parseJson(t.options);
  const opts = isRecord(options) ? options : {};
  const headers: Record<string, string> = {};
  for (const k of Object.keys(stringMap(t.headers))) headers[k] = redacted;
  const view: TargetView = {
    id: t.id,
    type: t.type,
    address: redactAddress(t.address),
    auth_header: '',
    skip_cert_verify: t.skip_cert_verify === 1,
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
  return view;
}

function policyView(p: WebhookPolicyRow, targets: WebhookTargetRow[], actor: Actor): PolicyView {
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

function metricsOf(tasks: Array<Pick<WebhookTaskRow, 'status'>>): MetricsView {
  const m: MetricsView = {};
  if (tasks.length > 0) m.task_count = tasks.length;
  for (const t of tasks) {
    const key = column(metricKeys, t.status);
    if (key) m[key] = (m[key] ?? 0) + 1;
  }
  return m;
}

function executionView(e: WebhookExecutionRow, tasks: WebhookTaskRow[], hide = false): ExecutionView {
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

function taskView(t: WebhookTaskRow, hide = false): TaskView {
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
const hiddenPrivate = 'hidden (a private target approved by a system admin; system admins see them)';

/** Header names whose values the log never shows, whatever the worker stored. */
const sensitiveHeader = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|webhook-signature|x-hub-signature(-256)?|x-signature)$/i;

/** Log line times: RFC 3339 with milliseconds (attempts a few ms apart stay in order). */
function logTime(ms: number): string {
  return new Date(ms).toISOString();
}

function headerLines(text: string | null, redactNames: Set<string>): string[] {
  const h = stringMap(text);
  return Object.entries(h).map(([k, v]) => `    ${k}: ${sensitiveHeader.test(k) || redactNames.has(k.toLowerCase()) ? redacted : v}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** The value of `map` at `key` when it is the map's own key (a whitelist lookup for sort fields and filters). */
function column<const M extends Record<string, string>>(map: M, key: string): M[keyof M] | undefined {
  for (const [k, v] of Object.entries(map)) if (k === key) return v as M[keyof M]; // Object.entries loses the value type
  return undefined;
}

/** Harbor's `sort` keys checked against the columns a list may sort by (`fallback` when none is given). */
function sortColumns<C extends string>(sort: SortKey[], fallback: SortKey, columns: readonly C[]): Array<{ column: C; desc: boolean }> {
  return (sort.length ? sort : [fallback]).map((s) => {
    const c = columns.find((x) => x === s.field);
    if (c === undefined) throw fail('BAD_REQUEST', `sort: unsupported field ${s.field}; use ${columns.join(', ')}`);
    return { column: c, desc: s.desc };
  });
}

function assertId(id: number, what: string): void {
  if (!Number.isSafeInteger(id) || id < 1) throw fail('BAD_REQUEST', `invalid ${what} id`);
}

/** Webhook policies, delivery history and the global switch. */
export class WebhookService {
  constructor(readonly deps: WebhookServiceDeps) {}

  // ---- target addresses ----

  /**
   * Vets the addresses of targets being saved (or tested) by `actor`: returns, per address, whether
   * it gets the admin-trusted mark. Throws BAD_REQUEST for a never-allowed address and FORBIDDEN for
   * a private one the actor may not use (one message, whatever the port or the answer). An
   * unchanged address of a stored target is not vetted again for a non-admin (it keeps its mark;
   * delivery checks it anyway). With `forTest`, nothing throws: the test send reports the refusal.
   */
  private async vetAddresses(actor: Actor, targets: readonly TargetSpec[], stored: readonly WebhookTargetRow[], forTest = false): Promise<Map<string, boolean>> {
    const out = new Map<string, boolean>();
    const cfg = this.deps.config.webhooks;
    const policy = new AddressPolicy({ allowPrivate: cfg.allow_private_targets, allowList: cfg.allow_list });
    for (const [index, t] of targets.entries()) {
      if (out.has(t.address)) continue;
      if (!actor.sysadmin && unchangedTarget(t, stored) !== undefined) continue;
      let host: string;
      try {
        host = new URL(t.address).hostname;
      } catch {
        continue; // parseEndpoint accepted it; the client reports what it makes of it
      }
      const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
      const ips = isIP(bare) !== 0 ? [bare] : await this.resolveQuietly(bare);
      let provablyPublic = ips.length > 0;
      for (const ip of ips) {
        const c = classifyAddress(ip);
        if (c === 'public') continue;
        provablyPublic = false;
        if (forTest) continue;
        if (c !== 'private') {
          throw fail('BAD_REQUEST', `targets[${index}].address: ${bare} is or resolves to a link-local, cloud metadata, multicast or reserved address, which is never allowed`);
        }
        if (!actor.sysadmin && policy.check(bare, ip) !== null) {
          throw fail(
            'FORBIDDEN',
            `targets[${index}].address: private and loopback addresses are allowed only for targets saved by a system admin, or in the networks an administrator allowed (webhooks.allow_list)`,
          );
        }
      }
      out.set(t.address, actor.sysadmin && !provablyPublic);
    }
    return out;
  }

  /** The addresses `host` resolves to; none when it does not resolve within 3 s. */
  private async resolveQuietly(host: string): Promise<string[]> {
    const resolver = this.deps.resolver ?? systemResolver;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), 3000);
      });
      return (await Promise.race([resolver(host), timeout])).map((a) => a.address);
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- scope and permissions ----

  /** Resolves the scope and checks `action`; returns the project (null for system scope). */
  private async scopeFor(ctx: WebhookCallContext, scope: PolicyScope, action: 'read-settings' | 'manage'): Promise<ProjectRow | null> {
    if (scope.kind === 'system') {
      this.deps.authorizer.check(ctx.actor, 'admin');
      return null;
    }
    const byId = !scope.isName && /^[0-9]+$/.test(scope.nameOrId);
    if (byId && !Number.isSafeInteger(Number(scope.nameOrId))) throw fail('NOT_FOUND', `project ${scope.nameOrId} not found`);
    const q = this.deps.db.selectFrom('projects').selectAll();
    const p = await (byId ? q.where('id', '=', Number(scope.nameOrId)) : q.where('name', '=', scope.nameOrId)).executeTakeFirst();
    // Harbor: project admins change webhook policies, maintainers read them.
    const fine = action === 'manage' ? 'manage-webhooks' : 'list-webhooks';
    if (!p) {
      if (ctx.actor.username === '') this.deps.authorizer.check(ctx.actor, fine, { name: scope.nameOrId, public: false });
      throw fail('NOT_FOUND', `project ${scope.nameOrId} not found`);
    }
    this.deps.authorizer.check(ctx.actor, fine, { name: p.name, public: p.public === 1 });
    return p;
  }

  /** The policy, checked to belong to the scope (404 otherwise, as Harbor). */
  private async policyIn(db: Kysely<Database> | Transaction<Database>, project: ProjectRow | null, policyId: number): Promise<WebhookPolicyRow> {
    assertId(policyId, 'webhook policy');
    const p = await db.selectFrom('webhook_policies').selectAll().where('id', '=', policyId).executeTakeFirst();
    if (!p || p.project_id !== (project?.id ?? null)) throw fail('NOT_FOUND', `webhook policy ${policyId} not found`);
    return p;
  }

  private async targetsOf(db: Kysely<Database> | Transaction<Database>, policyIds: number[]): Promise<Map<number, WebhookTargetRow[]>> {
    const out = new Map<number, WebhookTargetRow[]>();
    if (policyIds.length === 0) return out;
    const rows = await db.selectFrom('webhook_targets').selectAll().where('policy_id', 'in', policyIds).orderBy('position').orderBy('id').execute();
    for (const r of rows) {
      const list = out.get(r.policy_id);
      if (list) list.push(r);
      else out.set(r.policy_id, [r]);
    }
    return out;
  }

  // ---- policies ----

  /** Policies of the scope; `q` keys: name (exact or fuzzy), enabled; sort: id, name, creation_time, update_time. */
  async listPolicies(ctx: WebhookCallContext, scope: PolicyScope, req: ListRequest): Promise<ListPage<PolicyView>> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    let q = this.deps.db.selectFrom('webhook_policies');
    q = project ? q.where('project_id', '=', project.id) : q.where('project_id', 'is', null);
    const name = req.filters.get('name');
    if (name) {
      q = name.fuzzy
        ? q.where(sql<boolean>`instr(lower(name), ${name.value.toLowerCase()}) > 0`)
        : q.where('name', '=', name.value);
    }
    const enabled = req.filters.get('enabled');
    if (enabled) {
      if (enabled.value !== 'true' && enabled.value !== 'false') throw fail('BAD_REQUEST', 'q: enabled must be true or false');
      q = q.where('enabled', '=', enabled.value === 'true' ? 1 : 0);
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    let sq = q.selectAll();
    for (const s of sortColumns(req.sort, { field: 'creation_time', desc: true }, ['id', 'name', 'enabled', 'creation_time', 'update_time'] as const)) {
      sq = sq.orderBy(s.column, s.desc ? 'desc' : 'asc');
    }
    const rows = await sq.orderBy('id', 'desc').limit(req.pageSize).offset((req.page - 1) * req.pageSize).execute();
    const targets = await this.targetsOf(this.deps.db, rows.map((r) => r.id));
    return { items: rows.map((r) => policyView(r, targets.get(r.id) ?? [], ctx.actor)), total };
  }

  /** One policy of the scope. */
  async getPolicy(ctx: WebhookCallContext, scope: PolicyScope, policyId: number): Promise<PolicyView> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    const p = await this.policyIn(this.deps.db, project, policyId);
    const targets = await this.targetsOf(this.deps.db, [p.id]);
    return policyView(p, targets.get(p.id) ?? [], ctx.actor);
  }

  /** Creates a policy in the scope; returns its id. CONFLICT when the name is taken there. */
  async createPolicy(ctx: WebhookCallContext, scope: PolicyScope, body: unknown): Promise<number> {
    const project = await this.scopeFor(ctx, scope, 'manage');
    const spec = parsePolicy(body, []);
    applyTrust(ctx.actor, spec.targets, [], await this.vetAddresses(ctx.actor, spec.targets, []));
    const projectId = project?.id ?? null;
    return this.deps.db.transaction().execute(async (trx) => {
      await this.assertNameFree(trx, projectId, spec.name, null);
      const now = Date.now();
      const row = await trx
        .insertInto('webhook_policies')
        .values({
          project_id: projectId,
          name: spec.name,
          description: spec.description,
          enabled: spec.enabled ? 1 : 0,
          event_types: JSON.stringify(spec.eventTypes),
          repo_filters: JSON.stringify(spec.repoFilters),
          tag_filters: JSON.stringify(spec.tagFilters),
          creator: spec.creator ?? ctx.actor.username,
          creation_time: now,
          update_time: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.writeTargets(trx, row.id, spec.targets, []);
      await recordAudit(trx, { projectId, username: ctx.actor.username, operation: 'create', resourceType: 'webhook_policy', resource: `${project?.name ?? 'system'}/${spec.name}` });
      return row.id;
    });
  }

  /** Replaces a policy (Harbor's PUT: every field but id, project_id and times). Secrets carry over as described above. */
  async updatePolicy(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, body: unknown): Promise<void> {
    const project = await this.scopeFor(ctx, scope, 'manage');
    // Addresses are vetted (DNS included) before the write transaction, which must stay short.
    const before = await this.policyIn(this.deps.db, project, policyId);
    const storedBefore = (await this.targetsOf(this.deps.db, [before.id])).get(before.id) ?? [];
    const vetted = await this.vetAddresses(ctx.actor, parsePolicy(body, storedBefore).targets, storedBefore);
    await this.deps.db.transaction().execute(async (trx) => {
      const p = await this.policyIn(trx, project, policyId);
      const stored = (await this.targetsOf(trx, [p.id])).get(p.id) ?? [];
      const spec = parsePolicy(body, stored);
      applyTrust(ctx.actor, spec.targets, stored, vetted);
      await this.assertNameFree(trx, p.project_id, spec.name, p.id);
      await trx
        .updateTable('webhook_policies')
        .set({
          name: spec.name,
          description: spec.description,
          enabled: spec.enabled ? 1 : 0,
          event_types: JSON.stringify(spec.eventTypes),
          repo_filters: JSON.stringify(spec.repoFilters),
          tag_filters: JSON.stringify(spec.tagFilters),
          creator: spec.creator ?? p.creator,
          update_time: Date.now(),
        })
        .where('id', '=', p.id)
        .execute();
      const reenable = new Set<number>();
      const inputs = isRecord(body) && Array.isArray(body.targets) ? body.targets : [];
      spec.targets.forEach((t, i) => {
        const input: unknown = inputs[i];
        if (t.id !== null && isRecord(input) && input.enabled === true) reenable.add(t.id);
      });
      await this.writeTargets(trx, p.id, spec.targets, stored, reenable);
      await recordAudit(trx, { projectId: p.project_id, username: ctx.actor.username, operation: 'update', resourceType: 'webhook_policy', resource: `${project?.name ?? 'system'}/${spec.name}` });
    });
  }

  /** Deletes a policy with its targets and whole delivery history. */
  async deletePolicy(ctx: WebhookCallContext, scope: PolicyScope, policyId: number): Promise<void> {
    const project = await this.scopeFor(ctx, scope, 'manage');
    await this.deps.db.transaction().execute(async (trx) => {
      const p = await this.policyIn(trx, project, policyId);
      await trx.deleteFrom('webhook_policies').where('id', '=', p.id).execute();
      await recordAudit(trx, { projectId: p.project_id, username: ctx.actor.username, operation: 'delete', resourceType: 'webhook_policy', resource: `${project?.name ?? 'system'}/${p.name}` });
    });
  }

  private async assertNameFree(trx: Transaction<Database>, projectId: number | null, name: string, exceptId: number | null): Promise<void> {
    let q = trx.selectFrom('webhook_policies').select('id').where('name', '=', name);
    q = projectId === null ? q.where('project_id', 'is', null) : q.where('project_id', '=', projectId);
    if (exceptId !== null) q = q.where('id', '!=', exceptId);
    if (await q.executeTakeFirst()) throw fail('CONFLICT', `notification policy named ${name} already exists`);
  }

  /** Updates matched targets in place (their history stays), inserts new ones, deletes the rest. */
  private async writeTargets(trx: Transaction<Database>, policyId: number, targets: TargetSpec[], stored: WebhookTargetRow[], reenable = new Set<number>()): Promise<void> {
    const kept = new Set(targets.map((t) => t.id).filter((id): id is number => id !== null));
    const gone = stored.filter((s) => !kept.has(s.id)).map((s) => s.id);
    if (gone.length) await trx.deleteFrom('webhook_targets').where('id', 'in', gone).execute();
    for (const [position, t] of targets.entries()) {
      const values = { position, ...targetColumns(t) };
      if (t.id !== null) {
        const health = reenable.has(t.id) ? { enabled: 1, failing_since: null, disabled_reason: null } : {};
        await trx.updateTable('webhook_targets').set({ ...values, ...health }).where('id', '=', t.id).execute();
      } else {
        await trx
          .insertInto('webhook_targets')
          .values({ ...values, policy_id: policyId, enabled: 1, failing_since: null, disabled_reason: null })
          .execute();
      }
    }
  }

  // ---- supported types, last trigger ----

  /** Harbor's SupportedWebhookEventTypes for a project, Wharf's additions appended. */
  async supportedEvents(ctx: WebhookCallContext, scope: PolicyScope): Promise<SupportedEventsView> {
    await this.scopeFor(ctx, scope, 'read-settings');
    return WebhookService.supported();
  }

  /** The supported types and formats (no permission needed: static facts). */
  static supported(): SupportedEventsView {
    const extra = eventTypes.filter((t) => !oneOf(harborEventTypes, t));
    return {
      event_type: [...harborEventTypes, ...extra],
      notify_type: [...notifyTypes],
      payload_formats: payloadFormats.map((p) => ({ notify_type: p.notify_type, formats: [...p.formats] })),
    };
  }

  /** Harbor's last-trigger list: one row per (policy, event type) with its latest execution start. */
  async lastTrigger(ctx: WebhookCallContext, scope: PolicyScope): Promise<LastTriggerView[]> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    let q = this.deps.db.selectFrom('webhook_policies').selectAll();
    q = project ? q.where('project_id', '=', project.id) : q.where('project_id', 'is', null);
    const policies = await q.orderBy('id').execute();
    if (policies.length === 0) return [];
    const last = await this.deps.db
      .selectFrom('webhook_executions')
      .select(['policy_id', 'event_type', (eb) => eb.fn.max('start_time').as('t')])
      .where(
        'policy_id',
        'in',
        policies.map((p) => p.id),
      )
      .groupBy(['policy_id', 'event_type'])
      .execute();
    const lastOf = new Map(last.map((r) => [`${r.policy_id}\0${r.event_type}`, Number(r.t)]));
    const out: LastTriggerView[] = [];
    for (const p of policies) {
      for (const t of stringArray(p.event_types)) {
        const ms = lastOf.get(`${p.id}\0${t}`);
        out.push({
          policy_name: p.name,
          event_type: t,
          enabled: p.enabled === 1,
          creation_time: rfc3339(p.creation_time),
          last_trigger_time: rfc3339(ms ?? null),
        });
      }
    }
    return out;
  }

  // ---- executions, tasks, log ----

  /** Executions of a policy; `q` keys: status, event_type, trigger, vendor_type; sort: id, start_time, end_time, status. */
  async listExecutions(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, req: ListRequest): Promise<ListPage<ExecutionView>> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    const p = await this.policyIn(this.deps.db, project, policyId);
    let q = this.deps.db.selectFrom('webhook_executions').where('policy_id', '=', p.id);
    for (const [key, f] of req.filters) {
      const col = column({ status: 'status', event_type: 'event_type', trigger: 'trigger', vendor_type: 'vendor_type' } as const, key);
      if (col === undefined) throw fail('BAD_REQUEST', `q: unsupported key "${key}"; use status, event_type, trigger or vendor_type`);
      q = f.fuzzy ? q.where(sql<boolean>`instr(lower(${sql.ref(col)}), ${f.value.toLowerCase()}) > 0`) : q.where(col, '=', f.value);
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    let sq = q.selectAll();
    for (const s of sortColumns(req.sort, { field: 'id', desc: true }, ['id', 'start_time', 'end_time', 'status'] as const)) {
      sq = sq.orderBy(s.column, s.desc ? 'desc' : 'asc');
    }
    const rows = await sq.orderBy('id', 'desc').limit(req.pageSize).offset((req.page - 1) * req.pageSize).execute();
    const tasks = rows.length
      ? await this.deps.db
          .selectFrom('webhook_tasks')
          .selectAll()
          .where(
            'execution_id',
            'in',
            rows.map((r) => r.id),
          )
          .execute()
      : [];
    const hidden = await this.hiddenTargets(ctx.actor, rows.map((e) => e.target_id));
    return { items: rows.map((e) => executionView(e, tasks.filter((t) => t.execution_id === e.id), hidden.has(e.target_id))), total };
  }

  /** One execution of a policy (404 unless it belongs to the policy in the scope). */
  async getExecution(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number, action: 'read-settings' | 'manage' = 'read-settings'): Promise<ExecutionView> {
    const project = await this.scopeFor(ctx, scope, action);
    const p = await this.policyIn(this.deps.db, project, policyId);
    const e = await this.executionIn(p, executionId);
    const tasks = await this.deps.db.selectFrom('webhook_tasks').selectAll().where('execution_id', '=', e.id).execute();
    return executionView(e, tasks, (await this.hiddenTargets(ctx.actor, [e.target_id])).has(e.target_id));
  }

  /** The targets among `ids` whose delivery details `actor` may not read (see `shownMessage`). */
  private async hiddenTargets(actor: Actor, ids: number[]): Promise<Set<number>> {
    if (actor.sysadmin || ids.length === 0) return new Set();
    const rows = await this.deps.db.selectFrom('webhook_targets').select(['id', 'options']).where('id', 'in', [...new Set(ids)]).execute();
    return new Set(rows.filter((r) => isAdminTrusted(r.options)).map((r) => r.id));
  }

  private async executionIn(p: WebhookPolicyRow, executionId: number): Promise<WebhookExecutionRow> {
    assertId(executionId, 'execution');
    const e = await this.deps.db.selectFrom('webhook_executions').selectAll().where('id', '=', executionId).executeTakeFirst();
    if (!e || e.policy_id !== p.id) throw fail('NOT_FOUND', `execution ${executionId} not found`);
    return e;
  }

  /** Tasks of an execution (one per delivery in Wharf, as in Harbor); `q` key: status; sort: id, creation_time, start_time, end_time. */
  async listTasks(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number, req: ListRequest): Promise<ListPage<TaskView>> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    const p = await this.policyIn(this.deps.db, project, policyId);
    const e = await this.executionIn(p, executionId);
    let q = this.deps.db.selectFrom('webhook_tasks').where('execution_id', '=', e.id);
    for (const [key, f] of req.filters) {
      if (key !== 'status') throw fail('BAD_REQUEST', `q: unsupported key "${key}"; use status`);
      q = f.fuzzy ? q.where(sql<boolean>`instr(lower(status), ${f.value.toLowerCase()}) > 0`) : q.where('status', '=', f.value);
    }
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    let sq = q.selectAll();
    for (const s of sortColumns(req.sort, { field: 'id', desc: false }, ['id', 'creation_time', 'start_time', 'update_time', 'end_time'] as const)) {
      sq = sq.orderBy(s.column, s.desc ? 'desc' : 'asc');
    }
    const rows = await sq.orderBy('id').limit(req.pageSize).offset((req.page - 1) * req.pageSize).execute();
    const hide = (await this.hiddenTargets(ctx.actor, [e.target_id])).has(e.target_id);
    return { items: rows.map((t) => taskView(t, hide)), total };
  }

  /**
   * The task's log as text: one block per HTTP attempt with the request (headers redacted, body),
   * the response (status, headers, body excerpt), duration and error, in Harbor's
   * `<time> [LEVEL] message` line style.
   */
  async taskLog(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number, taskId: number): Promise<string> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    const p = await this.policyIn(this.deps.db, project, policyId);
    const e = await this.executionIn(p, executionId);
    assertId(taskId, 'task');
    const task = await this.deps.db.selectFrom('webhook_tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
    if (!task || task.execution_id !== e.id) throw fail('NOT_FOUND', `task ${taskId} not found`);
    const attempts = await this.deps.db.selectFrom('webhook_attempts').selectAll().where('task_id', '=', task.id).orderBy('attempt').orderBy('id').execute();
    const target = await this.deps.db.selectFrom('webhook_targets').select(['headers', 'options']).where('id', '=', e.target_id).executeTakeFirst();
    const custom = new Set(Object.keys(stringMap(target?.headers ?? null)).map((k) => k.toLowerCase()));
    // A target a system admin approved for a private address: only system admins see what it answered.
    const hide = hidesDetails(ctx.actor, target);
    const kind = e.vendor_type === 'SLACK' ? 'slack' : e.vendor_type === 'DISCORD' ? 'discord' : 'webhook';
    const lines: string[] = [];
    lines.push(`${logTime(task.creation_time)} [INFO] ${kind} task ${task.id} of execution ${e.id}: event ${e.event_type} (${e.event_id}), trigger ${e.trigger}`);
    for (const a of attempts) {
      const level = a.error === null && a.response_status !== null && a.response_status >= 200 && a.response_status < 300 ? 'INFO' : 'ERROR';
      lines.push(`${logTime(a.started_at)} [INFO] attempt ${a.attempt}: POST ${a.url}`);
      lines.push('  request headers:', ...headerLines(a.request_headers, custom));
      lines.push('  request body:', indent(a.request_body));
      if (a.response_status !== null) {
        lines.push(`${logTime(a.started_at + a.duration_ms)} [${level}] attempt ${a.attempt}: response ${a.response_status} after ${a.duration_ms} ms`);
        if (hide) lines.push(`  response headers and body: ${hiddenPrivate}`);
        else {
          lines.push('  response headers:', ...headerLines(a.response_headers, new Set()));
          if (a.response_body !== null && a.response_body !== '') lines.push('  response body (excerpt):', indent(a.response_body));
        }
      } else {
        lines.push(`${logTime(a.started_at + a.duration_ms)} [ERROR] attempt ${a.attempt}: no response after ${a.duration_ms} ms`);
      }
      if (a.error !== null) lines.push(`${logTime(a.started_at + a.duration_ms)} [ERROR] attempt ${a.attempt}: ${hide && a.response_status === null && !a.error.startsWith('blocked by the SSRF policy') ? sealedError : a.error}`);
    }
    if (attempts.length === 0) lines.push(`${logTime(task.update_time)} [INFO] no attempt yet`);
    if (task.end_time !== null) {
      lines.push(`${logTime(task.end_time)} [${task.status === 'Success' ? 'INFO' : 'ERROR'}] ${kind} task finished: ${task.status}${task.status_message && !hide ? `: ${task.status_message}` : ''}`);
    } else if (task.next_attempt_at !== null) {
      lines.push(`${logTime(task.update_time)} [INFO] status ${task.status}; next attempt due at ${logTime(task.next_attempt_at)}`);
    }
    return lines.join('\n') + '\n';
  }

  /** Harbor's deprecated job list: the executions of `policy_id`, optionally by status. */
  async listJobs(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, statuses: string[], req: ListRequest): Promise<ListPage<WebhookJobView>> {
    const project = await this.scopeFor(ctx, scope, 'read-settings');
    const p = await this.policyIn(this.deps.db, project, policyId);
    let q = this.deps.db.selectFrom('webhook_executions').where('policy_id', '=', p.id);
    if (statuses.length) q = q.where('status', 'in', statuses);
    const total = Number((await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const rows = await q
      .selectAll()
      .orderBy('id', 'desc')
      .limit(req.pageSize)
      .offset((req.page - 1) * req.pageSize)
      .execute();
    const items = await Promise.all(
      rows.map(async (e) => {
        const t = await this.deps.db.selectFrom('webhook_tasks').select('update_time').where('execution_id', '=', e.id).executeTakeFirst();
        return {
          id: e.id,
          policy_id: e.policy_id,
          event_type: e.event_type,
          notify_type: notifyTypes.find((t) => vendorTypeFor(t) === e.vendor_type) ?? e.vendor_type.toLowerCase(),
          status: e.status,
          job_detail: e.payload,
          creation_time: rfc3339(e.start_time),
          update_time: rfc3339(t?.update_time ?? e.end_time ?? e.start_time),
        };
      }),
    );
    return { items, total };
  }

  // ---- redelivery and tests (the engine does the sending; the service checks who and what) ----

  /** Checks that the caller may manage the scope and the execution belongs to the policy; returns the execution id. */
  async authorizeRedeliver(ctx: WebhookCallContext, scope: PolicyScope, policyId: number, executionId: number): Promise<number> {
    const project = await this.scopeFor(ctx, scope, 'manage');
    const p = await this.policyIn(this.deps.db, project, policyId);
    return (await this.executionIn(p, executionId)).id;
  }

  /** The execution view after a redelivery (by id, the engine created or reset it). */
  async executionById(executionId: number): Promise<ExecutionView> {
    const e = await this.deps.db.selectFrom('webhook_executions').selectAll().where('id', '=', executionId).executeTakeFirst();
    if (!e) throw fail('NOT_FOUND', `execution ${executionId} not found`);
    const tasks = await this.deps.db.selectFrom('webhook_tasks').selectAll().where('execution_id', '=', e.id).execute();
    return executionView(e, tasks);
  }

  /**
   * Validates the targets of a test request: a single target object (Wharf), or Harbor's legacy
   * body, a policy with `targets`. Checks `manage` on the scope.
   */
  async testTargets(
    ctx: WebhookCallContext,
    scope: PolicyScope,
    body: unknown,
  ): Promise<{ legacy: boolean; targets: TargetSpec[]; project: { id: number; name: string; public: boolean } | null }> {
    const row = await this.scopeFor(ctx, scope, 'manage');
    const project = row ? { id: row.id, name: row.name, public: row.public === 1 } : null;
    if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object: a target, or a policy with targets');
    if (Array.isArray(body.targets)) {
      const name = typeof body.name === 'string' ? body.name : '';
      if (body.targets.length === 0) throw fail('BAD_REQUEST', `empty notification target with policy ${name}`);
      if (body.targets.length > 20) throw fail('BAD_REQUEST', 'a policy has at most 20 targets');
      const targets = body.targets.map((t, i) => parseTarget(t, i, name, undefined));
      applyTrust(ctx.actor, targets, [], await this.vetAddresses(ctx.actor, targets, [], true));
      return { legacy: true, targets, project };
    }
    const target = parseTarget(body, 0, '', undefined);
    applyTrust(ctx.actor, [target], [], await this.vetAddresses(ctx.actor, [target], [], true));
    return { legacy: false, targets: [target], project };
  }

  // ---- settings ----

  /** True unless the system admin turned webhooks off (Harbor's `notification_enable`, default true). */
  async notificationsEnabled(): Promise<boolean> {
    const row = await this.deps.db.selectFrom('configurations').select('value').where('key', '=', notificationEnableKey).executeTakeFirst();
    return row ? parseJson(row.value) !== false : true;
  }

  /** Harbor's configurations as far as Wharf has them (admin). */
  async getConfigurations(ctx: WebhookCallContext): Promise<Record<string, ConfigItemView>> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    return { [notificationEnableKey]: { value: await this.notificationsEnabled(), editable: true } };
  }

  /** Updates configurations (admin); Wharf knows only `notification_enable`. */
  async updateConfigurations(ctx: WebhookCallContext, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object of configuration keys to values');
    for (const key of Object.keys(body)) {
      if (key !== notificationEnableKey) throw fail('BAD_REQUEST', `unsupported configuration key: ${key} (Wharf supports ${notificationEnableKey})`);
    }
    const v = body[notificationEnableKey];
    if (v === undefined) return;
    if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${notificationEnableKey} must be true or false`);
    await this.deps.db
      .insertInto('configurations')
      .values({ key: notificationEnableKey, value: JSON.stringify(v) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(v) }))
      .execute();
  }
}
