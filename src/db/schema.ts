/**
 * The database as Kysely sees it: one interface per table. Times are integer milliseconds since
 * the Unix epoch (bigint on Postgres); booleans are 0/1; JSON columns are text.
 * Migrations in ./migrations create exactly these tables.
 */
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Users (the system admin `admin` is created on first start). */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin: number;
  disabled: number;
  creation_time: number;
  update_time: number;
  /** 1 while the last LDAP sign-in found the user in `ldap_group_admin_dn` (migration 0029): a system admin too. */
  admin_role_in_auth: Generated<number>;
}

/** Harbor projects: the first path segment of every repository. */
export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  /** 1 when anonymous users may pull. */
  public: number;
  owner_id: number | null;
  /** Bytes; -1 unlimited. */
  storage_limit: number;
  /** Other metadata as a JSON object of strings (Harbor's `metadata`). */
  metadata: string;
  creation_time: number;
  update_time: number;
  /** A proxy-cache project's upstream registry endpoint (`registries.id`); null otherwise (migration 0020). */
  registry_id: number | null;
}

/** Repositories; `name` is the full name (`library/alpine`). */
export interface RepositoriesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  pull_count: number;
  creation_time: number;
  update_time: number;
  /** Harbor's Repository.description (PUT /projects/{p}/repositories/{r}); '' until set. */
  description: Generated<string>;
}

/** Content-addressed blobs known to the registry (their bytes live in the BlobStore). */
export interface BlobsTable {
  digest: string;
  size: number;
  creation_time: number;
}

/** Which blobs a repository may serve (links, as in distribution). */
export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  creation_time: number;
}

/** The exact bytes of a manifest by digest (migration 0005); older manifests live in the BlobStore. */
export interface ManifestContentTable {
  digest: string;
  content: Buffer;
}

/** Manifests (Harbor's artifacts); their bytes are in `manifest_content` (or, if pushed before it, the BlobStore). */
export interface ArtifactsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  /** OCI `artifactType`, else the config media type for non-images, else null. */
  artifact_type: string | null;
  config_media_type: string | null;
  /** Manifest bytes plus every referenced blob's size (Harbor's artifact size). */
  size: number;
  manifest_size: number;
  subject_digest: string | null;
  /** JSON object or null. */
  annotations: string | null;
  push_time: number;
  pull_time: number | null;
}

/** What a manifest references: blobs (config, layers) and, for an index, child manifests. */
export interface ArtifactReferencesTable {
  id: Generated<number>;
  artifact_id: number;
  kind: 'blob' | 'manifest';
  child_digest: string;
  size: number;
  media_type: string | null;
  /** For index children: the platform object as JSON. */
  platform: string | null;
  annotations: string | null;
}

/** Tags point at one artifact in their repository. */
export interface TagsTable {
  id: Generated<number>;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: number;
  pull_time: number | null;
}

/** Blob uploads in progress; bytes live in the BlobStore's upload area. */
export interface UploadsTable {
  id: string;
  repository_name: string;
  /** Bytes received so far. */
  size: number;
  started_at: number;
  updated_at: number;
}

/**
 * The event outbox: written in the same transaction as the change it describes.
 * `seq` orders events; `id` is the stable event id receivers de-duplicate on.
 */
export interface EventsTable {
  seq: Generated<number>;
  id: string;
  type: string;
  occur_at: number;
  operator: string;
  project_id: number | null;
  /** The event's data as JSON (see src/events/catalog.ts). */
  data: string;
  /** When the dispatcher created its deliveries; null while pending. */
  dispatched_at: number | null;
  /** The W3C traceparent of the span that wrote the event (migration 0024); null with tracing off. */
  trace_context: string | null;
}

/** System configuration values (Harbor's /api/v2.0/configurations), JSON-encoded. */
export interface ConfigurationsTable {
  key: string;
  value: string;
}

/** Webhook policies; project_id null means a system-wide policy (Wharf extension). */
export interface WebhookPoliciesTable {
  id: Generated<number>;
  project_id: number | null;
  name: string;
  description: string;
  enabled: number;
  /** JSON array of event type names. */
  event_types: string;
  /** JSON array of glob patterns; empty matches all (Wharf extension). */
  repo_filters: string;
  /** JSON array of glob patterns; empty matches all (Wharf extension). */
  tag_filters: string;
  /** JSON object of status filters, `{}`: none (Wharf extension, migration 0025; src/webhooks/status-filters.ts). */
  status_filters: Generated<string>;
  /** 1: a multi-platform push is one PUSH_ARTIFACT event, the index's (Wharf extension, migration 0025). */
  fold_platforms: Generated<number>;
  creator: string;
  creation_time: number;
  update_time: number;
}

/** A policy's targets, in order (Harbor's `targets[]`), with Wharf's per-target extensions and health. */
export interface WebhookTargetsTable {
  id: Generated<number>;
  policy_id: number;
  position: number;
  /** http | slack | discord */
  type: string;
  address: string;
  /** Default | CloudEvents | Distribution | MSR for http; '' otherwise. */
  payload_format: string;
  /** Extra format options as JSON (e.g. CloudEvents binary mode, signature style). */
  options: string;
  auth_header: string;
  skip_cert_verify: number;
  /** Signing secret (write-only in the API); '' when unsigned. */
  secret: string;
  /** JSON object of custom header names to values (write-only values). */
  headers: string;
  /** Per-target timeout in ms; null uses webhooks.timeout_ms. */
  timeout_ms: number | null;
  enabled: number;
  /** Start of the current run of continuous failures, or null. */
  failing_since: number | null;
  disabled_reason: string | null;
}

/** Harbor's execution: one per (event, policy target) delivery. */
export interface WebhookExecutionsTable {
  id: Generated<number>;
  policy_id: number;
  target_id: number;
  event_seq: number;
  event_id: string;
  event_type: string;
  /** WEBHOOK | SLACK | DISCORD | TEAMS | MATTERMOST | GOOGLECHAT */
  vendor_type: string;
  /** Pending | Running | Success | Error | Stopped */
  status: string;
  status_message: string;
  /** EVENT | MANUAL (redelivery) | TEST */
  trigger: string;
  /** The exact body sent. */
  payload: string;
  /** The payload format's headers sent with that body (JSON object); null for rows written before migration 0006. */
  headers: string | null;
  start_time: number;
  end_time: number | null;
  /** The W3C traceparent of the dispatch span that created it (migration 0024); null with tracing off, for redeliveries and tests. */
  trace_context: string | null;
}

/** Harbor's task (1:1 with an execution here): the retry state machine of one delivery. */
export interface WebhookTasksTable {
  id: Generated<number>;
  execution_id: number;
  status: string;
  status_message: string;
  run_count: number;
  /** When the next attempt is due (ms); null when final. */
  next_attempt_at: number | null;
  /** A worker's lease: the task is being attempted until this time. */
  lease_until: number | null;
  lease_owner: string | null;
  creation_time: number;
  start_time: number | null;
  update_time: number;
  end_time: number | null;
}

/** One HTTP attempt of a task: request and response as sent and received (secrets redacted). */
export interface WebhookAttemptsTable {
  id: Generated<number>;
  task_id: number;
  attempt: number;
  started_at: number;
  duration_ms: number;
  url: string;
  request_headers: string;
  request_body: string;
  response_status: number | null;
  response_headers: string | null;
  /** The first `webhooks.response_body_limit` bytes of the response body. */
  response_body: string | null;
  error: string | null;
}

/** Quotas: a blob counted once in a project's usage (layers, configs, manifest bytes). */
export interface ProjectBlobsTable {
  project_id: number;
  digest: string;
  size: number;
  creation_time: number;
}

/** Quotas: a project's storage usage in bytes (the sum of its project_blobs sizes). */
export interface QuotaUsageTable {
  project_id: number;
  used: number;
  update_time: number;
}

/** The audit log (Harbor's audit_log): who did what to which resource, and whether it succeeded. */
export interface AuditLogTable {
  id: Generated<number>;
  /** The project the resource belongs to; null for system-wide entries (users, system robots, logins). */
  project_id: number | null;
  username: string;
  /** Harbor's operation names: create, delete, pull, update, login, ... */
  operation: string;
  /** artifact, tag, repository, project, member, robot, webhook_policy, user, ... */
  resource_type: string;
  /** `project/repo:tag`, `project/repo@digest`, a project or user name, ... */
  resource: string;
  /** success | failure */
  result: string;
  op_time: number;
  /** The outbox event the entry came from (de-duplicates re-reads); null for direct writes. */
  event_id: string | null;
}

/** An outbox consumer's position: the last event seq it handled (src/events/consumers.ts). */
export interface OutboxCursorTable {
  name: string;
  seq: number;
}

/** A named consumer of the event feed and its acknowledged position (migration 0026, src/db/event-feed-store.ts); times in ms. */
export interface EventFeedCursorsTable {
  /** The calling user or robot: `u:<user id>` or `r:<robot id>`. */
  owner: string;
  name: string;
  /** The acknowledged outbox seq: reads return the events after it. */
  seq: number;
  /** The stored filters as JSON (`{}`: none). */
  filters: string;
  creation_time: number;
  update_time: number;
}

/** An event a consumer could not handle, retried alone until it goes through (src/events/consumers.ts). */
export interface OutboxParkedTable {
  consumer: string;
  seq: number;
  error: string;
  parked_at: number;
}

/** Earlier password hashes of a user, for refusing reused passwords (issue 4, users+tokens). */
export interface PasswordHistoryTable {
  id: Generated<number>;
  user_id: number;
  password_hash: string;
  creation_time: number;
}

/** The token service's signing keys as JWKs (issue 4, users+tokens); the newest signs. */
export interface TokenSigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  creation_time: number;
}

/** One failed login per scope (issue 10): `user` (a lower-cased name) or `address` (a client address). */
export interface LoginFailuresTable {
  id: Generated<number>;
  scope: 'user' | 'address';
  key: string;
  time: number;
}

/** An OSV advisory of the built-in scanner's vulnerability database (src/db/vuln-store.ts). */
export interface VulndbAdvisoriesTable {
  id: Generated<number>;
  osv_id: string;
  /** ms since the epoch of the record's `modified`. */
  modified: number;
  /** ms of the record's `withdrawn`, or null. */
  withdrawn: number | null;
  /** The compact record (JSON): summary, details, aliases, upstream, severity, references, cwe_ids. */
  record: string;
}

/** One affected package of an advisory: its OSV ecosystem (`Debian:12`, `npm`) and name. */
export interface VulndbAffectedTable {
  id: Generated<number>;
  advisory_id: number;
  ecosystem: string;
  name: string;
  /** The affected entry (JSON): ranges, versions, per-package severities. */
  entry: string;
}

/** The vulnerability database's one row (id 1): when and from where it was last updated. */
export interface VulndbMetaTable {
  id: number;
  updated_at: number | null;
  source: string | null;
  advisories: number;
  affected: number;
}

/** One scan of one manifest by one scanner registration for one report MIME type (src/db/scan-report-store.ts). */
export interface ScanReportsTable {
  id: Generated<number>;
  uuid: string;
  digest: string;
  registration_uuid: string;
  mime_type: string;
  /** Pending | Running | Success | Error | Stopped */
  status: string;
  status_message: string;
  start_time: number | null;
  end_time: number | null;
  /** The highest item severity ('None' when clean), '' until Success. */
  severity: string;
  total_cnt: number;
  fixable_cnt: number;
  critical_cnt: number;
  high_cnt: number;
  medium_cnt: number;
  low_cnt: number;
  none_cnt: number;
  unknown_cnt: number;
  /** JSON {name,vendor,version} of the scanner that produced it, or ''. */
  scanner: string;
  generated_at: string | null;
  /** The adapter's scan request id: a reclaimed task polls it again instead of rescanning. */
  adapter_request_id: string | null;
  execution_id: number | null;
  task_id: number | null;
  /** The SCAN_ALL execution that started this scan, else null. */
  scan_all_id: number | null;
  creation_time: number;
}

/** One vulnerability of one report (items are stored per report). */
export interface ScanReportItemsTable {
  id: Generated<number>;
  report_id: number;
  cve_id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: string;
  status: string;
  description: string;
  /** JSON array. */
  links: string;
  /** JSON array. */
  cwe_ids: string;
  /** JSON object. */
  preferred_cvss: string;
  /** JSON object. */
  vendor_attributes: string;
}

/** One SBOM of one manifest per (scanner registration, SBOM media type). */
export interface SbomReportsTable {
  id: Generated<number>;
  uuid: string;
  digest: string;
  registration_uuid: string;
  media_type: string;
  status: string;
  status_message: string;
  start_time: number | null;
  end_time: number | null;
  /** The pushed accessory's digest and repository once Success. */
  sbom_digest: string | null;
  sbom_repository: string | null;
  scanner: string;
  adapter_request_id: string | null;
  execution_id: number | null;
  task_id: number | null;
  creation_time: number;
}

/** A user's role in a project (Harbor's member; role_id 1 projectAdmin, 2 developer, 3 guest, 4 maintainer, 5 limitedGuest). */
export interface ProjectMembersTable {
  id: Generated<number>;
  project_id: number;
  /** The member is a user (`user_id`) or a user group (`group_id`, migration 0022): exactly one is set. */
  user_id: number | null;
  group_id: ColumnType<number | null, number | null | undefined, number | null>;
  role_id: number;
  creation_time: number;
  update_time: number;
}

/** Robot accounts: `robot$<project>+<name>` (level project) or `robot$<name>` (level system). */
export interface RobotsTable {
  id: Generated<number>;
  /** The full name, prefix included. */
  name: string;
  description: string;
  /** argon2id hash of the secret; the secret itself is never stored. */
  secret_hash: string;
  /** 'project' | 'system' */
  level: string;
  /** The project of a project robot; null for system robots. */
  project_id: number | null;
  /** Days; -1 never expires. */
  duration: number;
  /** Unix seconds; -1 never. */
  expires_at: number;
  disabled: number;
  /** Harbor's RobotPermission[] as JSON. */
  permissions: string;
  creator: string;
  creation_time: number;
  update_time: number;
}

/** Background work (src/jobs/): one row per run of a kind of job (Harbor's execution). */
export interface JobExecutionsTable {
  id: Generated<number>;
  /** GARBAGE_COLLECTION, PURGE_AUDIT_LOG, ... */
  vendor_type: string;
  /** The policy or schedule the run belongs to; 0 for system-wide jobs. */
  vendor_id: number;
  /** Pending | Running | Success | Error | Stopped, derived from the tasks. */
  status: string;
  status_message: string;
  /** MANUAL | SCHEDULE | EVENT */
  trigger: string;
  /** JSON object: the job's parameters and whatever the vendor keeps with the run. */
  extra_attrs: string;
  /** 1 once a stop was asked for. */
  stop_requested: number;
  start_time: number;
  update_time: number;
  end_time: number | null;
}

/** One unit of an execution's work, claimed by one worker at a time under a lease. */
export interface JobTasksTable {
  id: Generated<number>;
  execution_id: number;
  vendor_type: string;
  /** Pending | Running | Success | Error | Stopped */
  status: string;
  status_message: string;
  /** Times a worker claimed it; at most max_runs. */
  run_count: number;
  max_runs: number;
  /** JSON object: parameters in, the handler's result out. */
  extra_attrs: string;
  stop_requested: number;
  /** The worker (process) holding the lease while Running, and until when (ms). */
  lease_owner: string | null;
  lease_expires: number | null;
  creation_time: number;
  start_time: number | null;
  update_time: number;
  end_time: number | null;
}

/** A task's log, one line per row. */
export interface JobTaskLogsTable {
  id: Generated<number>;
  task_id: number;
  time: number;
  /** INFO | WARNING | ERROR */
  level: string;
  message: string;
}

/** Persistent schedules: one per (vendor_type, vendor_id); a 6-field UTC cron. */
export interface JobSchedulesTable {
  id: Generated<number>;
  vendor_type: string;
  vendor_id: number;
  /** Hourly | Daily | Weekly | Custom */
  cron_type: string;
  cron: string;
  /** JSON object handed to each execution the schedule starts. */
  params: string;
  /** When it fires next (ms); firing moves it forward with a conditional UPDATE. */
  next_run: number;
  creation_time: number;
  update_time: number;
}

/** Per vendor type: whether its queue is paused (no new claims). `all` pauses the scheduler. */
export interface JobQueuesTable {
  vendor_type: string;
  paused: number;
  update_time: number;
}

/** The processes that run jobs (Harbor's worker pools), with their heartbeats. */
export interface JobWorkersTable {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  start_time: number;
  heartbeat_time: number;
}

/** A project's tag retention policy (src/db/retention-store.ts): Harbor's RetentionPolicy as JSON without id and scope. Times in ms. */
export interface RetentionPoliciesTable {
  id: Generated<number>;
  project_id: number;
  /** JSON: `{algorithm, rules, trigger, summary_event}` (src/lifecycle/retention/policy.ts). */
  policy: string;
  creation_time: number;
  update_time: number;
}

/** What one repository task of a retention run did, written by the task when it ends. */
export interface RetentionTaskResultsTable {
  task_id: number;
  execution_id: number;
  /** The repository path without the project. */
  repository: string;
  total: number;
  retained: number;
  /** JSON list of the deleted (or, in a dry run, would-be deleted) artifacts: `[{digest, tags}]`. */
  deleted: string;
  finish_time: number;
}

/** A retention run whose summary event was sent (once per run). */
export interface RetentionSummariesTable {
  execution_id: number;
  sent_time: number;
}

/** A label (Harbor's /labels; src/db/label-store.ts): scope 'g' (project_id 0) or 'p'. Times in ms. */
export interface LabelsTable {
  id: Generated<number>;
  name: string;
  description: string;
  color: string;
  scope: string;
  project_id: number;
  creation_time: number;
  update_time: number;
}

/** A label on an artifact (removed with either). */
export interface ArtifactLabelsTable {
  id: Generated<number>;
  artifact_id: number;
  label_id: number;
  creation_time: number;
}

/** A replication policy (Harbor's /replication/policies; src/db/replication-store.ts). Registry id 0 is local; `enabled` 0/1; times in ms. */
export interface ReplicationPoliciesTable {
  id: Generated<number>;
  name: string;
  description: string;
  src_registry_id: number;
  dest_registry_id: number;
  /** `manual`, `scheduled` or `event_based`. */
  trigger_type: string;
  enabled: number;
  /** The validated policy as its JSON body (src/replication/policy.ts policyText). */
  policy: string;
  /** Username of who created it (Harbor's `policy_creator` in REPLICATION events). */
  creator: string;
  creation_time: number;
  update_time: number;
}

/** An execution whose one summary REPLICATION event was sent (policies with `event_mode: summary`). */
export interface ReplicationSummariesTable {
  execution_id: number;
  sent_time: number;
}

/** A registry endpoint (Harbor's /registries; src/db/registry-endpoint-store.ts). `insecure` is 0/1; times in ms. */
export interface RegistriesTable {
  id: Generated<number>;
  name: string;
  type: string;
  url: string;
  credential_type: string;
  access_key: string;
  access_secret: string;
  insecure: number;
  ca_certificate: string | null;
  description: string;
  status: string;
  creation_time: number;
  update_time: number;
}

/** A P2P preheat provider instance (Harbor's /p2p/preheat/instances; src/db/preheat-store.ts). `auth_info` is JSON, write-only; booleans 0/1; setup time in ms. */
export interface PreheatInstancesTable {
  id: Generated<number>;
  name: string;
  description: string;
  vendor: string;
  endpoint: string;
  auth_mode: string;
  auth_info: string;
  enabled: number;
  is_default: number;
  insecure: number;
  setup_timestamp: number;
}

/** A project's preheat policy (Harbor's /projects/{p}/preheat/policies; src/db/preheat-store.ts). JSON texts as Harbor keeps them; `enabled` 0/1; times in ms. */
export interface PreheatPoliciesTable {
  id: Generated<number>;
  name: string;
  description: string;
  project_id: number;
  provider_id: number;
  filters: string;
  trigger: string;
  trigger_type: string;
  enabled: number;
  extra_attrs: string;
  creation_time: number;
  update_time: number;
}

/** A scanner registration (Harbor's /scanners; src/db/scanner-store.ts). Booleans are 0/1. */
export interface ScannersTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  description: string;
  /** The adapter's base URL (the built-in scanner's is shown from external_url, called at the server's own address). */
  url: string;
  /** '' | 'Basic' | 'Bearer' | 'APIKey' */
  auth: string;
  /** Write-only: sent to the adapter, never shown. */
  access_credential: string;
  skip_cert_verify: number;
  use_internal_addr: number;
  disabled: number;
  /** At most one row has 1 (a partial unique index). */
  is_default: number;
  /** 1 for the built-in `Wharf` registration: no update, no delete. */
  immutable: number;
  /** From the last metadata fetch: the scanner's name, vendor, version; '' before the first. */
  adapter: string;
  vendor: string;
  version: string;
  /** 'healthy' | 'unhealthy' after a fetch; '' before the first. */
  health: string;
  /** Harbor's capabilities object as JSON (`{"support_vulnerability":true,...}`), null before the first fetch. */
  capabilities: string | null;
  creation_time: number;
  update_time: number;
}

/** A project's pinned scanner registration (Harbor's hidden `projectScanner` metadata key). */
export interface ProjectScannersTable {
  project_id: number;
  scanner_id: number;
  update_time: number;
}

/** A CVE allowlist: the system's (`project_id` null) or a project's (src/db/cve-allowlist-store.ts). */
export interface CveAllowlistsTable {
  id: Generated<number>;
  project_id: number | null;
  /** Seconds since the epoch; null: never expires. */
  expires_at: number | null;
  /** JSON array of CVE ids. */
  items: string;
  creation_time: number;
  update_time: number;
}

/** A tag immutability rule (Harbor's immutabletagrules; src/db/immutable-rule-store.ts). `tag_filter` is the rule's JSON without id and project_id. */
export interface ImmutableRulesTable {
  id: Generated<number>;
  project_id: number;
  tag_filter: string;
  disabled: number;
  creation_time: number;
  update_time: number;
}

/** Harbor's user groups (migration 0022): group_type 1 LDAP, 2 HTTP, 3 OIDC; times in ms. */
export interface UserGroupsTable {
  id: Generated<number>;
  group_name: string;
  group_type: number;
  /** An LDAP group's DN (trimmed, lower case); '' for the other types. */
  ldap_group_dn: string;
  creation_time: number;
  update_time: number;
}

/** A user in a group; `source` says where the membership comes from ('local': Wharf's API; later 'ldap', 'oidc', 'http'). */
export interface UserGroupMembersTable {
  group_id: number;
  user_id: number;
  source: string;
  creation_time: number;
}

/** A project's relay endpoint for another registry's webhooks (issue 16, migration 0027); times in ms. */
export interface WebhookRelaysTable {
  id: Generated<number>;
  project_id: number;
  /** Unique in its project. */
  name: string;
  description: string;
  /** SHA-256 (hex) of the relay's token; the token itself is never stored. */
  token_hash: string;
  creator: string;
  creation_time: number;
  /** When a payload was last accepted; null: never. */
  last_received_at: number | null;
}

/** A source event a relay has turned into Wharf events, kept a while to drop redeliveries (migration 0027). */
export interface WebhookRelayReceiptsTable {
  relay_id: number;
  /** `<source>:<the source's event id>`, or `<source>:sha256:<hex>` of the event when it has no id. */
  source_key: string;
  received_at: number;
}

/** The whole database. */
/** A signed-in browser of the web console (issue 14, migration 0021); times in ms. */
export interface ConsoleSessionsTable {
  /** SHA-256 (hex) of the session id the `sid` cookie holds; the id itself is never stored. */
  id_hash: string;
  user_id: number;
  /** The token writes must send as `X-Harbor-CSRF-Token` (also the `__csrf` cookie). */
  csrf: string;
  created: number;
  /** Last use, refreshed at most once a minute (the idle timeout counts from it). */
  last_seen: number;
  /** The absolute end of the session. */
  expires: number;
}

export interface Database {
  users: UsersTable;
  projects: ProjectsTable;
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  manifest_content: ManifestContentTable;
  repository_blobs: RepositoryBlobsTable;
  artifacts: ArtifactsTable;
  artifact_references: ArtifactReferencesTable;
  tags: TagsTable;
  uploads: UploadsTable;
  events: EventsTable;
  configurations: ConfigurationsTable;
  webhook_policies: WebhookPoliciesTable;
  webhook_targets: WebhookTargetsTable;
  webhook_executions: WebhookExecutionsTable;
  webhook_tasks: WebhookTasksTable;
  webhook_attempts: WebhookAttemptsTable;
  project_blobs: ProjectBlobsTable;
  quota_usage: QuotaUsageTable;
  audit_log: AuditLogTable;
  outbox_cursors: OutboxCursorTable;
  outbox_parked: OutboxParkedTable;
  event_feed_cursors: EventFeedCursorsTable;
  password_history: PasswordHistoryTable;
  token_signing_keys: TokenSigningKeysTable;
  login_failures: LoginFailuresTable;
  project_members: ProjectMembersTable;
  robots: RobotsTable;
  job_executions: JobExecutionsTable;
  job_tasks: JobTasksTable;
  job_task_logs: JobTaskLogsTable;
  job_schedules: JobSchedulesTable;
  job_queues: JobQueuesTable;
  job_workers: JobWorkersTable;
  scanners: ScannersTable;
  project_scanners: ProjectScannersTable;
  cve_allowlists: CveAllowlistsTable;
  scan_reports: ScanReportsTable;
  scan_report_items: ScanReportItemsTable;
  sbom_reports: SbomReportsTable;
  labels: LabelsTable;
  artifact_labels: ArtifactLabelsTable;
  retention_policies: RetentionPoliciesTable;
  retention_task_results: RetentionTaskResultsTable;
  retention_summaries: RetentionSummariesTable;
  vulndb_advisories: VulndbAdvisoriesTable;
  vulndb_affected: VulndbAffectedTable;
  vulndb_meta: VulndbMetaTable;
  immutable_rules: ImmutableRulesTable;
  registries: RegistriesTable;
  preheat_instances: PreheatInstancesTable;
  preheat_policies: PreheatPoliciesTable;
  replication_policies: ReplicationPoliciesTable;
  replication_summaries: ReplicationSummariesTable;
  console_sessions: ConsoleSessionsTable;
  user_groups: UserGroupsTable;
  user_group_members: UserGroupMembersTable;
  webhook_relays: WebhookRelaysTable;
  webhook_relay_receipts: WebhookRelayReceiptsTable;
  cve_exports: CveExportsTable;
}

/** A CVE export file (Harbor's /export/cve; migration 0030, src/db/cve-export-store.ts). */
export interface CveExportsTable {
  /** The SCAN_DATA_EXPORT job execution that wrote it. */
  execution_id: number;
  /** Findings in the file (0: nothing matched). */
  rows: number;
  csv: string;
  creation_time: number;
}

/** Row types, for repositories' signatures. */
export type UserRow = Selectable<UsersTable>;
export type ProjectRow = Selectable<ProjectsTable>;
/** A repository row as the registry reads it; `description` is read by Harbor's repository views only (src/projects/content-reads.ts). */
export type RepositoryRow = Omit<Selectable<RepositoriesTable>, 'description'>;
export type ArtifactRow = Selectable<ArtifactsTable>;
export type ArtifactReferenceRow = Selectable<ArtifactReferencesTable>;
export type TagRow = Selectable<TagsTable>;
export type UploadRow = Selectable<UploadsTable>;
export type EventRow = Selectable<EventsTable>;
export type NewEventRow = Insertable<EventsTable>;
export type WebhookPolicyRow = Selectable<WebhookPoliciesTable>;
export type WebhookTargetRow = Selectable<WebhookTargetsTable>;
export type WebhookExecutionRow = Selectable<WebhookExecutionsTable>;
export type WebhookTaskRow = Selectable<WebhookTasksTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
export type ProjectUpdate = Updateable<ProjectsTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type ProjectMemberRow = Selectable<ProjectMembersTable>;
export type UserGroupRow = Selectable<UserGroupsTable>;
export type RobotRow = Selectable<RobotsTable>;
export type ScannerRow = Selectable<ScannersTable>;
export type LabelRow = Selectable<LabelsTable>;
export type CveAllowlistRow = Selectable<CveAllowlistsTable>;
export type ImmutableRuleRow = Selectable<ImmutableRulesTable>;
export type RegistryEndpointRow = Selectable<RegistriesTable>;
export type PreheatInstanceRow = Selectable<PreheatInstancesTable>;
export type PreheatPolicyRow = Selectable<PreheatPoliciesTable>;
