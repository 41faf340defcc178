/**
 * The event catalog: every event Wharf records, as one discriminated union on `type`.
 * Consumers (payload formats, filters, the audit log) switch over `type` exhaustively.
 * Names follow Harbor's Default `type` values; the last six are Wharf additions Harbor users ask for.
 */

/** Harbor's ten webhook event types. */
export const harborEventTypes = [
  'PUSH_ARTIFACT',
  'PULL_ARTIFACT',
  'DELETE_ARTIFACT',
  'QUOTA_EXCEED',
  'QUOTA_WARNING',
  'SCANNING_FAILED',
  'SCANNING_STOPPED',
  'SCANNING_COMPLETED',
  'REPLICATION',
  'TAG_RETENTION',
] as const;

/** Event types Wharf adds (Harbor has them internally but cannot send them). */
export const wharfEventTypes = [
  'CREATE_TAG',
  'DELETE_TAG',
  'CREATE_REPOSITORY',
  'DELETE_REPOSITORY',
  'CREATE_PROJECT',
  'DELETE_PROJECT',
  'ARTIFACT_LABELED',
] as const;

/** Every event type a webhook policy may subscribe to. */
export const eventTypes = [...harborEventTypes, ...wharfEventTypes] as const;
/** A subscribable event type. */
export type EventType = (typeof eventTypes)[number];

/** Operational events about Wharf itself (not subscribable per project; recorded in the outbox). */
export const systemEventTypes = ['WEBHOOK_TARGET_DISABLED'] as const;
/** An operational event type. */
export type SystemEventType = (typeof systemEventTypes)[number];

/** True when `s` names a subscribable event type. */
export function isEventType(s: string): s is EventType {
  return (eventTypes as readonly string[]).includes(s);
}

/** The project an event happened in, as it was at the time. */
export interface ProjectRef {
  id: number;
  name: string;
  public: boolean;
}

/** The repository an event happened in. */
export interface RepositoryRef {
  id: number;
  /** Full name, `library/alpine`. */
  name: string;
  /** Creation time, ms since epoch; null when unknown (already gone). */
  creationTime: number | null;
}

/** The artifact (manifest) an event is about. */
export interface ArtifactRef {
  digest: string;
  mediaType: string;
  size: number;
  /** The tag the action used (pushed to, pulled by, deleted); null when by digest. */
  tag: string | null;
  /** All tags the artifact has (after the action). */
  tags: string[];
  artifactType: string | null;
}

/** The HTTP request behind an event, for formats that carry it (Distribution). */
export interface RequestInfo {
  id: string;
  addr: string;
  host: string;
  method: string;
  useragent: string;
}

/** The registries a relay (src/webhooks/relay/) accepts webhooks from. */
export const relaySources = ['harbor', 'harbor-cloudevents', 'distribution', 'dockerhub'] as const;
/** A relay source: Harbor's Default or CloudEvents payload, the CNCF registry's envelope, Docker Hub's webhook. */
export type RelaySource = (typeof relaySources)[number];

/**
 * Wharf extension: where a relayed event came from. Its repository, artifact and operator are the
 * source registry's (ids 0 and sizes 0 when the source does not say); its project is the relay's.
 */
export interface RelayInfo {
  /** The relay's name. */
  name: string;
  source: RelaySource;
  /** The source registry, as its payload names it (`https://harbor.example.com`, `harbor.example.com`); '' when it does not. */
  registryUrl: string;
  /** The source's own event id, when it has one. */
  sourceEventId?: string;
}

interface Base {
  /** Stable event id (UUID), the de-duplication key in every format. */
  id: string;
  /** ms since epoch. */
  occurAt: number;
  /** Username of the actor; '' for anonymous. */
  operator: string;
  request?: RequestInfo;
  /** Set on events a relay received from another registry (Wharf extension). */
  relay?: RelayInfo;
}

/** One manifest an index lists, with its platform where the index gives one (Wharf extension). */
export interface IndexPlatform {
  digest: string;
  os?: string;
  architecture?: string;
  variant?: string;
}

/** PUSH_ARTIFACT, PULL_ARTIFACT, DELETE_ARTIFACT. */
export interface ArtifactEvent extends Base {
  type: 'PUSH_ARTIFACT' | 'PULL_ARTIFACT' | 'DELETE_ARTIFACT';
  project: ProjectRef;
  repository: RepositoryRef;
  artifact: ArtifactRef;
  /**
   * Wharf extension, on PUSH_ARTIFACT of an index: every manifest it lists, in its order. Only
   * policies with `fold_platforms` see it (the dispatcher leaves it out for the others).
   */
  platforms?: IndexPlatform[];
}

/** CREATE_TAG, DELETE_TAG (Wharf additions). `artifact.tag` is the tag created or deleted. */
export interface TagEvent extends Base {
  type: 'CREATE_TAG' | 'DELETE_TAG';
  project: ProjectRef;
  repository: RepositoryRef;
  artifact: ArtifactRef;
}

/** ARTIFACT_LABELED (Harbor's internal topic, sendable in Wharf): a label was added to the artifact. */
export interface LabelEvent extends Base {
  type: 'ARTIFACT_LABELED';
  project: ProjectRef;
  repository: RepositoryRef;
  artifact: ArtifactRef;
  label: { id: number; name: string; scope: string };
}

/** CREATE_REPOSITORY, DELETE_REPOSITORY (Wharf additions). */
export interface RepositoryEvent extends Base {
  type: 'CREATE_REPOSITORY' | 'DELETE_REPOSITORY';
  project: ProjectRef;
  repository: RepositoryRef;
}

/** CREATE_PROJECT, DELETE_PROJECT (Wharf additions). */
export interface ProjectEvent extends Base {
  type: 'CREATE_PROJECT' | 'DELETE_PROJECT';
  project: ProjectRef;
}

/** QUOTA_EXCEED, QUOTA_WARNING: `details` is Harbor's custom_attributes.Details text. */
export interface QuotaEvent extends Base {
  type: 'QUOTA_EXCEED' | 'QUOTA_WARNING';
  project: ProjectRef;
  repository: RepositoryRef | null;
  artifact: ArtifactRef | null;
  details: string;
}

/** SCANNING_COMPLETED, SCANNING_FAILED, SCANNING_STOPPED. */
export interface ScanEvent extends Base {
  type: 'SCANNING_COMPLETED' | 'SCANNING_FAILED' | 'SCANNING_STOPPED';
  project: ProjectRef;
  repository: RepositoryRef;
  artifact: ArtifactRef;
  scanType: 'vulnerability' | 'sbom';
  /**
   * `vulnerability`: Harbor's scan_overview, keyed by report media type, each value a
   * NativeReportSummary (report_id, scan_status, severity, duration, summary, start_time, end_time,
   * scanner, complete_percent). `sbom`: Harbor's sbom_overview map itself (duration, end_time,
   * sbom_digest, sbom_repository, scan_status, scanner, start_time; or report_id and scan_status).
   */
  overview: Record<string, unknown>;
  /** Why the scan failed or was stopped, as the task log says it (MSR `error`; chat messages). */
  error?: string;
  /** Wharf extension: the platform of an index child, `os/architecture[/variant]` (`linux/arm64/v8`). */
  platform?: string;
  /** Wharf extension: the digest of the index this manifest was scanned as part of. */
  parentDigest?: string;
  /**
   * Findings bucketed by CVSS base score as MSR counts them (critical >= 7.0, major 4.0-<7.0,
   * minor >0-<4.0), when the scanner reported scores; without it MSR's counts come from the
   * severity words (Critical+High, Medium, Low).
   */
  cvssCounts?: { critical: number; major: number; minor: number };
}

/** REPLICATION: one task's status change (Harbor's shape; see the reference §2.6). */
export interface ReplicationEvent extends Base {
  type: 'REPLICATION';
  project: ProjectRef;
  replication: Record<string, unknown>;
}

/** TAG_RETENTION: one repository's retention task (Harbor's shape; see the reference §2.7). */
export interface RetentionEvent extends Base {
  type: 'TAG_RETENTION';
  project: ProjectRef;
  retention: Record<string, unknown>;
}

/** A webhook target was disabled after failing continuously (operational). */
export interface TargetDisabledEvent extends Base {
  type: 'WEBHOOK_TARGET_DISABLED';
  project: ProjectRef | null;
  policyId: number;
  targetId: number;
  address: string;
  reason: string;
}

/** Every event Wharf records. */
export type WharfEvent =
  | ArtifactEvent
  | TagEvent
  | LabelEvent
  | RepositoryEvent
  | ProjectEvent
  | QuotaEvent
  | ScanEvent
  | ReplicationEvent
  | RetentionEvent
  | TargetDisabledEvent;

/** An event before the outbox assigns its id and time. */
export type NewEvent = WharfEvent extends infer E ? (E extends WharfEvent ? Omit<E, 'id' | 'occurAt'> & { occurAt?: number } : never) : never;
