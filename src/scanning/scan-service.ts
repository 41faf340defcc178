/**
 * Scans as jobs (docs/scanning.md, "Scans, reports and events"): Harbor's scan, stop and log, the
 * task that drives an adapter, the reports it stores and the one SCANNING_* event per scan of one
 * manifest, scan-on-push, and what artifact reads and the pull gate ask about reports.
 *
 * - A scan resolves the project's scanner (412), walks the artifact (an index expands to its
 *   scannable children, recursively; accessories, in-toto, Helm and unknown types are skipped;
 *   none left: 400) and, in ONE transaction, writes a Pending report per (child, report MIME type)
 *   and ONE execution (IMAGE_SCAN or SBOM) with one task per child. A child whose previous scan is
 *   still Pending or Running is skipped; all skipped: 409.
 * - A task mints a pull-only credential for exactly that repository (TokenService's scanner token,
 *   marked `scanner-pull`), submits it to the adapter, records the adapter's request id (a task
 *   reclaimed after kill -9 polls that id again instead of rescanning), polls with Refresh-After
 *   until the report is ready or `scanning.report_timeout_seconds` pass, and then in ONE
 *   transaction stores the report with its items and appends SCANNING_COMPLETED (or _FAILED,
 *   _STOPPED). The report leaves Pending/Running with a conditional UPDATE, and the event is written
 *   only by the call that moved it: one event per scan of one manifest, also across reclaims.
 * - SBOM: the adapter is asked for SPDX (`sbom_media_types: [application/spdx+json]`, as Harbor);
 *   ONE SBOM is kept per (subject, format): the previous accessory is deleted before the new one is
 *   pushed as Harbor's accessory (./sbom-accessory.ts).
 * - Reports are keyed (digest, registration, MIME type); while a rescan runs, the last successful
 *   report stays (the gate reads it); items are stored per report.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Authorizer, CallContext, TokenService } from '../auth/index.ts';
import { isPostgres, registryStore, ScanReportStore, type ArtifactRecord, type Database, type SbomReportRow, type ScanReportRow } from '../db/index.ts';
import { artifactKind, fail, harborSbomMediaType, isDomainError, isIndexMediaType, isJsonObject, parseReference, storedObject, storedStringArray } from '../domain/index.ts';
import type { Consumer, NewEvent, Outbox, ScanEvent } from '../events/index.ts';
import type { JobContext, JobService, JobTrigger } from '../jobs/index.ts';
import type { ScanReads, ScanTarget } from '../projects/index.ts';
import {
  CYCLONEDX_JSON,
  REGISTRY_AUTH_TYPE_PROPERTY,
  SBOM_REPORT_MIME,
  SPDX_JSON,
  VULN_REPORT_MIMES,
  VULN_REPORT_MIME_HARBOR,
  type AdapterClient,
  type ScannerAdapterMetadata,
  type ScannerCapability,
} from './adapter/index.ts';
import { mergeStatus, mergedOverview, reportOverview, sbomOverview, splitReportId, vulnerabilitiesAddition, type ReportState, type SbomState } from './overview.ts';
import { ingestSbomReport, ingestVulnerabilityReport, type IngestedItem, type ScannerInfo, type StoredSeverity } from './report-ingest.ts';
import { deleteSbomAccessory, pushSbomAccessory, sbomAccessory, type SbomRegistry } from './sbom-accessory.ts';
import type { ScannerRegistrationRecord, ScannerRegistrations } from './registrations.ts';

/** Execution vendor types (Harbor's). */
export const IMAGE_SCAN = 'IMAGE_SCAN';
export const SBOM_JOB = 'SBOM';
/** Wharf's job that turns one pushed artifact into scans (scan-on-push; see {@link ScanService.scanOnPushConsumer}). */
export const SCAN_ON_PUSH = 'SCAN_ON_PUSH';
/** The SBOM format Wharf asks adapters for and keeps (Harbor's). */
export const sbomFormat = SPDX_JSON;

/** Whether a scanner's SBOM capability lists CycloneDX among its `sbom_media_types`. */
export function offersCycloneDx(md: ScannerAdapterMetadata): boolean {
  return md.capabilities.some((c) => c.type === 'sbom' && Array.isArray(c.additional_attributes?.sbom_media_types) && c.additional_attributes.sbom_media_types.includes(CYCLONEDX_JSON));
}

/** A scan's kind (Harbor's `scan_type`). */
export type ScanType = 'vulnerability' | 'sbom';

/** The configuration a scan reads (the `scanning` section). */
export interface ScanConfig {
  credential_ttl_seconds: number;
  report_timeout_seconds: number;
  scan_all_batch: number;
  concurrency: number;
}

/** What the scan service needs (wired in main.ts). */
export interface ScanServiceDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  jobs: JobService;
  authorizer: Authorizer;
  registrations: Pick<ScannerRegistrations, 'requireForProject' | 'byUuid' | 'endpointOf' | 'fetchMetadata'>;
  adapters: Pick<AdapterClient, 'submit' | 'report'>;
  tokens: Pick<TokenService, 'issueScannerToken'>;
  registry: SbomRegistry;
  config: ScanConfig;
  /** The base URL adapters pull from (`scanning.registry_url`, else the server's own address). */
  registryUrl: () => string;
  logger: Logger;
  now?: () => number;
  /** Upper bound of one wait between report polls, ms (tests shorten it; default: Refresh-After). */
  maxPollWaitMs?: number;
}

/** Parameters of one scan task (written by this module). */
interface TaskParams {
  scan_type: ScanType;
  registration_uuid: string;
  project: { id: number; name: string; public: boolean };
  repository: { id: number; name: string; creationTime: number | null };
  artifact: { digest: string; mediaType: string; size: number; tag: string | null; tags: string[]; artifactType: string | null };
  operator: string;
  /** Report uuids of this task and their MIME types (SBOM: one, the SBOM report). */
  reports: Array<{ uuid: string; mime: string }>;
  previous_sbom_digest: string | null;
  platform: string | null;
  parent_digest: string | null;
}

/** One manifest a scan covers. */
interface Target {
  rec: ArtifactRecord;
  platform: string | null;
  parent: string | null;
}

/** The outcome of submitting one scan (scan all counts them). */
export interface Submitted {
  executionId: number;
  tasks: number;
}

const vulnConflict = 'a previous scan process is Running';
const sbomConflict = 'a previous sbom generate process is running';
/** PostgreSQL: scan submissions check for running scans and insert placeholders under this lock. */
const submitLockKey = 0x77687363;
const inToto = 'application/vnd.in-toto+json';

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Harbor's `scan_type`: `sbom`, else (missing or invalid) `vulnerability`. */
export function parseScanType(body: unknown): ScanType {
  return isJsonObject(body) && body.scan_type === 'sbom' ? 'sbom' : 'vulnerability';
}

/** `os/architecture[/variant]` of an index child's platform JSON; null without one. */
export function platformString(json: string | null): string | null {
  if (!json) return null;
  try {
    const p: unknown = JSON.parse(json);
    if (!isJsonObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') return null;
    return [p.os, p.architecture, ...(typeof p.variant === 'string' && p.variant ? [p.variant] : [])].join('/');
  } catch {
    return null;
  }
}

function capabilityOf(md: ScannerAdapterMetadata, type: ScanType): ScannerCapability | undefined {
  return md.capabilities.find((c) => (type === 'sbom' ? c.type === 'sbom' : c.type === undefined || c.type === 'vulnerability'));
}

function parseScanner(text: string): ScannerInfo | null {
  if (!text) return null;
  try {
    const v: unknown = JSON.parse(text);
    return isJsonObject(v) ? { name: String(v.name ?? ''), vendor: String(v.vendor ?? ''), version: String(v.version ?? '') } : null;
  } catch {
    return null;
  }
}

function reportState(r: ScanReportRow): ReportState {
  return {
    uuid: r.uuid,
    status: r.status,
    startTime: r.start_time,
    endTime: r.end_time,
    severity: r.severity,
    counts: r.status === 'Success' ? { total: r.total_cnt, fixable: r.fixable_cnt, Critical: r.critical_cnt, High: r.high_cnt, Medium: r.medium_cnt, Low: r.low_cnt, None: r.none_cnt, Unknown: r.unknown_cnt } : null,
    scanner: parseScanner(r.scanner),
  };
}

function sbomState(r: SbomReportRow): SbomState {
  return { uuid: r.uuid, status: r.status, startTime: r.start_time, endTime: r.end_time, sbomDigest: r.sbom_digest, sbomRepository: r.sbom_repository, scanner: parseScanner(r.scanner) };
}

function parseTaskParams(p: Record<string, unknown>): TaskParams {
  const { project, repository, artifact, reports } = p;
  if (!isJsonObject(project) || !isJsonObject(repository) || !isJsonObject(artifact) || !Array.isArray(reports)) throw new Error('the scan task has no artifact to scan');
  return {
    scan_type: p.scan_type === 'sbom' ? 'sbom' : 'vulnerability',
    registration_uuid: String(p.registration_uuid ?? ''),
    project: { id: Number(project.id), name: String(project.name), public: project.public === true },
    repository: { id: Number(repository.id), name: String(repository.name), creationTime: typeof repository.creationTime === 'number' ? repository.creationTime : null },
    artifact: {
      digest: String(artifact.digest),
      mediaType: String(artifact.mediaType),
      size: Number(artifact.size),
      tag: typeof artifact.tag === 'string' ? artifact.tag : null,
      tags: Array.isArray(artifact.tags) ? artifact.tags.filter((t): t is string => typeof t === 'string') : [],
      artifactType: typeof artifact.artifactType === 'string' ? artifact.artifactType : null,
    },
    operator: String(p.operator ?? ''),
    reports: reports.filter(isJsonObject).map((r) => ({ uuid: String(r.uuid), mime: String(r.mime) })),
    previous_sbom_digest: typeof p.previous_sbom_digest === 'string' ? p.previous_sbom_digest : null,
    platform: typeof p.platform === 'string' ? p.platform : null,
    parent_digest: typeof p.parent_digest === 'string' ? p.parent_digest : null,
  };
}

function isOpen(r: { status: string }): boolean {
  return r.status === 'Pending' || r.status === 'Running';
}

/** Thrown inside a task when the scan was stopped by request (not a shutdown or a lost lease). */
class StoppedByRequest extends Error {}
/** Thrown inside a task when it was interrupted by a shutdown or a lost lease: another run resumes it. */
class Interrupted extends Error {}

/** Scans, their reports and events; implements the projects' ScanReads port and the gate's report read. */
export class ScanService implements ScanReads {
  readonly store: ScanReportStore;
  private readonly now: () => number;

  constructor(private readonly deps: ScanServiceDeps) {
    this.store = new ScanReportStore(deps.db);
    this.now = deps.now ?? Date.now;
  }

  // ---- the API ------------------------------------------------------------------------------

  /** Finds project, repository (the name inside the project) and artifact of a path; checks `action`. */
  private async locate(ctx: CallContext, projectName: string, repo: string, reference: string, action: 'scan' | 'stop-scan' | 'read-scan'): Promise<{ rec: ArtifactRecord; tag: string | null }> {
    const p = await this.deps.db.selectFrom('projects').select(['id', 'name', 'public']).where('name', '=', projectName).executeTakeFirst();
    if (!p) throw fail('NOT_FOUND', `project ${projectName} not found`);
    const full = `${p.name}/${repo}`;
    this.deps.authorizer.check(ctx.actor, action, { name: p.name, public: p.public === 1 }, full);
    let ref;
    try {
      ref = parseReference(reference);
    } catch {
      throw fail('BAD_REQUEST', `invalid reference "${reference}": use a tag or a digest`);
    }
    const rec = ref.kind === 'digest' ? await this.store.artifactByDigest(full, ref.digest) : await this.store.artifactByTag(full, ref.tag);
    if (!rec) throw fail('NOT_FOUND', `artifact ${full}:${reference} not found`);
    return { rec, tag: ref.kind === 'tag' ? ref.tag : null };
  }

  /** POST …/artifacts/{ref}/scan: starts a scan (202); `body.scan_type` `sbom`, else vulnerability. */
  async scan(ctx: CallContext, projectName: string, repo: string, reference: string, body: unknown): Promise<Submitted> {
    const { rec, tag } = await this.locate(ctx, projectName, repo, reference, 'scan');
    return this.submit({ root: rec, tag, scanType: parseScanType(body), trigger: 'MANUAL', operator: ctx.actor.username });
  }

  /**
   * Starts a scan of `root` (the API, scan-on-push and scan all come here). Throws Harbor's 412
   * (no or a deactivated scanner), 400 (nothing scannable) and 409 (every part still being scanned).
   */
  async submit(p: { root: ArtifactRecord; tag: string | null; scanType: ScanType; trigger: JobTrigger; operator: string; vendorId?: number }): Promise<Submitted> {
    const reg = await this.deps.registrations.requireForProject(p.root.project_id);
    let md: ScannerAdapterMetadata;
    try {
      md = await this.deps.registrations.fetchMetadata(reg);
    } catch (err) {
      throw fail('UNAVAILABLE', `scanner ${reg.name} did not answer its metadata: ${message(err)}`);
    }
    const cap = capabilityOf(md, p.scanType);
    const unsupported = fail('BAD_REQUEST', `the configured scanner ${reg.name} does not support scanning artifact with mime type ${p.root.media_type}`);
    if (!cap) throw unsupported;
    const targets = await this.targets(p.root, new Set(cap.consumes_mime_types));
    if (targets.length === 0) throw unsupported;
    const mimes = p.scanType === 'sbom' ? [SBOM_REPORT_MIME] : VULN_REPORT_MIMES.filter((m) => cap.produces_mime_types.includes(m));
    if (mimes.length === 0) throw unsupported;
    // Reports left open by a task that ended without finishing them (its worker died past its last run) end now, with their event.
    const digests = targets.map((t) => t.rec.digest);
    await this.reconcile(p.scanType === 'sbom' ? (await this.store.sbomReportsOf(digests)).filter(isOpen) : (await this.store.reportsOf(digests)).filter(isOpen));
    const now = this.now();
    const out = await this.deps.db.transaction().execute(async (trx) => {
      if (isPostgres(trx)) await sql`SELECT pg_advisory_xact_lock(${submitLockKey})`.execute(trx);
      return this.insertScan(trx, reg, targets, mimes, p, now);
    });
    this.deps.jobs.wake();
    return out;
  }

  private async insertScan(trx: Transaction<Database>, reg: ScannerRegistrationRecord, targets: Target[], mimes: string[], p: { root: ArtifactRecord; tag: string | null; scanType: ScanType; trigger: JobTrigger; operator: string; vendorId?: number }, now: number): Promise<Submitted> {
    const free: Array<Target & { previousSbom: string | null }> = [];
    for (const t of targets) {
      if (p.scanType === 'sbom') {
        const cur = await this.store.sbomReport(t.rec.digest, reg.uuid, sbomFormat, trx);
        if (cur && (cur.status === 'Pending' || cur.status === 'Running')) continue;
        free.push({ ...t, previousSbom: cur?.sbom_digest ?? null });
      } else {
        const rows = await this.store.reportsOf([t.rec.digest], trx);
        const busy = mimes.some((m) => {
          const newest = rows.find((r) => r.registration_uuid === reg.uuid && r.mime_type === m);
          return newest !== undefined && (newest.status === 'Pending' || newest.status === 'Running');
        });
        if (!busy) free.push({ ...t, previousSbom: null });
      }
    }
    if (free.length === 0) throw fail('CONFLICT', p.scanType === 'sbom' ? sbomConflict : vulnConflict);
    const tagsOf = await registryStore.tagNames(trx, free.map((t) => t.rec.id));
    const plans = free.map((t): TaskParams => {
      const root = t.rec.id === p.root.id;
      return {
        scan_type: p.scanType,
        registration_uuid: reg.uuid,
        project: { id: t.rec.project_id, name: t.rec.project, public: t.rec.project_public === 1 },
        repository: { id: t.rec.repository_id, name: t.rec.repository, creationTime: t.rec.repository_creation_time },
        artifact: { digest: t.rec.digest, mediaType: t.rec.media_type, size: t.rec.manifest_size, tag: root ? p.tag : null, tags: tagsOf.get(t.rec.id) ?? [], artifactType: t.rec.artifact_type },
        operator: p.operator,
        reports: mimes.map((mime) => ({ uuid: randomUUID(), mime })),
        previous_sbom_digest: t.previousSbom,
        platform: t.platform,
        parent_digest: t.parent,
      };
    });
    const vendorType = p.scanType === 'sbom' ? SBOM_JOB : IMAGE_SCAN;
    const { executionId, taskIds } = await this.deps.jobs.createExecutionIn(trx, vendorType, p.trigger, {
      vendorId: p.vendorId ?? 0,
      extraAttrs: { artifact: { digest: p.root.digest, repository: p.root.repository, tag: p.tag }, scan_type: p.scanType, registration_uuid: reg.uuid, operator: p.operator },
      // Harbor's task parameters are its own; these are what the task needs (stored as JSON).
      tasks: plans.map((t) => ({ ...t })),
    });
    for (const [i, plan] of plans.entries()) {
      const taskId = taskIds[i] ?? null;
      if (p.scanType === 'sbom') {
        const r = plan.reports[0];
        if (r) await this.store.insertSbomReport(trx, { uuid: r.uuid, digest: plan.artifact.digest, registration_uuid: reg.uuid, media_type: sbomFormat, execution_id: executionId, task_id: taskId }, now);
      } else {
        await this.store.insertReports(
          trx,
          plan.reports.map((r) => ({ uuid: r.uuid, digest: plan.artifact.digest, registration_uuid: reg.uuid, mime_type: r.mime, execution_id: executionId, task_id: taskId, scan_all_id: p.vendorId ? p.vendorId : null })),
          now,
        );
      }
    }
    return { executionId, tasks: plans.length };
  }

  /** The manifests a scan of `root` covers (§1.11). */
  private async targets(root: ArtifactRecord, consumes: ReadonlySet<string>): Promise<Target[]> {
    const out: Target[] = [];
    const seen = new Set<string>();
    const walk = async (rec: ArtifactRecord, depth: number, platform: string | null): Promise<void> => {
      if (seen.has(rec.digest) || depth > 4) return;
      seen.add(rec.digest);
      if (rec.subject_digest !== null) return; // an accessory (signature, SBOM, ...)
      if (isIndexMediaType(rec.media_type)) {
        if (consumes.has(rec.media_type)) {
          out.push({ rec, platform, parent: null });
          return;
        }
        for (const child of await this.store.children(rec.id)) {
          const c = await this.store.artifactByDigest(rec.repository, child.digest);
          if (c) await walk(c, depth + 1, platformString(child.platform));
        }
        return;
      }
      if (artifactKind(rec.media_type, rec.config_media_type, rec.artifact_type) !== 'IMAGE' || !consumes.has(rec.media_type)) return;
      if ((await this.store.blobMediaTypes(rec.id)).includes(inToto)) return;
      out.push({ rec, platform, parent: rec.id === root.id ? null : root.digest });
    };
    await walk(root, 0, null);
    return out;
  }

  /** POST …/scan/stop: the body `{"scan_type": …}` is required; 400 when there is no scan job. */
  async stop(ctx: CallContext, projectName: string, repo: string, reference: string, body: unknown): Promise<void> {
    const { rec } = await this.locate(ctx, projectName, repo, reference, 'stop-scan');
    if (!isJsonObject(body)) throw fail('BAD_REQUEST', 'the body {"scan_type": "vulnerability" | "sbom"} is required');
    const scanType = parseScanType(body);
    const digests = await this.digestsOf(rec.digest);
    const executions = new Set<number>();
    let found = false;
    if (scanType === 'sbom') {
      for (const r of await this.store.sbomReportsOf(digests)) {
        found = true;
        if ((r.status === 'Pending' || r.status === 'Running') && r.execution_id !== null) executions.add(r.execution_id);
      }
    } else {
      for (const r of await this.store.reportsOf(digests)) {
        found = true;
        if ((r.status === 'Pending' || r.status === 'Running') && r.execution_id !== null) executions.add(r.execution_id);
      }
    }
    if (!found) throw fail('BAD_REQUEST', `no scan job for artifact digest=${rec.digest}`);
    for (const id of executions) await this.stopExecution(id);
  }

  /**
   * Stops an execution of scans: Pending tasks end at once (their reports end Stopped here, with
   * their events); Running ones end Stopped when their task sees the signal.
   */
  async stopExecution(executionId: number): Promise<void> {
    await this.deps.jobs.stopExecution(executionId);
    await this.reconcile([...(await this.store.openReportsOfExecution(executionId)), ...(await this.store.openSbomReportsOfExecution(executionId))]);
  }

  /**
   * Ends open reports whose task is final without having ended them: a task stopped before it
   * started (Stopped), or one whose worker died after its last run (Error, with the task's
   * reason). Each ends with its event, once (finish is conditional).
   */
  private async reconcile(open: ReadonlyArray<{ task_id: number | null }>): Promise<void> {
    const taskIds = [...new Set(open.map((r) => r.task_id).filter((t): t is number => t !== null))];
    for (const id of taskIds) {
      const t = await this.deps.jobs.store.task(id);
      if (!t || t.status === 'Pending' || t.status === 'Running') continue;
      const params = parseTaskParams(storedObject(t.extra_attrs));
      if (t.status === 'Stopped') await this.finish(params, 'Stopped', 'stopped before it started', null);
      else await this.finish(params, 'Error', t.status_message || `the scan task ended ${t.status} without a report`, null);
    }
  }

  /** GET …/scan/{report_id}/log: the task log of a report, or of each report of a merged id with headers. */
  async log(ctx: CallContext, projectName: string, repo: string, reference: string, reportId: string): Promise<string> {
    const { rec } = await this.locate(ctx, projectName, repo, reference, 'read-scan');
    const uuids = splitReportId(reportId);
    const digests = new Set(await this.digestsOf(rec.digest));
    const rows: Array<{ uuid: string; digest: string; task_id: number | null }> = [...(await this.store.reportsByUuid(uuids)), ...(await this.store.sbomReportsByUuid(uuids))];
    const found = uuids.map((u) => rows.find((r) => r.uuid === u && digests.has(r.digest)));
    if (found.some((r) => r === undefined)) throw fail('NOT_FOUND', `report with uuid ${reportId} does not exist`);
    const texts = await Promise.all(found.map(async (r) => (r && r.task_id !== null ? this.deps.jobs.taskLogText(r.task_id) : '')));
    if (texts.length === 1) return texts[0] ?? '';
    return found.map((r, i) => `---------- Logs of report ${r?.uuid ?? ''} ----------\n${texts[i] ?? ''}`).join('');
  }

  /** A digest and, for an index, its children's (recursively). */
  private async digestsOf(digest: string): Promise<string[]> {
    const out = [digest];
    for (let i = 0; i < out.length && out.length < 1000; i++) {
      const d = out[i];
      if (d === undefined) break;
      const rows = await this.deps.db
        .selectFrom('artifact_references as r')
        .innerJoin('artifacts as a', 'a.id', 'r.artifact_id')
        .select('r.child_digest')
        .distinct()
        .where('a.digest', '=', d)
        .where('r.kind', '=', 'manifest')
        .execute();
      for (const r of rows) if (!out.includes(r.child_digest)) out.push(r.child_digest);
    }
    return out;
  }

  // ---- the task -----------------------------------------------------------------------------

  /** The job handlers of IMAGE_SCAN and SBOM tasks. */
  handlers() {
    const run = (ctx: JobContext) => this.runTask(ctx);
    return [
      { vendorType: IMAGE_SCAN, concurrency: this.deps.config.concurrency, run },
      { vendorType: SBOM_JOB, concurrency: this.deps.config.concurrency, run },
    ];
  }

  private async runTask(ctx: JobContext): Promise<Record<string, unknown>> {
    const p = parseTaskParams(ctx.params);
    const uuids = p.reports.map((r) => r.uuid);
    const rows = p.scan_type === 'sbom' ? await this.store.sbomReportsByUuid(uuids) : await this.store.reportsByUuid(uuids);
    const open = rows.filter((r) => r.status === 'Pending' || r.status === 'Running');
    if (rows.length === 0 || open.length === 0) {
      await ctx.log(`the reports of ${p.artifact.digest} are already final (${rows.map((r) => r.status).join(', ') || 'deleted'}): nothing to do`);
      return { digest: p.artifact.digest, status: rows[0]?.status ?? 'deleted' };
    }
    try {
      const status = await this.scanOne(ctx, p, rows);
      return { digest: p.artifact.digest, status };
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      if (err instanceof StoppedByRequest || (ctx.signal.aborted && (await this.stopRequested(ctx)))) {
        await ctx.log('the scan was stopped by request');
        await this.finish(p, 'Stopped', 'stopped by request', null);
        return { digest: p.artifact.digest, status: 'Stopped' };
      }
      if (ctx.signal.aborted) throw err; // shutdown or lost lease: the next run resumes the scan
      const msg = message(err);
      await ctx.log(msg, 'ERROR');
      await this.finish(p, 'Error', msg, null);
      throw err;
    }
  }

  private async stopRequested(ctx: JobContext): Promise<boolean> {
    const t = await this.deps.jobs.store.task(ctx.taskId);
    return t?.stop_requested === 1;
  }

  /** Throws StoppedByRequest or Interrupted once the task's signal fired. */
  private async checkSignal(ctx: JobContext): Promise<void> {
    if (!ctx.signal.aborted) return;
    if (await this.stopRequested(ctx)) throw new StoppedByRequest('stopped by request');
    throw new Interrupted('interrupted: another run resumes this scan');
  }

  /**
   * A report poll's options: the job's signal (a stop ends a held poll), and `Prefer: wait` up to
   * the report deadline, so an adapter that honours it (Wharf's built-in scanner) answers as soon
   * as the report is ready instead of at the next Refresh-After.
   */
  private pollOptions(ctx: JobContext, deadline: number): { signal: AbortSignal; waitSeconds: number } {
    return { signal: ctx.signal, waitSeconds: Math.max(0, Math.floor((deadline - this.now()) / 1000)) };
  }

  private async wait(ctx: JobContext, ms: number): Promise<void> {
    if (ctx.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        ctx.signal.removeEventListener('abort', done);
        resolve();
      }
      ctx.signal.addEventListener('abort', done, { once: true });
    });
  }

  private async scanOne(ctx: JobContext, p: TaskParams, rows: Array<ScanReportRow | SbomReportRow>): Promise<string> {
    await this.checkSignal(ctx);
    const reg = await this.deps.registrations.byUuid(p.registration_uuid);
    if (!reg) throw new Error(`the scanner registration ${p.registration_uuid} no longer exists`);
    if (reg.disabled === 1) throw new Error(`scanner ${reg.name} is deactivated`);
    const endpoint = this.deps.registrations.endpointOf(reg);
    const md = await this.deps.registrations.fetchMetadata(reg);
    const scannerJson = JSON.stringify(md.scanner);
    await ctx.log(`scanner ${reg.name} (${md.scanner.name} ${md.scanner.version} by ${md.scanner.vendor}) at ${endpoint.url}`);
    let requestId = rows.find((r) => r.adapter_request_id)?.adapter_request_id ?? null;
    const started = rows.find((r) => r.start_time !== null)?.start_time ?? this.now();
    if (requestId) {
      await ctx.log(`resuming: polling the adapter's scan request ${requestId} again (run ${ctx.runCount})`);
    } else {
      const ttl = this.deps.config.credential_ttl_seconds;
      const token = (await this.deps.tokens.issueScannerToken(p.repository.name, ttl)).token;
      const bearer = (md.properties?.[REGISTRY_AUTH_TYPE_PROPERTY] ?? '').toLowerCase() === 'bearer';
      const authorization = bearer ? `Bearer ${token}` : `Basic ${Buffer.from(`wharf$scanner:${token}`).toString('base64')}`;
      const registryUrl = this.deps.registryUrl().replace(/\/+$/, '');
      const request = {
        registry: { url: registryUrl, authorization, insecure: registryUrl.startsWith('http://') },
        artifact: { repository: p.repository.name, digest: p.artifact.digest, tag: p.artifact.tag ?? '', mime_type: p.artifact.mediaType, size: p.artifact.size },
        enabled_capabilities:
          p.scan_type === 'sbom'
            ? [{ type: 'sbom' as const, produces_mime_types: [SBOM_REPORT_MIME], parameters: { sbom_media_types: offersCycloneDx(md) ? [sbomFormat, CYCLONEDX_JSON] : [sbomFormat] } }]
            : [{ type: 'vulnerability' as const, produces_mime_types: p.reports.map((r) => r.mime), parameters: null }],
      };
      await ctx.log(`submitting ${p.repository.name}@${p.artifact.digest} to the adapter with a ${bearer ? 'Bearer' : 'Basic'} pull credential for ${p.repository.name} valid ${ttl} s`);
      requestId = await this.deps.adapters.submit(endpoint, request);
      await ctx.log(`the adapter accepted the scan: request id ${requestId}`);
      if (p.scan_type === 'sbom') {
        const first = p.reports[0];
        if (first) await this.store.markSbomRunning(first.uuid, requestId, scannerJson, this.now());
      } else {
        await this.store.markRunning(
          p.reports.map((r) => r.uuid),
          requestId,
          this.now(),
        );
        await this.store.setScanner(
          p.reports.map((r) => r.uuid),
          scannerJson,
        );
      }
    }
    const deadline = started + this.deps.config.report_timeout_seconds * 1000;
    const bodies = new Map<string, unknown>();
    for (const r of p.reports) {
      for (;;) {
        await this.checkSignal(ctx);
        const poll = await this.deps.adapters.report(endpoint, requestId, r.mime, p.scan_type === 'sbom' ? sbomFormat : undefined, this.pollOptions(ctx, deadline));
        if (poll.state === 'ready') {
          bodies.set(r.mime, poll.body);
          break;
        }
        if (this.now() >= deadline) throw new Error(`the report ${r.mime} was not ready after ${this.deps.config.report_timeout_seconds} s (scanning.report_timeout_seconds)`);
        const waitMs = Math.min(poll.refreshAfterSeconds * 1000, this.deps.maxPollWaitMs ?? Infinity, Math.max(0, deadline - this.now()));
        await ctx.log(`the report ${r.mime} is not ready: polling again in ${Math.ceil(waitMs / 1000)} s`);
        await this.wait(ctx, waitMs);
      }
    }
    await this.checkSignal(ctx);
    if (p.scan_type === 'sbom') {
      const first = p.reports[0];
      const body = first ? bodies.get(first.mime) : undefined;
      const sbom = ingestSbomReport(body);
      // Wharf's extension: a CycloneDX document beside Harbor's SPDX one, when the scanner offers it.
      let cdx: ReturnType<typeof ingestSbomReport> | null = null;
      if (offersCycloneDx(md)) {
        try {
          for (;;) {
            await this.checkSignal(ctx);
            const poll = await this.deps.adapters.report(endpoint, requestId, SBOM_REPORT_MIME, CYCLONEDX_JSON, this.pollOptions(ctx, deadline));
            if (poll.state === 'ready') {
              cdx = ingestSbomReport(poll.body);
              break;
            }
            if (this.now() >= deadline) throw new Error(`the CycloneDX SBOM was not ready after ${this.deps.config.report_timeout_seconds} s`);
            await this.wait(ctx, Math.min(poll.refreshAfterSeconds * 1000, this.deps.maxPollWaitMs ?? Infinity));
          }
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          await ctx.log(`no CycloneDX SBOM from the adapter: ${err instanceof Error ? err.message : String(err)}`, 'WARNING');
        }
      }
      const subject = { digest: p.artifact.digest, mediaType: p.artifact.mediaType, size: p.artifact.size };
      const accessory = sbomAccessory(sbom.sbom, sbom.mediaType || sbomFormat, subject, this.now());
      const digest = await pushSbomAccessory(this.deps.registry, p.repository.name, accessory);
      await ctx.log(`pushed the SBOM (${sbom.mediaType || sbomFormat}, ${accessory.layer.length} bytes) as accessory ${digest} of ${p.artifact.digest}`);
      const kept = new Set<string>([digest]);
      if (cdx) {
        const extra = sbomAccessory(cdx.sbom, CYCLONEDX_JSON, subject, this.now());
        kept.add(await pushSbomAccessory(this.deps.registry, p.repository.name, extra));
        await ctx.log(`pushed the SBOM (${CYCLONEDX_JSON}, ${extra.layer.length} bytes) as accessory ${extra.digest} of ${p.artifact.digest}`);
      }
      // Regeneration: the SBOM accessories Wharf pushed before for this subject go (not SBOMs users attached).
      const previous = new Set([...(p.previous_sbom_digest ? [p.previous_sbom_digest] : []), ...(await this.store.accessories(p.repository.id, p.artifact.digest, harborSbomMediaType, 'Wharf'))]);
      for (const old of previous) {
        if (kept.has(old)) continue;
        const gone = await deleteSbomAccessory(this.deps.registry, p.repository.name, old);
        await ctx.log(gone ? `deleted the previous SBOM accessory ${old}` : `the previous SBOM accessory ${old} was already gone`);
      }
      await this.finish(p, 'Success', '', { sbomDigest: digest, scanner: JSON.stringify(sbom.scanner) });
      return 'Success';
    }
    const ingested = new Map([...bodies].map(([mime, body]) => [mime, ingestVulnerabilityReport(body)]));
    for (const [mime, rep] of ingested) await ctx.log(`report ${mime}: ${rep.counts.total} vulnerabilities (${rep.counts.fixable} fixable), severity ${rep.severity}`);
    await this.finish(p, 'Success', '', { reports: ingested });
    return 'Success';
  }

  /**
   * Ends the reports of a task and appends its event, in one transaction; the event only when this
   * call moved a report out of Pending/Running (one event per scan, whoever gets there first).
   */
  private async finish(
    p: TaskParams,
    status: 'Success' | 'Error' | 'Stopped',
    msg: string,
    result: { reports: Map<string, ReturnType<typeof ingestVulnerabilityReport>> } | { sbomDigest: string; scanner: string } | null,
  ): Promise<boolean> {
    const now = this.now();
    return this.deps.db.transaction().execute(async (trx) => {
      let moved = false;
      let overview: Record<string, unknown> = {};
      if (p.scan_type === 'sbom') {
        const r = p.reports[0];
        if (!r) return false;
        const res = result && 'sbomDigest' in result ? { sbomDigest: result.sbomDigest, sbomRepository: p.repository.name, scanner: result.scanner } : null;
        moved = await this.store.finishSbomReport(trx, r.uuid, status, msg, res, now);
        const [row] = await this.store.sbomReportsByUuid([r.uuid], trx);
        if (row) overview = sbomOverview(sbomState(row), true);
      } else {
        for (const r of p.reports) {
          const rep = result && 'reports' in result ? result.reports.get(r.mime) : undefined;
          const stored = rep
            ? { severity: rep.severity, counts: rep.counts, scanner: JSON.stringify(rep.scanner), generatedAt: rep.generatedAt || new Date(now).toISOString(), items: rep.items.map(itemRow) }
            : null;
          if (await this.store.finishReport(trx, r.uuid, status, msg, stored, now)) moved = true;
        }
        for (const row of await this.store.reportsByUuid(
          p.reports.map((r) => r.uuid),
          trx,
        )) {
          overview[row.mime_type] = reportOverview(reportState(row));
        }
      }
      if (!moved) return false;
      const type = status === 'Success' ? 'SCANNING_COMPLETED' : status === 'Error' ? 'SCANNING_FAILED' : 'SCANNING_STOPPED';
      const event: Omit<ScanEvent, 'id' | 'occurAt'> = {
        type,
        operator: p.operator,
        project: p.project,
        repository: p.repository,
        artifact: p.artifact,
        scanType: p.scan_type,
        overview,
        ...(msg && status !== 'Success' ? { error: msg } : {}),
        ...(p.platform ? { platform: p.platform } : {}),
        ...(p.parent_digest ? { parentDigest: p.parent_digest } : {}),
      };
      const cvss = result && 'reports' in result ? cvssBuckets([...result.reports.values()][0]?.items ?? []) : null;
      const full: NewEvent = cvss ? { ...event, cvssCounts: cvss } : event;
      await this.deps.outbox.append(trx, full);
      return true;
    });
  }

  // ---- scan-on-push and cleanup -------------------------------------------------------------

  /**
   * The `scan-on-push` outbox consumer: for a PUSH_ARTIFACT in a project with `auto_scan` or
   * `auto_sbom_generation` = "true", a SCAN_ON_PUSH task is created in the consumer's transaction
   * (so each push is handled once) and submits the scans; a scan already running (409), an
   * unscannable artifact (400, the SBOM accessories Wharf pushes among them) and a project without
   * a scanner (412) are logged and skipped.
   */
  scanOnPushConsumer(): Consumer {
    return {
      name: 'scan-on-push',
      types: ['PUSH_ARTIFACT'],
      handle: async (batch, trx) => {
        let created = 0;
        // Each project's settings read once per batch (a burst of pushes to one project is one read).
        const typesOf = new Map<number, ScanType[]>();
        for (const r of batch) {
          const e = r.event;
          if (!e || e.type !== 'PUSH_ARTIFACT') continue;
          let types = typesOf.get(e.project.id);
          if (!types) {
            const proj = await trx.selectFrom('projects').select('metadata').where('id', '=', e.project.id).executeTakeFirst();
            const meta = storedObject(proj?.metadata ?? '{}');
            types = [...(meta.auto_scan === 'true' ? ['vulnerability' as const] : []), ...(meta.auto_sbom_generation === 'true' ? ['sbom' as const] : [])];
            typesOf.set(e.project.id, types);
          }
          if (types.length === 0) continue;
          // Accessories (the SBOMs scans push among them) are never scanned: no task for them.
          if (await this.store.isAccessory(e.repository.name, e.artifact.digest, trx)) continue;
          await this.deps.jobs.createExecutionIn(trx, SCAN_ON_PUSH, 'EVENT', {
            extraAttrs: { artifact: { digest: e.artifact.digest, repository: e.repository.name, tag: e.artifact.tag } },
            tasks: [{ repository: e.repository.name, digest: e.artifact.digest, tag: e.artifact.tag, operator: e.operator, scan_types: types }],
          });
          created++;
        }
        return created ? () => this.deps.jobs.wake() : undefined;
      },
    };
  }

  /** The SCAN_ON_PUSH job handler. */
  scanOnPushHandler() {
    return {
      vendorType: SCAN_ON_PUSH,
      run: async (ctx: JobContext): Promise<Record<string, unknown>> => {
        const p = ctx.params;
        const repo = String(p.repository ?? '');
        const digest = String(p.digest ?? '');
        const rec = await this.store.artifactByDigest(repo, digest);
        if (!rec) {
          await ctx.log(`${repo}@${digest} is gone: nothing to scan`);
          return { skipped: 'gone' };
        }
        const out: Record<string, unknown> = {};
        const types = Array.isArray(p.scan_types) ? p.scan_types.filter((t): t is ScanType => t === 'vulnerability' || t === 'sbom') : [];
        for (const scanType of types) {
          try {
            const s = await this.submit({ root: rec, tag: typeof p.tag === 'string' ? p.tag : null, scanType, trigger: 'EVENT', operator: String(p.operator ?? '') });
            await ctx.log(`${scanType}: started execution ${s.executionId} with ${s.tasks} task(s)`);
            out[scanType] = s.executionId;
          } catch (err) {
            if (isDomainError(err, 'CONFLICT') || isDomainError(err, 'BAD_REQUEST') || isDomainError(err, 'PRECONDITION_FAILED')) {
              await ctx.log(`${scanType}: skipped: ${err.message}`);
              out[scanType] = `skipped: ${err.message}`;
              continue;
            }
            throw err;
          }
        }
        return out;
      },
    };
  }

  /**
   * The `scan-reports-cleanup` outbox consumer: after a DELETE_ARTIFACT, the reports of a digest
   * that no repository holds any more are deleted (with their items), in the consumer's transaction.
   */
  cleanupConsumer(): Consumer {
    return {
      name: 'scan-reports-cleanup',
      types: ['DELETE_ARTIFACT'],
      fromLatest: true,
      handle: async (batch, trx) => {
        for (const r of batch) {
          const e = r.event;
          if (!e || e.type !== 'DELETE_ARTIFACT') continue;
          if (!(await this.store.digestReferenced(e.artifact.digest, trx))) await this.store.deleteDigest(trx, e.artifact.digest);
        }
      },
    };
  }

  // ---- reads (artifact listings, additions, the pull gate) ----------------------------------

  /** The newest report per (digest, mime) among `rows` (newest first), any registration unless given. */
  private newest(rows: readonly ScanReportRow[], digest: string, mime: string, registrationUuid?: string): ScanReportRow | undefined {
    return rows.find((r) => r.digest === digest && r.mime_type === mime && (registrationUuid === undefined || r.registration_uuid === registrationUuid));
  }

  /** `scan_overview` per target digest (keyed by the first accepted MIME type with a report). */
  async scanOverviews(targets: ScanTarget[], accept: readonly string[], registrationUuid?: string): Promise<Map<string, Record<string, unknown>>> {
    const all = [...new Set(targets.flatMap((t) => [t.digest, ...t.children]))];
    const rows = await this.store.reportsOf(all);
    const out = new Map<string, Record<string, unknown>>();
    for (const t of targets) {
      const parts = t.children.length ? t.children : [t.digest];
      for (const mime of accept) {
        const reports = parts.map((d) => this.newest(rows, d, mime, registrationUuid)).filter((r): r is ScanReportRow => r !== undefined);
        if (!reports.length) continue;
        out.set(t.digest, { [mime]: t.children.length ? mergedOverview(reports.map(reportState)) : reportOverview(reportState(reports[0] as ScanReportRow)) });
        break;
      }
    }
    return out;
  }

  /** `overviews` for callers with digests only (Harbor's default Accept order when `accept` is empty). */
  async overviews(digests: string[], accept: readonly string[], registrationUuid?: string): Promise<Map<string, Record<string, unknown>>> {
    const targets = await Promise.all(digests.map(async (d) => ({ digest: d, children: (await this.digestsOf(d)).slice(1), projectId: 0 })));
    return this.scanOverviews(targets, accept.length ? accept : VULN_REPORT_MIMES, registrationUuid);
  }

  /** `sbom_overview` per target digest: its own SBOM report, else (an index) its children's merged. */
  async sbomOverviews(targets: ScanTarget[]): Promise<Map<string, Record<string, unknown>>> {
    const all = [...new Set(targets.flatMap((t) => [t.digest, ...t.children]))];
    const rows = (await this.store.sbomReportsOf(all)).filter((r) => r.media_type === sbomFormat);
    const out = new Map<string, Record<string, unknown>>();
    for (const t of targets) {
      const own = rows.find((r) => r.digest === t.digest);
      if (own) {
        out.set(t.digest, sbomOverview(sbomState(own)));
        continue;
      }
      const kids = t.children.map((d) => rows.find((r) => r.digest === d)).filter((r): r is SbomReportRow => r !== undefined);
      if (!kids.length) continue;
      const starts = kids.map((k) => k.start_time).filter((x): x is number => x !== null);
      const ends = kids.map((k) => k.end_time).filter((x): x is number => x !== null);
      const start = starts.length ? Math.min(...starts) : null;
      const end = ends.length ? Math.max(...ends) : null;
      out.set(t.digest, {
        scan_status: mergeStatus(kids.map((k) => k.status)),
        start_time: start === null ? '0001-01-01T00:00:00.000Z' : new Date(start).toISOString(),
        end_time: end === null ? '0001-01-01T00:00:00.000Z' : new Date(end).toISOString(),
        duration: start !== null && end !== null ? Math.floor((end - start) / 1000) : 0,
      });
    }
    return out;
  }

  /** `sbomOverviews` for callers with digests only. */
  async sbomOverviewsOf(digests: string[]): Promise<Map<string, Record<string, unknown>>> {
    const targets = await Promise.all(digests.map(async (d) => ({ digest: d, children: (await this.digestsOf(d)).slice(1), projectId: 0 })));
    return this.sbomOverviews(targets);
  }

  /** The vulnerabilities addition: `{}` without a finished report; else one MIME key (the last Success of each part). */
  async vulnerabilities(target: ScanTarget, accept: readonly string[]): Promise<Record<string, unknown>> {
    const parts = target.children.length ? target.children : [target.digest];
    const rows = (await this.store.reportsOf(parts)).filter((r) => r.status === 'Success');
    for (const mime of accept) {
      const reports = parts.map((d) => this.newest(rows, d, mime)).filter((r): r is ScanReportRow => r !== undefined);
      if (!reports.length) continue;
      const items = await this.store.items(reports.map((r) => r.id));
      const withItems = reports.map((r) => ({
        digest: r.digest,
        generatedAt: r.generated_at ?? '',
        scanner: parseScanner(r.scanner),
        severity: r.severity,
        items: items.filter((i) => i.report_id === r.id).map(itemOfRow),
      }));
      return { [mime]: vulnerabilitiesAddition(withItems) };
    }
    return {};
  }

  /**
   * The report the pull gate judges a digest by: the last SUCCESSFUL one (Harbor's 1.0 type, then
   * 1.1) with its items' ids and severities, even while a rescan runs; else the newest report's
   * status; null when never scanned.
   */
  async gateReport(digest: string): Promise<{ status: string; items: Array<{ id: string; severity: string }> } | null> {
    const rows = await this.store.reportsOf([digest]);
    if (!rows.length) return null;
    const order = [VULN_REPORT_MIME_HARBOR, ...VULN_REPORT_MIMES.filter((m) => m !== VULN_REPORT_MIME_HARBOR)];
    for (const mime of order) {
      const ok = rows.find((r) => r.mime_type === mime && r.status === 'Success');
      if (!ok) continue;
      const items = await this.store.items([ok.id]);
      return { status: 'Success', items: items.map((i) => ({ id: i.cve_id, severity: i.severity })) };
    }
    return { status: rows[0]?.status ?? 'Pending', items: [] };
  }
}

function itemRow(it: IngestedItem) {
  return {
    cve_id: it.id,
    package: it.package,
    version: it.version,
    fix_version: it.fix_version,
    severity: it.severity,
    status: it.status,
    description: it.description,
    links: JSON.stringify(it.links),
    cwe_ids: JSON.stringify(it.cwe_ids),
    preferred_cvss: JSON.stringify(it.preferred_cvss),
    vendor_attributes: JSON.stringify(it.vendor_attributes),
  };
}

function itemOfRow(r: { cve_id: string; package: string; version: string; fix_version: string; severity: string; status: string; description: string; links: string; cwe_ids: string; preferred_cvss: string; vendor_attributes: string }): IngestedItem {
  const pc = storedObject(r.preferred_cvss);
  const n = (v: unknown) => (typeof v === 'number' ? v : null);
  return {
    id: r.cve_id,
    package: r.package,
    version: r.version,
    fix_version: r.fix_version,
    severity: r.severity as StoredSeverity, // written by itemRow from StoredSeverity
    status: r.status,
    description: r.description,
    links: storedStringArray(r.links),
    cwe_ids: storedStringArray(r.cwe_ids),
    preferred_cvss: { score_v3: n(pc.score_v3), score_v2: n(pc.score_v2), vector_v3: String(pc.vector_v3 ?? ''), vector_v2: String(pc.vector_v2 ?? '') },
    vendor_attributes: storedObject(r.vendor_attributes),
  };
}

/** MSR's CVSS buckets from the items' v3 scores (critical >= 7.0, major 4.0-<7.0, minor >0-<4.0); null when no item has a score. */
export function cvssBuckets(items: readonly IngestedItem[]): { critical: number; major: number; minor: number } | null {
  const scored = items.filter((i) => i.preferred_cvss.score_v3 !== null);
  if (!scored.length) return null;
  const out = { critical: 0, major: 0, minor: 0 };
  for (const i of scored) {
    const s = i.preferred_cvss.score_v3 ?? 0;
    if (s >= 7) out.critical++;
    else if (s >= 4) out.major++;
    else if (s > 0) out.minor++;
  }
  return out;
}
