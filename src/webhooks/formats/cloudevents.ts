/**
 * Harbor's "CloudEvents" payload format: a CloudEvents 1.0 event built with the `cloudevents`
 * SDK. `data` is the Default format's `event_data`; `operator` and `requestid` are extensions, as
 * Harbor sends them. Structured mode (the whole event as the JSON body) is Harbor's and the
 * default; binary mode (attributes as `ce-*` headers, `data` as the body) is a Wharf option,
 * chosen with the target option `cloudevents_mode: "binary"`.
 */
import type { CloudEvent } from 'cloudevents';
import { lazyModule } from '../../platform/index.ts';
import type { WharfEvent } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { defaultEventData, withRelay, type HarborEventData } from './default.ts';
import { goJson, rfc3339Seconds, type AnyEventType } from './common.ts';

/** The SDK, loaded by the first event rendered as a CloudEvent (platform/lazy-module.ts). */
const sdk = lazyModule<typeof import('cloudevents')>('cloudevents');

/** CloudEvents `type` per event type: Harbor's names, and `wharf.*` names for Wharf's additions. */
export const cloudEventTypes: Readonly<Record<AnyEventType, string>> = {
  PUSH_ARTIFACT: 'harbor.artifact.pushed',
  PULL_ARTIFACT: 'harbor.artifact.pulled',
  DELETE_ARTIFACT: 'harbor.artifact.deleted',
  QUOTA_EXCEED: 'harbor.quota.exceeded',
  QUOTA_WARNING: 'harbor.quota.warned',
  SCANNING_COMPLETED: 'harbor.scan.completed',
  SCANNING_FAILED: 'harbor.scan.failed',
  SCANNING_STOPPED: 'harbor.scan.stopped',
  REPLICATION: 'harbor.replication.status.changed',
  TAG_RETENTION: 'harbor.tag_retention.finished',
  CREATE_TAG: 'wharf.tag.created',
  DELETE_TAG: 'wharf.tag.deleted',
  CREATE_REPOSITORY: 'wharf.repository.created',
  DELETE_REPOSITORY: 'wharf.repository.deleted',
  CREATE_PROJECT: 'wharf.project.created',
  DELETE_PROJECT: 'wharf.project.deleted',
  ARTIFACT_LABELED: 'wharf.artifact.labeled',
  WEBHOOK_TARGET_DISABLED: 'wharf.webhook.target.disabled',
};

/** Structured-mode Content-Type, exactly as Harbor sends it. */
export const cloudEventsStructuredContentType = 'application/cloudevents+json';

/** Every event type has a CloudEvents rendering. */
export function cloudEventsSupports(_eventType: AnyEventType): boolean {
  return true;
}

/**
 * The event's `source`: Harbor's `/projects/{project_id}/webhook/policies/{policy_id}`, and
 * `/system/webhook/policies/{policy_id}` for Wharf's system-wide policies (no project).
 */
export function cloudEventSource(ctx: FormatContext): string {
  return ctx.policy.projectId === null
    ? `/system/webhook/policies/${ctx.policy.id}`
    : `/projects/${ctx.policy.projectId}/webhook/policies/${ctx.policy.id}`;
}

/** The SDK event for a Wharf event: id = the event id, so retries and redeliveries keep it. */
export function toCloudEvent(event: WharfEvent, ctx: FormatContext): CloudEvent<HarborEventData> {
  // The SDK would invent a random id for an empty one, and redeliveries would no longer match.
  if (event.id === '') throw fail('UNPROCESSABLE', 'an event without an id cannot be rendered as a CloudEvent');
  return new (sdk().CloudEvent)<HarborEventData>({
    specversion: '1.0',
    id: event.id,
    source: cloudEventSource(ctx),
    type: cloudEventTypes[event.type],
    datacontenttype: 'application/json',
    time: rfc3339Seconds(event.occurAt),
    data: withRelay(defaultEventData(event, ctx), event),
    requestid: event.request?.id ?? '',
    operator: event.operator,
  });
}

/**
 * A `ce-*` header value as the CloudEvents HTTP binding wants it: space, `"`, `%` and anything
 * outside printable ASCII percent-encoded (UTF-8). Ordinary values pass through unchanged.
 */
export function encodeCeHeaderValue(v: string): string {
  return /^[\x21\x23-\x24\x26-\x7e]*$/.test(v)
    ? v
    : Array.from(new TextEncoder().encode(v), (b) =>
        b > 0x20 && b < 0x7f && b !== 0x22 && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
      ).join('');
}

/**
 * The structured-mode body as Harbor's Go SDK writes it: `specversion, id, source, type,
 * datacontenttype, time, data`, then the extensions; `time` in whole seconds (`…:46Z`); strings
 * escaped as Go does. The attributes are the SDK event's, so the SDK validated them; only the
 * layout differs from `HTTP.structured` (JavaScript key order, `.000Z` milliseconds), and both
 * decode to the same event.
 */
export function harborStructuredBody(ce: CloudEvent<HarborEventData>, occurAt: number): string {
  return goJson({
    specversion: ce.specversion,
    id: ce.id,
    source: ce.source,
    type: ce.type,
    datacontenttype: ce.datacontenttype,
    time: rfc3339Seconds(occurAt),
    data: ce.data,
    requestid: ce['requestid'],
    operator: ce['operator'],
  });
}

/** Harbor's CloudEvents format; binary mode when `ctx.target.options.cloudevents_mode === 'binary'`. */
export const formatCloudEvents: PayloadFormatter = (event, ctx): RenderedPayload => {
  const ce = toCloudEvent(event, ctx);
  if (ctx.target.options['cloudevents_mode'] === 'binary') {
    const message = sdk().HTTP.binary(ce);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      const text = String(value);
      if (name === 'content-type') headers['Content-Type'] = text;
      // The SDK prints milliseconds; keep the whole-second time of the structured mode.
      else if (name === 'ce-time') headers[name] = rfc3339Seconds(event.occurAt);
      else headers[name] = encodeCeHeaderValue(text);
    }
    return { body: goJson(ce.data), headers };
  }
  // HTTP.structured(ce) carries the same event; the body is laid out as Harbor's for parity.
  return { body: harborStructuredBody(ce, event.occurAt), headers: { 'Content-Type': cloudEventsStructuredContentType } };
};
