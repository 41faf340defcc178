/**
 * Harbor's payloads (reference: harbor-webhooks.md §2, §3): the Default format (`type`,
 * `occur_at`, `operator`, `event_data`) and CloudEvents (structured `application/cloudevents+json`,
 * and binary mode with `ce-*` headers, which Harbor does not send but other CloudEvents senders
 * do). Harbor's ten event types become the Wharf events of the same name in the relay's project;
 * the repository, artifact and operator stay Harbor's. Harbor's Default payload has no event id:
 * its key is the hash of the payload (Harbor resends identical bytes on retry). A CloudEvent's key
 * is its `source` and `id`.
 */
import type { EventType, NewEvent, RelayInfo, RelaySource, RepositoryRef } from '../../events/index.ts';
import { harborEventTypes } from '../../events/index.ts';
import { artifactRef, contentKey, num, obj, originOf, referenceHost, relayInfo, str, unreadable, type ParsedRelay, type RelayContext, type RelayInput, type RelayedEvent } from './types.ts';

type HarborType = (typeof harborEventTypes)[number];

/** Harbor's CloudEvents `type` for each of its event types (reference §1). */
export const harborCloudEventTypes: Readonly<Record<string, HarborType>> = {
  'harbor.artifact.pushed': 'PUSH_ARTIFACT',
  'harbor.artifact.pulled': 'PULL_ARTIFACT',
  'harbor.artifact.deleted': 'DELETE_ARTIFACT',
  'harbor.quota.exceeded': 'QUOTA_EXCEED',
  'harbor.quota.warned': 'QUOTA_WARNING',
  'harbor.scan.completed': 'SCANNING_COMPLETED',
  'harbor.scan.failed': 'SCANNING_FAILED',
  'harbor.scan.stopped': 'SCANNING_STOPPED',
  'harbor.replication.status.changed': 'REPLICATION',
  'harbor.tag_retention.finished': 'TAG_RETENTION',
};

function isHarborType(t: string): t is HarborType {
  return (harborEventTypes as readonly string[]).includes(t);
}

/** One Harbor event, whatever the envelope: its type, time, operator and `event_data`. */
interface HarborEvent {
  type: HarborType;
  occurAt: number;
  operator: string;
  data: Record<string, unknown>;
}

/** The repository of `event_data`: `repo_full_name`, or `namespace/name`. */
function repositoryOf(data: Record<string, unknown>, what: string, required: true): RepositoryRef;
function repositoryOf(data: Record<string, unknown>, what: string, required: false): RepositoryRef | null;
function repositoryOf(data: Record<string, unknown>, what: string, required: boolean): RepositoryRef | null {
  const r = obj(data['repository']);
  const ns = str(r?.['namespace']);
  const short = str(r?.['name']);
  const full = str(r?.['repo_full_name']) ?? (ns !== null && short !== null ? `${ns}/${short}` : null);
  if (full === null) {
    if (required) throw unreadable('Harbor', `${what} needs event_data.repository.repo_full_name`);
    return null;
  }
  const created = num(r?.['date_created']);
  return { id: 0, name: full, creationTime: created !== null ? created * 1000 : null };
}

/** The resources of `event_data` (Harbor sends one per artifact event). */
function resourcesOf(data: Record<string, unknown>): Array<Record<string, unknown>> {
  const list = data['resources'];
  if (!Array.isArray(list)) return [];
  const out: Array<Record<string, unknown>> = [];
  for (const r of list) {
    const o = obj(r);
    if (o !== null) out.push(o);
  }
  return out;
}

/** The Harbor host the event names (a resource_url's host, or replication's harbor_hostname). */
function harborHost(data: Record<string, unknown>): string {
  for (const r of resourcesOf(data)) {
    const h = referenceHost(str(r['resource_url']));
    if (h !== '') return h;
  }
  return str(obj(data['replication'])?.['harbor_hostname']) ?? str(obj(data['retention'])?.['harbor_hostname']) ?? '';
}

/** The Wharf events of one Harbor event (one per resource for artifact and scan events). */
function wharfEvents(e: HarborEvent, ctx: RelayContext, relay: RelayInfo): NewEvent[] {
  const base = { occurAt: e.occurAt, operator: e.operator, project: ctx.project, relay };
  const d = e.data;
  switch (e.type) {
    case 'PUSH_ARTIFACT':
    case 'PULL_ARTIFACT':
    case 'DELETE_ARTIFACT': {
      const type = e.type;
      const repository = repositoryOf(d, type, true);
      const resources = resourcesOf(d);
      if (resources.length === 0) throw unreadable('Harbor', `${e.type} needs event_data.resources[0].digest or .tag`);
      return resources.map((r) => {
        const digest = str(r['digest']);
        const tag = str(r['tag']);
        if (digest === null && tag === null) throw unreadable('Harbor', `${type} needs event_data.resources[].digest or .tag`);
        return { ...base, type, repository, artifact: artifactRef(digest, tag) };
      });
    }
    case 'SCANNING_COMPLETED':
    case 'SCANNING_FAILED':
    case 'SCANNING_STOPPED': {
      const type = e.type;
      const repository = repositoryOf(d, type, true);
      const declared = str(obj(d['scan'])?.['scan_type']);
      return resourcesOf(d).map((r) => {
        const sbom = obj(r['sbom_overview']);
        const scanType = declared === 'sbom' || (declared === null && sbom !== null) ? 'sbom' : 'vulnerability';
        const overview = (scanType === 'sbom' ? sbom : obj(r['scan_overview'])) ?? {};
        return { ...base, type, repository, artifact: artifactRef(str(r['digest']), str(r['tag'])), scanType, overview };
      });
    }
    case 'QUOTA_EXCEED':
    case 'QUOTA_WARNING': {
      const r = resourcesOf(d)[0];
      const digest = r ? str(r['digest']) : null;
      const tag = r ? str(r['tag']) : null;
      return [
        {
          ...base,
          type: e.type,
          repository: repositoryOf(d, e.type, false),
          artifact: digest !== null || tag !== null ? artifactRef(digest, tag) : null,
          details: str(obj(d['custom_attributes'])?.['Details']) ?? '',
        },
      ];
    }
    case 'REPLICATION': {
      const replication = obj(d['replication']);
      if (replication === null) throw unreadable('Harbor', 'REPLICATION needs event_data.replication');
      return [{ ...base, type: e.type, replication }];
    }
    case 'TAG_RETENTION': {
      const retention = obj(d['retention']);
      if (retention === null) throw unreadable('Harbor', 'TAG_RETENTION needs event_data.retention');
      return [{ ...base, type: e.type, retention }];
    }
  }
}

/** The events of one Harbor event, keyed `key`, `key#1`, ... when it has several resources. */
function keyed(events: NewEvent[], key: string): RelayedEvent[] {
  return events.map((event, i) => ({ sourceKey: i === 0 ? key : `${key}#${i}`, event }));
}

function finish(source: RelaySource, e: HarborEvent | null, ctx: RelayContext, key: string, sourceEventId?: string): ParsedRelay {
  if (e === null) return { source, events: [], ignored: 1 };
  const host = harborHost(e.data);
  const relay = relayInfo(ctx, source, host, sourceEventId);
  return { source, events: keyed(wharfEvents(e, ctx, relay), key), ignored: 0 };
}

/** True when the body looks like Harbor's Default payload. */
export function isHarborDefault(body: Record<string, unknown>): boolean {
  return typeof body['type'] === 'string' && 'occur_at' in body;
}

/** Harbor's Default payload. Types other than Harbor's ten are counted as ignored. */
export function parseHarborDefault(input: RelayInput, ctx: RelayContext): ParsedRelay {
  const body = obj(input.body);
  if (body === null) throw unreadable('Harbor', 'the body is not a JSON object');
  const type = str(body['type']);
  if (type === null) throw unreadable('Harbor', '"type" must be a string such as PUSH_ARTIFACT');
  const occur = num(body['occur_at']);
  if (occur === null) throw unreadable('Harbor', '"occur_at" must be a number (Unix seconds)');
  const data = body['event_data'] === undefined ? {} : obj(body['event_data']);
  if (data === null) throw unreadable('Harbor', '"event_data" must be an object');
  const event = isHarborType(type) ? { type, occurAt: occur * 1000, operator: typeof body['operator'] === 'string' ? body['operator'] : '', data } : null;
  return finish('harbor', event, ctx, contentKey('harbor', body));
}

/** True when the request is a CloudEvent: binary mode (`ce-specversion`) or structured (`specversion`, or the media type). */
export function isCloudEvent(input: RelayInput, body: Record<string, unknown> | null): boolean {
  if (input.headers['ce-specversion'] !== undefined) return true;
  if ((input.headers['content-type'] ?? '').toLowerCase().startsWith('application/cloudevents+json')) return true;
  return body !== null && typeof body['specversion'] === 'string';
}

/** A CloudEvent from Harbor (or in Harbor's vocabulary): structured or binary mode. */
export function parseCloudEvent(input: RelayInput, ctx: RelayContext): ParsedRelay {
  const binary = input.headers['ce-specversion'] !== undefined;
  const body = obj(input.body);
  const attr = (name: string): string | null => (binary ? str(input.headers[`ce-${name}`]) : str(body?.[name]));
  if (!binary && body === null) throw unreadable('CloudEvents', 'a structured CloudEvent must be a JSON object');
  const specversion = attr('specversion');
  if (specversion === null || !specversion.startsWith('1.')) throw unreadable('CloudEvents', `specversion must be 1.0, not ${JSON.stringify(specversion)}`);
  const id = attr('id');
  const source = attr('source');
  const ceType = attr('type');
  if (id === null || source === null || ceType === null) throw unreadable('CloudEvents', 'id, source and type are required');
  const time = attr('time');
  const parsedTime = time !== null ? Date.parse(time) : Number.NaN;
  const rawData = binary ? input.body : body?.['data'];
  const data = rawData === undefined || rawData === null ? {} : obj(rawData);
  if (data === null) throw unreadable('CloudEvents', 'data must be a JSON object (Harbor\'s event_data)');
  const type: EventType | undefined = harborCloudEventTypes[ceType] ?? (isHarborType(ceType) ? ceType : undefined);
  const harborType = type !== undefined && isHarborType(type) ? type : null;
  const event = harborType !== null ? { type: harborType, occurAt: Number.isFinite(parsedTime) ? parsedTime : ctx.now, operator: attr('operator') ?? '', data } : null;
  const parsed = finish('harbor-cloudevents', event, ctx, `harbor-cloudevents:${source} ${id}`, id);
  // Harbor's source is a path; a sender with an absolute URI as source names its registry by it.
  for (const e of parsed.events) if (e.event.relay && e.event.relay.registryUrl === '') e.event.relay.registryUrl = originOf(source);
  return parsed;
}
