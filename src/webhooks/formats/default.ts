/**
 * Harbor's "Default" payload format, byte for byte: the JSON Harbor's Go structs marshal to
 * (compact, struct field order, omitempty, `<>&` escaped). Receivers written for Harbor (Kargo,
 * Flux, Argo CD Image Updater, Keel, Tekton bindings, ...) parse this body, so every key, type and
 * value rule here is a compatibility promise. Wharf's own event types use the same envelope; the
 * shapes they add are documented in docs/webhook-formats.md.
 */
import type { ArtifactRef, ProjectRef, RepositoryRef, WharfEvent } from '../../events/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import {
  assertNeverEvent,
  goJson,
  imageReference,
  inStructOrder,
  isRecord,
  repoShortName,
  sortedMap,
  unixSeconds,
  urlOrigin,
  type AnyEventType,
  type GoField,
} from './common.ts';

/** One entry of `event_data.resources`. */
export interface HarborResource {
  digest?: string;
  tag?: string;
  resource_url?: string;
  scan_overview?: Record<string, unknown>;
  sbom_overview?: Record<string, unknown>;
  /** Wharf extension (scan events of an index child): `os/architecture[/variant]`. */
  platform?: string;
  /** Wharf extension (scan events of an index child): the index's digest. */
  parent_digest?: string;
  /** Wharf extension (PUSH_ARTIFACT of an index, for policies with `fold_platforms`): the manifests it lists. */
  platforms?: HarborPlatform[];
}

/** One manifest of a folded multi-platform push; os, architecture and variant when the index gives them. */
export interface HarborPlatform {
  digest: string;
  os?: string;
  architecture?: string;
  variant?: string;
}

/** The platforms of a folded push as chat messages list them: `linux/amd64, linux/arm64/v8`; null for other events. */
export function platformsText(event: WharfEvent): string | null {
  if (event.type !== 'PUSH_ARTIFACT' || event.platforms === undefined) return null;
  return event.platforms.map((p) => (p.os && p.architecture ? [p.os, p.architecture, p.variant].filter(Boolean).join('/') : p.digest)).join(', ');
}

/** `event_data.repository`. */
export interface HarborRepository {
  /** Unix seconds; omitted when unknown, and always for scan and quota events (as Harbor does). */
  date_created?: number;
  /** The repository without its project: `library/a/b` -> `a/b`. */
  name: string;
  /** The project name. */
  namespace: string;
  repo_full_name: string;
  repo_type: 'public' | 'private';
}

/** Wharf addition: the project of a project event (and of an operational event, when it has one). */
export interface WharfProjectData {
  project_id: number;
  name: string;
  public: boolean;
}

/** Wharf addition: the target a WEBHOOK_TARGET_DISABLED event is about. */
export interface WharfWebhookTargetData {
  policy_id: number;
  target_id: number;
  /** Only `scheme://host[:port]`: the full address may carry a secret (Slack and Discord URLs do). */
  address: string;
  reason: string;
}

/** `event_data`: Harbor's fields in Harbor's order, then Wharf's additions. */
export interface HarborEventData {
  resources?: HarborResource[];
  repository?: HarborRepository;
  replication?: Record<string, unknown>;
  retention?: Record<string, unknown>;
  scan?: { scan_type?: string };
  custom_attributes?: Record<string, string>;
  project?: WharfProjectData;
  webhook_target?: WharfWebhookTargetData;
  /** ARTIFACT_LABELED (Wharf's addition): the label added. */
  label?: { id: number; name: string; scope: string };
  /** Wharf extension: the relay an event came through and the registry that sent it (src/webhooks/relay/). */
  relay?: HarborRelayData;
}

/** Wharf extension: where a relayed event came from. */
export interface HarborRelayData {
  name: string;
  /** harbor | harbor-cloudevents | distribution | dockerhub */
  source: string;
  /** The source registry as its payload names it; '' when it does not. */
  registry_url: string;
}

/** The whole Default body. */
export interface HarborPayload {
  type: string;
  /** Unix seconds, always an integer. */
  occur_at: number;
  /** '' for anonymous actions. */
  operator: string;
  event_data?: HarborEventData;
}

/** Content-Type of the Default format (consumers compare it exactly; no charset parameter). */
export const defaultContentType = 'application/json';

/** Every event type has a Default rendering. */
export function defaultSupports(_eventType: AnyEventType): boolean {
  return true;
}

function repository(project: ProjectRef, repo: RepositoryRef, withDate: boolean): HarborRepository {
  return {
    date_created: withDate && repo.creationTime !== null ? unixSeconds(repo.creationTime) : undefined,
    name: repoShortName(repo.name),
    namespace: project.name,
    repo_full_name: repo.name,
    repo_type: project.public ? 'public' : 'private',
  };
}

/** The single resource of an artifact or tag event: `tag` is the tag, or the digest when there is none. */
function artifactResource(ctx: FormatContext, repo: RepositoryRef, artifact: ArtifactRef, tag: string | null): HarborResource {
  const ref = tag ?? artifact.digest;
  return {
    digest: artifact.digest || undefined,
    tag: ref,
    resource_url: imageReference(ctx.externalUrl, repo.name, ref),
  };
}

/** Harbor's `vuln.NativeReportSummary` (one value of `scan_overview`), in struct order. */
const reportSummaryFields: readonly GoField[] = [
  ['report_id', false],
  ['scan_status', false],
  ['severity', false],
  ['duration', false],
  ['summary', false],
  ['start_time', false],
  ['end_time', false],
  ['scanner', true],
  ['complete_percent', false],
];
/** Harbor's `vuln.VulnerabilitySummary`; its `summary` is a Go map (keys sorted). */
const vulnerabilitySummaryFields: readonly GoField[] = [
  ['total', false],
  ['fixable', false],
  ['summary', false],
];
/** Harbor's `v1.Scanner`. */
const scannerFields: readonly GoField[] = [
  ['name', false],
  ['vendor', false],
  ['version', false],
];

/** One NativeReportSummary with Harbor's field order re-applied at every level. */
function reportSummary(r: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...r };
  const summary = r['summary'];
  if (isRecord(summary)) {
    const inner = summary['summary'];
    out['summary'] = inStructOrder({ ...summary, summary: isRecord(inner) ? sortedMap(inner) : inner }, vulnerabilitySummaryFields);
  }
  if (isRecord(r['scanner'])) out['scanner'] = inStructOrder(r['scanner'], scannerFields);
  return inStructOrder(out, reportSummaryFields);
}

/**
 * `scan_overview` (a Go map of MIME type -> NativeReportSummary) or `sbom_overview` (a Go
 * map): keys sorted, as Go prints maps; undefined when empty (omitempty).
 */
function scanOverview(event: Extract<WharfEvent, { type: 'SCANNING_COMPLETED' | 'SCANNING_FAILED' | 'SCANNING_STOPPED' }>): Record<string, unknown> | undefined {
  if (Object.keys(event.overview).length === 0) return undefined;
  const sorted = sortedMap(event.overview);
  if (event.scanType === 'sbom') {
    const scanner = sorted['scanner'];
    return isRecord(scanner) ? { ...sorted, scanner: inStructOrder(scanner, scannerFields) } : sorted;
  }
  const out: Record<string, unknown> = {};
  for (const [mime, report] of Object.entries(sorted)) out[mime] = isRecord(report) ? reportSummary(report) : report;
  return out;
}

const replicationFields: readonly GoField[] = [
  ['harbor_hostname', true],
  ['job_status', true],
  ['description', true],
  ['artifact_type', true],
  ['authentication_type', true],
  ['override_mode', true],
  ['trigger_type', true],
  ['policy_creator', true],
  ['execution_timestamp', true],
  ['src_resource', true],
  ['dest_resource', true],
  ['successful_artifact', true],
  ['failed_artifact', true],
  ['execution_id', true],
  ['task_id', true],
];
const replicationResourceFields: readonly GoField[] = [
  ['registry_name', true],
  ['registry_type', false],
  ['endpoint', false],
  ['provider', true],
  ['namespace', true],
];
const artifactInfoFields: readonly GoField[] = [
  ['type', false],
  ['status', false],
  ['name_tag', false],
  ['references', false],
  ['fail_reason', true],
];
const retentionFields: readonly GoField[] = [
  ['total', false],
  ['retained', false],
  ['harbor_hostname', true],
  ['project_name', true],
  ['retention_policy_id', true],
  ['retention_rule', true],
  ['result', true],
  ['deleted_artifact', true],
];
const retentionRuleFields: readonly GoField[] = [
  ['template', true],
  ['params', true],
  ['tag_selectors', true],
  ['scope_selectors', true],
];
const selectorFields: readonly GoField[] = [
  ['kind', false],
  ['decoration', false],
  ['pattern', false],
  ['extras', false],
];

function mapList(v: unknown, fn: (r: Record<string, unknown>) => Record<string, unknown>): unknown {
  return Array.isArray(v) ? v.map((x: unknown) => (isRecord(x) ? fn(x) : x)) : v;
}

/** Harbor's Replication struct from the event's record: field order and omitempty re-applied. */
function replicationData(r: Record<string, unknown>): Record<string, unknown> {
  const withNested: Record<string, unknown> = { ...r };
  for (const k of ['src_resource', 'dest_resource']) {
    const v = r[k];
    if (isRecord(v)) withNested[k] = inStructOrder(v, replicationResourceFields);
  }
  for (const k of ['successful_artifact', 'failed_artifact']) {
    withNested[k] = mapList(r[k], (a) => inStructOrder(a, artifactInfoFields));
  }
  return inStructOrder(withNested, replicationFields);
}

/** Harbor's Retention struct from the event's record (`total`/`retained` kept even when 0). */
function retentionData(r: Record<string, unknown>): Record<string, unknown> {
  const withNested: Record<string, unknown> = { ...r };
  withNested['retention_rule'] = mapList(r['retention_rule'], (rule) => {
    const out: Record<string, unknown> = { ...rule };
    if (isRecord(rule['params'])) out['params'] = sortedMap(rule['params']);
    out['tag_selectors'] = mapList(rule['tag_selectors'], (s) => inStructOrder(s, selectorFields));
    const scope = rule['scope_selectors'];
    if (isRecord(scope)) {
      const sorted: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(sortedMap(scope))) sorted[k] = mapList(v, (s) => inStructOrder(s, selectorFields));
      out['scope_selectors'] = sorted;
    }
    return inStructOrder(out, retentionRuleFields);
  });
  withNested['deleted_artifact'] = mapList(r['deleted_artifact'], (a) => inStructOrder(a, artifactInfoFields));
  return inStructOrder(withNested, retentionFields);
}

function projectData(p: ProjectRef): WharfProjectData {
  return { project_id: p.id, name: p.name, public: p.public };
}

/** `event_data` of the Default format; CloudEvents sends the same object as its `data`. */
export function defaultEventData(event: WharfEvent, ctx: FormatContext): HarborEventData {
  switch (event.type) {
    case 'PUSH_ARTIFACT':
    case 'PULL_ARTIFACT':
    case 'CREATE_TAG':
    case 'DELETE_TAG': {
      const resource = artifactResource(ctx, event.repository, event.artifact, event.artifact.tag);
      if (event.type === 'PUSH_ARTIFACT' && event.platforms !== undefined) {
        resource.platforms = event.platforms.map((p) => ({ digest: p.digest, os: p.os || undefined, architecture: p.architecture || undefined, variant: p.variant || undefined }));
      }
      return {
        resources: [resource],
        repository: repository(event.project, event.repository, true),
      };
    }
    case 'DELETE_ARTIFACT':
      // Harbor names the first tag the artifact had; Wharf prefers the tag the delete used.
      return {
        resources: [artifactResource(ctx, event.repository, event.artifact, event.artifact.tag ?? event.artifact.tags[0] ?? null)],
        repository: repository(event.project, event.repository, true),
      };
    case 'SCANNING_COMPLETED':
    case 'SCANNING_FAILED':
    case 'SCANNING_STOPPED': {
      const a = event.artifact;
      const overview = scanOverview(event);
      return {
        resources: [
          {
            digest: a.digest || undefined,
            tag: a.tag || undefined,
            resource_url: imageReference(ctx.externalUrl, event.repository.name, a.tag || a.digest),
            scan_overview: event.scanType === 'vulnerability' ? overview : undefined,
            sbom_overview: event.scanType === 'sbom' ? overview : undefined,
            platform: event.platform || undefined,
            parent_digest: event.parentDigest || undefined,
          },
        ],
        repository: repository(event.project, event.repository, false),
        scan: { scan_type: event.scanType },
      };
    }
    case 'QUOTA_EXCEED':
    case 'QUOTA_WARNING': {
      const a = event.artifact;
      const hasRef = a !== null && (a.digest !== '' || (a.tag ?? '') !== '');
      return {
        resources: hasRef ? [{ digest: a.digest || undefined, tag: a.tag || undefined }] : undefined,
        repository: event.repository ? repository(event.project, event.repository, false) : undefined,
        custom_attributes: { Details: event.details },
      };
    }
    case 'REPLICATION':
      return { replication: replicationData(event.replication) };
    case 'TAG_RETENTION':
      return { retention: retentionData(event.retention) };
    case 'ARTIFACT_LABELED':
      return {
        resources: [artifactResource(ctx, event.repository, event.artifact, event.artifact.tag)],
        repository: repository(event.project, event.repository, true),
        label: event.label,
      };
    case 'CREATE_REPOSITORY':
    case 'DELETE_REPOSITORY':
      return { repository: repository(event.project, event.repository, true) };
    case 'CREATE_PROJECT':
    case 'DELETE_PROJECT':
      return { project: projectData(event.project) };
    case 'WEBHOOK_TARGET_DISABLED':
      return {
        project: event.project ? projectData(event.project) : undefined,
        webhook_target: {
          policy_id: event.policyId,
          target_id: event.targetId,
          address: urlOrigin(event.address),
          reason: event.reason,
        },
      };
    default:
      return assertNeverEvent(event);
  }
}

/** `event_data` with the relay extension added when the event came through a relay (Default and CloudEvents). */
export function withRelay(data: HarborEventData, event: WharfEvent): HarborEventData {
  return event.relay ? { ...data, relay: { name: event.relay.name, source: event.relay.source, registry_url: event.relay.registryUrl } } : data;
}

/** The Default payload as an object (what `body` encodes). */
export function defaultPayload(event: WharfEvent, ctx: FormatContext): HarborPayload {
  return {
    type: event.type,
    occur_at: unixSeconds(event.occurAt),
    operator: event.operator,
    event_data: withRelay(defaultEventData(event, ctx), event),
  };
}

/** Harbor's Default format: compact JSON, `Content-Type: application/json`. */
export const formatDefault: PayloadFormatter = (event, ctx): RenderedPayload => ({
  body: goJson(defaultPayload(event, ctx)),
  headers: { 'Content-Type': defaultContentType },
});
