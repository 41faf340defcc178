/**
 * Webhook payload previews (Wharf): renders an event for a target exactly as the dispatcher
 * would (the same formatter, format context and headers) and returns it without sending
 * anything. The event is a stored one of the scope (`event_id`) or a sample of a type
 * (`event_type`): the test send's push sample, and for the other types the same project,
 * repository and artifact in that type's shape.
 *
 * The target is parsed like a policy's (./policy-spec.ts: a Template target's template is checked
 * here too), but its address, secrets and custom headers play no part in rendering, so they are
 * neither required nor echoed: the answer's headers are the format's. Permission: managing the
 * scope's webhook policies (../policy-scope.ts `resolveScope(..., 'manage')`).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { outboxStore, type Database } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { eventFromRow, isEventType, type ArtifactRef, type EventType, type ProjectRef, type RepositoryRef, type WharfEvent } from '../events/index.ts';
import { DomainError, fail } from '../domain/index.ts';
import { isRecord } from './formats/common.ts';
import { formatterFor, supports } from './formats/index.ts';
import { formatContext } from './dispatcher.ts';
import { parseTarget } from './policy-spec.ts';
import { targetColumns } from './target-row.ts';
import { resolveScope, type PolicyScope, type WebhookCallContext } from './policy-scope.ts';

/** What the preview service needs. */
export interface PreviewServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  config: Config;
}

/** The answer of a preview: what the target would be sent. */
export interface PreviewView {
  content_type: string;
  /** The format's headers (Content-Type, CloudEvents' ce-*); signatures and auth are added at send time. */
  headers: Record<string, string>;
  body: string;
}

/** The address a preview's target is parsed with: rendering never uses it. */
const previewAddress = 'http://preview.invalid';

/** Renders events for targets without sending them; see the module comment. */
export class PreviewService {
  constructor(private readonly deps: PreviewServiceDeps) {}

  /** Renders `{ target, event_type }` or `{ target, event_id }` in the scope. */
  async preview(ctx: WebhookCallContext, scope: PolicyScope, body: unknown): Promise<PreviewView> {
    const row = await resolveScope(this.deps, ctx, scope, 'manage');
    if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object: { "target": {...}, "event_type": "..." } or { "target": {...}, "event_id": "..." }');
    if (!isRecord(body.target)) throw fail('BAD_REQUEST', 'target must be a target object, as in a policy');
    // Address, secrets and custom headers do not change the body: left out, so a target copied from a view (redacted) works.
    const target = parseTarget({ ...body.target, address: previewAddress, auth_header: undefined, secret: undefined, headers: undefined }, 0, '', undefined);
    const project: ProjectRef | null = row ? { id: row.id, name: row.name, public: row.public === 1 } : null;
    const event = await this.eventOf(body, project, ctx.actor.username);
    const columns = targetColumns(target);
    if (!supports(columns.type, columns.payload_format, event.type)) {
      throw fail('BAD_REQUEST', `the ${columns.payload_format || columns.type} format has no rendering of ${event.type} events (such a target is skipped for them)`);
    }
    const policy = { id: 0, name: 'preview', project_id: project?.id ?? null };
    let rendered;
    try {
      rendered = formatterFor(columns.type, columns.payload_format)(event, formatContext(this.deps.config.external_url, policy, columns));
    } catch (err) {
      if (err instanceof DomainError) throw err;
      throw fail('BAD_REQUEST', `could not render the payload: ${err instanceof Error ? err.message : String(err)}`);
    }
    const contentType = Object.entries(rendered.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
    return { content_type: contentType, headers: rendered.headers, body: rendered.body };
  }

  /** The stored event named by `event_id` (in the scope's project), or a sample of `event_type`. */
  private async eventOf(body: Record<string, unknown>, project: ProjectRef | null, operator: string): Promise<WharfEvent> {
    const { event_id: id, event_type: type } = body;
    if ((id === undefined || id === null) === (type === undefined || type === null)) throw fail('BAD_REQUEST', 'give exactly one of event_type and event_id');
    if (typeof id === 'string' && id !== '') {
      const stored = await outboxStore.eventById(this.deps.db, id);
      if (!stored || (project !== null && stored.project_id !== project.id)) throw fail('NOT_FOUND', `event ${id} not found`);
      try {
        return eventFromRow(stored);
      } catch {
        throw fail('CONFLICT', `event ${id} has unreadable data`);
      }
    }
    if (id !== undefined && id !== null) throw fail('BAD_REQUEST', 'event_id must be a non-empty string');
    if (typeof type !== 'string' || !isEventType(type)) throw fail('BAD_REQUEST', `unsupported event type ${String(type)}`);
    return sampleEvent(type, project ?? { id: 1, name: 'library', public: true }, operator);
  }
}

/**
 * A sample event of `type` about `<project>/wharf-webhook-test:latest`: the push is the test
 * send's sample (../engine.ts); the other types put the same repository and artifact in their shape.
 */
export function sampleEvent(type: EventType, project: ProjectRef, operator: string): WharfEvent {
  const base = { id: randomUUID(), occurAt: Date.now(), operator, project };
  const repository: RepositoryRef = { id: 0, name: `${project.name}/wharf-webhook-test`, creationTime: null };
  const digest = 'sha256:' + '0'.repeat(64);
  const artifact: ArtifactRef = { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 0, tag: 'latest', tags: ['latest'], artifactType: null };
  const scanner = { name: 'Trivy', vendor: 'Aqua Security', version: 'v0.50.0' };
  switch (type) {
    case 'PUSH_ARTIFACT':
    case 'PULL_ARTIFACT':
    case 'DELETE_ARTIFACT':
    case 'CREATE_TAG':
    case 'DELETE_TAG':
      return { ...base, type, repository, artifact };
    case 'ARTIFACT_LABELED':
      return { ...base, type, repository, artifact, label: { id: 1, name: 'release', scope: 'g' } };
    case 'CREATE_REPOSITORY':
    case 'DELETE_REPOSITORY':
      return { ...base, type, repository };
    case 'CREATE_PROJECT':
    case 'DELETE_PROJECT':
      return { ...base, type };
    case 'QUOTA_EXCEED':
    case 'QUOTA_WARNING':
      return { ...base, type, repository, artifact, details: `quota usage reaches 90% of the storage limit of project ${project.name}: 9.0 GiB of 10.0 GiB` };
    case 'SCANNING_COMPLETED':
    case 'SCANNING_FAILED':
    case 'SCANNING_STOPPED': {
      const status = type === 'SCANNING_COMPLETED' ? 'Success' : type === 'SCANNING_FAILED' ? 'Error' : 'Stopped';
      const report: Record<string, unknown> = { report_id: randomUUID(), scan_status: status, scanner, duration: 4, start_time: new Date(base.occurAt - 4000).toISOString(), end_time: new Date(base.occurAt).toISOString(), complete_percent: 100 };
      if (status === 'Success') Object.assign(report, { severity: 'High', summary: { total: 3, fixable: 2, summary: { High: 1, Medium: 1, Low: 1 } } });
      return { ...base, type, repository, artifact, scanType: 'vulnerability', overview: { 'application/vnd.security.vulnerability.report; version=1.1': report }, error: status === 'Error' ? 'the scanner could not pull the artifact' : undefined };
    }
    case 'REPLICATION':
      return {
        ...base,
        type,
        replication: {
          harbor_hostname: 'registry.example.com',
          job_status: 'Success',
          description: 'sample replication',
          artifact_type: 'image',
          authentication_type: 'basic',
          override_mode: true,
          trigger_type: 'MANUAL',
          policy_creator: operator || 'admin',
          execution_timestamp: Math.floor(base.occurAt / 1000),
          src_resource: { registry_type: 'harbor', endpoint: 'https://registry.example.com', namespace: project.name },
          dest_resource: { registry_name: 'mirror', registry_type: 'harbor', endpoint: 'https://mirror.example.com', namespace: project.name },
          successful_artifact: [{ type: 'image', status: 'Success', name_tag: 'wharf-webhook-test [1 item(s) in total]', references: 'latest' }],
        },
      };
    case 'TAG_RETENTION':
      return {
        ...base,
        type,
        retention: {
          total: 2,
          retained: 1,
          harbor_hostname: 'registry.example.com',
          project_name: project.name,
          retention_policy_id: 1,
          retention_rule: [{ template: 'latestPushedK', params: { latestPushedK: 1 }, tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '' }], scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**', extras: '' }] } }],
          result: 'SUCCESS',
          deleted_artifact: [{ type: 'image', status: 'SUCCESS', name_tag: 'wharf-webhook-test:old', references: '' }],
        },
      };
  }
}
