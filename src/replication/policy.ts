/**
 * Harbor's ReplicationPolicy: a POST/PUT body validated into a typed spec, the stored text and its
 * reader, and the wire view (facts: harbor-lifecycle.md §4.3, harbor-swagger.yaml
 * ReplicationPolicy, ReplicationFilter, ReplicationTrigger). Pure code: whether the registries
 * exist, whether the name is taken and the rest of the cron's syntax are the caller's checks.
 *
 * Harbor's own messages are kept for what Harbor checks; filter messages are prefixed with the
 * filter's place (`filters[2]: invalid filter type`) so a long list says which one is wrong.
 * Where Harbor lets a body through that can never run or later fails with a 500, Wharf refuses it
 * with a 400 naming the field: pattern syntax and size (globLimits), label names, counts,
 * `dest_namespace_replace_count` outside -1…3, `speed` below -1, `single_active_replication` with
 * an `event_based` trigger. Wharf's two fields choose how REPLICATION events are sent:
 * `event_mode` (`per_task`, Harbor's one event per task status change, or `summary`, one event per
 * execution) and `event_status_filter` (`all`, or `failures` only).
 *
 * A PUT replaces the whole policy, as in Harbor: an omitted field takes its default (so a PUT
 * without `enabled` disables the policy), and create and update are validated alike.
 */
import { fail, globLimits, globPatternProblem, isJsonObject, isValidProjectName } from '../domain/index.ts';
import type { FilterDecoration, ReplicationFilter } from './filters.ts';

/** What starts an execution. */
export type TriggerType = 'manual' | 'scheduled' | 'event_based';
/** How REPLICATION events are sent (Wharf): one per task status change, or one per execution. */
export type EventMode = 'per_task' | 'summary';
/** Which REPLICATION events are sent (Wharf): all, or only failures. */
export type EventStatusFilter = 'all' | 'failures';

export const triggerTypes: readonly TriggerType[] = ['manual', 'scheduled', 'event_based'];
export const eventModes: readonly EventMode[] = ['per_task', 'summary'];
export const eventStatusFilters: readonly EventStatusFilter[] = ['all', 'failures'];

/** The registry id of the local instance (Harbor's synthesized id 0). */
export const localRegistryId = 0;
/** Longest policy name (Harbor's `replication_policy.name` column is varchar(256)). */
export const maxPolicyNameLength = 256;
/** Longest label name (Wharf's labels). */
export const maxLabelNameLength = 128;
/** Longest `dest_namespace` (a repository name's limit). */
export const maxNamespaceLength = 255;
/** Largest `speed` (Harbor's int32). */
export const maxSpeed = 2_147_483_647;

/** A validated policy. Exactly one of the two registry ids is {@link localRegistryId}. */
export interface ReplicationPolicySpec {
  name: string;
  description: string;
  srcRegistryId: number;
  destRegistryId: number;
  destNamespace: string;
  /** -1 (legacy: keep only the last component) or 0…3 leading components replaced. */
  destNamespaceReplaceCount: number;
  /** `cron` is empty unless the type is `scheduled`. */
  trigger: { type: TriggerType; cron: string };
  filters: ReplicationFilter[];
  deletion: boolean;
  override: boolean;
  enabled: boolean;
  /** KB/s per task; 0 is unlimited (a -1 in the body is stored as 0, as Harbor clamps it). */
  speed: number;
  copyByChunk: boolean;
  singleActiveReplication: boolean;
  eventMode: EventMode;
  eventStatusFilter: EventStatusFilter;
}

/** Push when the source is local, pull when the destination is. */
export function replicationMode(spec: Pick<ReplicationPolicySpec, 'srcRegistryId'>): 'push' | 'pull' {
  return spec.srcRegistryId === localRegistryId ? 'push' : 'pull';
}

function includes<T extends string>(list: readonly T[], v: unknown): v is T {
  return list.some((x) => x === v);
}

/** The whitespace-separated fields of a cron string (a plain scan, as Go's strings.Fields). */
function cronFields(cron: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (const ch of cron) {
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f') {
      if (current !== '') fields.push(current);
      current = '';
    } else current += ch;
  }
  if (current !== '') fields.push(current);
  return fields;
}

function optionalString(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${field} must be a string`);
  return v;
}

function optionalBool(v: unknown, field: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${field} must be true or false`);
  return v;
}

function choice<T extends string>(v: unknown, field: string, list: readonly T[], fallback: T): T {
  if (v === undefined || v === null) return fallback;
  if (!includes(list, v)) throw fail('BAD_REQUEST', `${field} must be ${list.map((x) => `"${x}"`).join(' or ')}`);
  return v;
}

/** Harbor reads only `id` of a registry object; null, absent or `{}` mean the local registry. */
function registryId(v: unknown, field: string): number {
  if (v === undefined || v === null) return localRegistryId;
  if (!isJsonObject(v)) throw fail('BAD_REQUEST', `${field} must be an object: {"id":<registry id>}`);
  const id = v.id ?? localRegistryId;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw fail('BAD_REQUEST', `${field}.id must be a registry id (an integer, 0 for the local registry)`);
  return id;
}

function name(v: unknown): string {
  if (v !== undefined && v !== null && typeof v !== 'string') throw fail('BAD_REQUEST', 'name must be a string');
  const s = typeof v === 'string' ? v : '';
  if (s.trim() === '') throw fail('BAD_REQUEST', 'empty name');
  if (s.length > maxPolicyNameLength) throw fail('BAD_REQUEST', `name is longer than ${maxPolicyNameLength} characters`);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw fail('BAD_REQUEST', 'name must not contain control characters');
  }
  return s;
}

function decorationOf(raw: unknown, at: string, allowed: boolean): FilterDecoration {
  const d = raw ?? '';
  if (typeof d !== 'string') throw fail('BAD_REQUEST', `${at}.decoration must be a string`);
  if (d === '') return 'matches';
  if (!allowed) throw fail('BAD_REQUEST', `${at}: only tag and label filter support decoration`);
  if (d !== 'matches' && d !== 'excludes') throw fail('BAD_REQUEST', `${at}: invalid filter decoration, :${d}`);
  return d;
}

function labelNames(value: unknown, at: string): string[] {
  if (!Array.isArray(value)) throw fail('BAD_REQUEST', `${at}: the type of label filter value isn't string slice`);
  const names: string[] = [];
  for (const l of value) {
    if (typeof l !== 'string') throw fail('BAD_REQUEST', `${at}: the type of label filter value isn't string slice`);
    names.push(l);
  }
  return names;
}

/** One filter, checked in Harbor's order (value type, resource value, decoration), then Wharf's bounds. */
function filter(v: unknown, index: number): ReplicationFilter {
  const at = `filters[${index}]`;
  if (!isJsonObject(v)) throw fail('BAD_REQUEST', `${at} must be an object: {"type":"name|tag|label|resource","value":...}`);
  const { type, value } = v;
  if (type === 'label') {
    const labels = labelNames(value, at);
    const decoration = decorationOf(v.decoration, at, true);
    if (labels.length > globLimits.maxPatterns) throw fail('BAD_REQUEST', `${at}.value: at most ${globLimits.maxPatterns} label names`);
    labels.forEach((l, j) => {
      if (l === '' || l.length > maxLabelNameLength) throw fail('BAD_REQUEST', `${at}.value[${j}] must be a label name of 1 to ${maxLabelNameLength} characters`);
    });
    return { type, value: labels, decoration };
  }
  if (type !== 'name' && type !== 'tag' && type !== 'resource') throw fail('BAD_REQUEST', `${at}: invalid filter type`);
  if (typeof value !== 'string') throw fail('BAD_REQUEST', `${at}: the type of filter value isn't string`);
  if (type === 'resource') {
    if (value !== 'image' && value !== 'artifact') throw fail('BAD_REQUEST', `${at}: invalid resource filter: ${value}`);
    decorationOf(v.decoration, at, false);
    return { type, value };
  }
  const decoration = decorationOf(v.decoration, at, type === 'tag');
  // Length, alternatives and syntax (src/domain/glob.ts); matching is linear whatever is stored.
  const problem = globPatternProblem(value);
  if (problem !== null) throw fail('BAD_REQUEST', `${at}.value ${problem}`);
  return type === 'name' ? { type, value } : { type, value, decoration };
}

function filters(v: unknown): ReplicationFilter[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', 'filters must be an array');
  if (v.length > globLimits.maxPatterns) throw fail('BAD_REQUEST', `filters: at most ${globLimits.maxPatterns} filters`);
  return v.map((f: unknown, i) => filter(f, i));
}

/** Harbor's repository-name rule on each `/`-separated component, and a repository name's length. */
function destNamespace(v: unknown): string {
  const ns = optionalString(v, 'dest_namespace');
  if (ns === '') return ns;
  if (ns.length > maxNamespaceLength || !ns.split('/').every(isValidProjectName)) {
    throw fail('BAD_REQUEST', `invalid destination namespace: ${ns}`);
  }
  return ns;
}

function replaceCount(v: unknown): number {
  if (v === undefined || v === null) return -1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -1 || v > 3) {
    throw fail('BAD_REQUEST', 'dest_namespace_replace_count must be an integer from -1 to 3 (-1: only the last path component follows dest_namespace; 0 to 3: that many leading components are replaced)');
  }
  return v;
}

/**
 * Harbor's trigger checks. For `scheduled`, the cron must have six fields (seconds first) with a
 * seconds field of `0` and a minutes field other than `*`; the caller checks the rest of the
 * syntax. Another type's cron is dropped.
 */
function trigger(v: unknown): ReplicationPolicySpec['trigger'] {
  if (v === undefined || v === null) return { type: 'manual', cron: '' };
  if (!isJsonObject(v)) throw fail('BAD_REQUEST', 'trigger must be an object: {"type":"manual|scheduled|event_based","trigger_settings":{"cron":"..."}}');
  if (!includes(triggerTypes, v.type)) throw fail('BAD_REQUEST', 'invalid trigger type');
  const settings = v.trigger_settings ?? null;
  if (settings !== null && !isJsonObject(settings)) throw fail('BAD_REQUEST', 'trigger.trigger_settings must be an object: {"cron":"..."}');
  const cron = settings === null ? '' : optionalString(settings.cron, 'trigger.trigger_settings.cron');
  if (v.type !== 'scheduled') return { type: v.type, cron: '' };
  if (cron === '') throw fail('BAD_REQUEST', 'the cron string cannot be empty when the trigger type is scheduled');
  const fields = cronFields(cron);
  if (fields.length !== 6) throw fail('BAD_REQUEST', `invalid cron string for scheduled trigger: ${cron}`);
  if (fields[0] !== '0') throw fail('BAD_REQUEST', 'the 1st field (indicating Seconds of time) of the cron setting must be 0');
  if (fields[1] === '*') throw fail('BAD_REQUEST', '* is not allowed for the Minutes field of the cron setting of replication policy');
  return { type: 'scheduled', cron };
}

function speed(v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -1 || v > maxSpeed) {
    throw fail('BAD_REQUEST', `speed must be an integer from -1 to ${maxSpeed} (KB/s per task; 0 or -1: unlimited)`);
  }
  return v === -1 ? 0 : v;
}

/**
 * Validates a POST (`update: false`) or PUT (`update: true`) body. The body's `id`, times and the
 * registries' other fields are ignored. `deletion` or Harbor's newer `replicate_deletion`, either
 * true, turns deletion replication on (Harbor reads only `deletion`).
 */
export function parseReplicationPolicy(body: unknown, opts: { update: boolean }): ReplicationPolicySpec {
  if (!isJsonObject(body)) {
    throw fail('BAD_REQUEST', `the request body ${opts.update ? 'of a policy update ' : ''}must be a ReplicationPolicy object`);
  }
  const policyName = name(body.name);
  const description = optionalString(body.description, 'description');
  const srcRegistryId = registryId(body.src_registry, 'src_registry');
  const destRegistryId = registryId(body.dest_registry, 'dest_registry');
  if ((srcRegistryId === localRegistryId) === (destRegistryId === localRegistryId)) {
    throw fail('BAD_REQUEST', 'either src_registry or dest_registry should be empty and the other one shouldn\'t be empty');
  }
  const parsedFilters = filters(body.filters);
  const namespace = destNamespace(body.dest_namespace);
  const count = replaceCount(body.dest_namespace_replace_count);
  const parsedTrigger = trigger(body.trigger);
  const deletion = optionalBool(body.deletion, 'deletion');
  const replicateDeletion = optionalBool(body.replicate_deletion, 'replicate_deletion');
  const singleActive = optionalBool(body.single_active_replication, 'single_active_replication');
  if (singleActive && parsedTrigger.type === 'event_based') {
    throw fail('BAD_REQUEST', 'single_active_replication cannot be used with an event_based trigger: each event starts its own execution');
  }
  return {
    name: policyName,
    description,
    srcRegistryId,
    destRegistryId,
    destNamespace: namespace,
    destNamespaceReplaceCount: count,
    trigger: parsedTrigger,
    filters: parsedFilters,
    deletion: deletion || replicateDeletion,
    override: optionalBool(body.override, 'override'),
    enabled: optionalBool(body.enabled, 'enabled'),
    speed: speed(body.speed),
    copyByChunk: optionalBool(body.copy_by_chunk, 'copy_by_chunk'),
    singleActiveReplication: singleActive,
    eventMode: choice(body.event_mode, 'event_mode', eventModes, 'per_task'),
    eventStatusFilter: choice(body.event_status_filter, 'event_status_filter', eventStatusFilters, 'all'),
  };
}

/** A filter as the API shows and stores it: a decoration only on tag and label filters. */
function filterObject(f: ReplicationFilter): Record<string, unknown> {
  if (f.type === 'label') return { type: f.type, value: [...f.value], decoration: f.decoration };
  if (f.type === 'tag') return { type: f.type, value: f.value, decoration: f.decoration };
  return { type: f.type, value: f.value };
}

function registryRef(id: number): { id: number } | null {
  return id === localRegistryId ? null : { id };
}

/**
 * The stored text of a spec: a ReplicationPolicy body with a fixed key order, so that
 * {@link readPolicy} validates it as a body and reads back the same spec.
 */
export function policyText(spec: ReplicationPolicySpec): string {
  return JSON.stringify({
    name: spec.name,
    description: spec.description,
    src_registry: registryRef(spec.srcRegistryId),
    dest_registry: registryRef(spec.destRegistryId),
    dest_namespace: spec.destNamespace,
    dest_namespace_replace_count: spec.destNamespaceReplaceCount,
    trigger: { type: spec.trigger.type, trigger_settings: { cron: spec.trigger.cron } },
    filters: spec.filters.map(filterObject),
    deletion: spec.deletion,
    override: spec.override,
    enabled: spec.enabled,
    speed: spec.speed,
    copy_by_chunk: spec.copyByChunk,
    single_active_replication: spec.singleActiveReplication,
    event_mode: spec.eventMode,
    event_status_filter: spec.eventStatusFilter,
  });
}

/** Reads a stored spec (written by {@link policyText}); validated as a body is. */
export function readPolicy(text: string): ReplicationPolicySpec {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw fail('BAD_REQUEST', 'a stored replication policy must be JSON');
  }
  return parseReplicationPolicy(v, { update: false });
}

/** What the caller adds to a view: the registries as `GET /registries/{id}` shows them, and times. */
export interface PolicyViewExtra {
  srcRegistry: Record<string, unknown>;
  destRegistry: Record<string, unknown>;
  creationMs: number;
  updateMs: number;
}

/**
 * Harbor's wire shape of a policy (`GET /replication/policies/{id}`): both registries in full
 * (the local one too), `deletion` and `replicate_deletion` alike, times as Harbor's RFC 3339 with
 * milliseconds, then Wharf's two event fields.
 */
export function policyView(id: number, spec: ReplicationPolicySpec, extra: PolicyViewExtra): Record<string, unknown> {
  return {
    id,
    name: spec.name,
    description: spec.description,
    src_registry: extra.srcRegistry,
    dest_registry: extra.destRegistry,
    dest_namespace: spec.destNamespace,
    dest_namespace_replace_count: spec.destNamespaceReplaceCount,
    trigger: { type: spec.trigger.type, trigger_settings: { cron: spec.trigger.cron } },
    filters: spec.filters.map(filterObject),
    replicate_deletion: spec.deletion,
    deletion: spec.deletion,
    override: spec.override,
    enabled: spec.enabled,
    creation_time: new Date(extra.creationMs).toISOString(),
    update_time: new Date(extra.updateMs).toISOString(),
    speed: spec.speed,
    copy_by_chunk: spec.copyByChunk,
    single_active_replication: spec.singleActiveReplication,
    event_mode: spec.eventMode,
    event_status_filter: spec.eventStatusFilter,
  };
}
