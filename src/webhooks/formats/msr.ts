/**
 * Mirantis Secure Registry (MSR 2/3, formerly DTR) webhook payloads:
 * `{"type","createdAt","contents","location"}` with MSR's type names (TAG_PUSH, MANIFEST_PUSH,
 * REPO_CREATED, SCAN_COMPLETED, ...) and MSR's `contents` fields, for receivers written for MSR.
 * Events MSR has no name for (quota, replication, retention, projects, operational) are not
 * supported; `supports()` tells the dispatcher.
 *
 * Two target options (set by MSR's subscription API, ../msr-subscriptions.ts):
 * - `msr_type`: the MSR type the target subscribed to. MANIFEST_PUSH, MANIFEST_PULL and
 *   MANIFEST_DELETE render the manifest shape even for an event with a tag (MSR sends both a
 *   TAG_PUSH and a MANIFEST_PUSH for a push by tag); other types render as without the option.
 * - `msr_sample: true` (test sends only, never stored): the body is MSR's fixed sample for
 *   `msr_type`, whatever the event (MSR's test payload "is always the same"); only `createdAt`
 *   is the event's time.
 */
import type { ScanEvent, WharfEvent } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { goJson, imageReference, repoShortName, rfc3339Nano, scanFacts, scanReport, type AnyEventType } from './common.ts';

/** Every MSR 2/3 webhook type, in the order MSR's documentation lists them. */
export const msrTypes = [
  'TAG_PUSH',
  'TAG_PULL',
  'TAG_DELETE',
  'MANIFEST_PUSH',
  'MANIFEST_PULL',
  'MANIFEST_DELETE',
  'SCAN_COMPLETED',
  'SCAN_FAILED',
  'PROMOTION',
  'PUSH_MIRRORING',
  'POLL_MIRRORING',
  'REPO_CREATED',
  'REPO_UPDATED',
  'REPO_DELETED',
  'SCANNER_UPDATE_COMPLETED',
] as const;
/** An MSR webhook type. */
export type MsrWebhookType = (typeof msrTypes)[number];

/** True when `s` is one of MSR's webhook types. */
export function isMsrType(s: string): s is MsrWebhookType {
  return (msrTypes as readonly string[]).includes(s);
}

/** The target option holding a subscription's MSR type. */
export const msrTypeOption = 'msr_type';
/** The target option of a test send asking for MSR's fixed sample (never stored). */
export const msrSampleOption = 'msr_sample';

/** MSR's event type names that Wharf sends. */
export type MsrType =
  | 'TAG_PUSH'
  | 'TAG_PULL'
  | 'TAG_DELETE'
  | 'MANIFEST_PUSH'
  | 'MANIFEST_PULL'
  | 'MANIFEST_DELETE'
  | 'SCAN_COMPLETED'
  | 'SCAN_FAILED'
  | 'REPO_CREATED'
  | 'REPO_DELETED';

const supported: ReadonlySet<AnyEventType> = new Set<AnyEventType>([
  'PUSH_ARTIFACT',
  'PULL_ARTIFACT',
  'DELETE_ARTIFACT',
  'CREATE_TAG',
  'DELETE_TAG',
  'SCANNING_COMPLETED',
  'SCANNING_FAILED',
  'SCANNING_STOPPED',
  'CREATE_REPOSITORY',
  'DELETE_REPOSITORY',
]);

/** True for the event types MSR has a name for; the dispatcher skips the others. */
export function msrSupports(eventType: AnyEventType): boolean {
  return supported.has(eventType);
}

/** MSR's `last_scan_status` values (0 Failed, 1 Unscanned, 2 Scanning, 3 Pending, 4 Scanned, 5 Checking, 6 Completed). */
export const msrScanStatus = { failed: 0, unscanned: 1, scanning: 2, pending: 3, scanned: 4, checking: 5, completed: 6 } as const;

/**
 * MSR's three buckets: by CVSS base score when the event has them (critical >= 7.0, major
 * 4.0-<7.0, minor >0-<4.0); otherwise from Harbor's severity words, Critical and High ->
 * critical (CVSS >= 7.0 is what both mean), Medium -> major, Low -> minor. Unknown findings have
 * no score and are in no bucket.
 */
export function msrScanCounts(event: ScanEvent): { critical: number; major: number; minor: number } {
  if (event.cvssCounts !== undefined) return { ...event.cvssCounts };
  const c = scanFacts(event).counts;
  return c === null ? { critical: 0, major: 0, minor: 0 } : { critical: c.Critical + c.High, major: c.Medium, minor: c.Low };
}

interface MsrPayload {
  type: MsrWebhookType;
  createdAt: string;
  contents: Record<string, unknown>;
  location: string;
}

/** The MSR body as an object (what `body` encodes); throws UNSUPPORTED for other event types. */
export function msrPayload(event: WharfEvent, ctx: FormatContext): MsrPayload {
  const createdAt = rfc3339Nano(event.occurAt);
  const subscribed = ctx.target.options[msrTypeOption];
  switch (event.type) {
    case 'PUSH_ARTIFACT':
    case 'PULL_ARTIFACT':
    case 'DELETE_ARTIFACT':
    case 'CREATE_TAG':
    case 'DELETE_TAG': {
      const ns = event.project.name;
      const repo = repoShortName(event.repository.name);
      const a = event.artifact;
      const when = event.type === 'PULL_ARTIFACT' ? 'pulledAt' : event.type === 'DELETE_ARTIFACT' || event.type === 'DELETE_TAG' ? 'deletedAt' : 'pushedAt';
      // Deleting an artifact deletes its manifest; a MANIFEST_* subscription wants the manifest
      // shape; everything else names the tag when there is one.
      const manifestShape = event.type === 'DELETE_ARTIFACT' || subscribed === 'MANIFEST_PUSH' || subscribed === 'MANIFEST_PULL' || subscribed === 'MANIFEST_DELETE';
      const tag = manifestShape ? null : a.tag;
      const verb = event.type === 'PULL_ARTIFACT' ? 'PULL' : when === 'deletedAt' ? 'DELETE' : 'PUSH';
      if (tag !== null) {
        return {
          type: `TAG_${verb}`,
          createdAt,
          contents: {
            namespace: ns,
            repository: repo,
            tag,
            digest: a.digest,
            imageName: imageReference(ctx.externalUrl, event.repository.name, tag),
            os: '',
            architecture: '',
            author: event.operator,
            [when]: createdAt,
          },
          location: `/repositories/${ns}/${repo}/tags/${tag}`,
        };
      }
      return {
        type: `MANIFEST_${verb}`,
        createdAt,
        contents: {
          namespace: ns,
          repository: repo,
          digest: a.digest,
          imageName: imageReference(ctx.externalUrl, event.repository.name, a.digest),
          os: '',
          architecture: '',
          author: event.operator,
          [when]: createdAt,
        },
        location: `/repositories/${ns}/${repo}/manifests/${a.digest}`,
      };
    }
    case 'SCANNING_COMPLETED':
    case 'SCANNING_FAILED':
    case 'SCANNING_STOPPED': {
      const ns = event.project.name;
      const repo = repoShortName(event.repository.name);
      const tag = event.artifact.tag ?? '';
      const ref = tag || event.artifact.digest;
      const location = tag ? `/repositories/${ns}/${repo}/tags/${tag}` : `/repositories/${ns}/${repo}/manifests/${event.artifact.digest}`;
      if (event.type === 'SCANNING_COMPLETED') {
        const imageName = imageReference(ctx.externalUrl, event.repository.name, ref);
        if (event.scanType === 'sbom') {
          // MSR has no SBOM scans: no scanSummary (there are no counts), and Wharf says what ran.
          return { type: 'SCAN_COMPLETED', createdAt, contents: { namespace: ns, repository: repo, tag, imageName, scanType: 'sbom' }, location };
        }
        const counts = msrScanCounts(event);
        const end = scanReport(event)?.['end_time'];
        return {
          type: 'SCAN_COMPLETED',
          createdAt,
          contents: {
            namespace: ns,
            repository: repo,
            tag,
            imageName,
            scanSummary: {
              namespace: ns,
              repository: repo,
              tag,
              critical: counts.critical,
              major: counts.major,
              minor: counts.minor,
              last_scan_status: msrScanStatus.completed,
              check_completed_at: typeof end === 'string' && end !== '' ? end : createdAt,
            },
          },
          location,
        };
      }
      // MSR names the failed image by digest.
      const stopped = event.type === 'SCANNING_STOPPED';
      return {
        type: 'SCAN_FAILED',
        createdAt,
        contents: {
          namespace: ns,
          repository: repo,
          tag,
          imageName: imageReference(ctx.externalUrl, event.repository.name, event.artifact.digest),
          error: event.error || `${event.scanType} scan ${stopped ? 'stopped' : 'failed'}`,
        },
        location,
      };
    }
    case 'CREATE_REPOSITORY':
    case 'DELETE_REPOSITORY': {
      const ns = event.project.name;
      const repo = repoShortName(event.repository.name);
      const type = event.type === 'CREATE_REPOSITORY' ? 'REPO_CREATED' : 'REPO_DELETED';
      return {
        type,
        createdAt,
        contents: {
          namespace: ns,
          repository: repo,
          event: type,
          author: event.operator,
          data:
            type === 'REPO_CREATED'
              ? { id: String(event.repository.id), namespace: ns, name: repo, visibility: event.project.public ? 'public' : 'private' }
              : {},
        },
        location: `/repositories/${ns}/${repo}`,
      };
    }
    default:
      throw fail('UNSUPPORTED', `the MSR format has no equivalent for ${event.type}`, { eventType: event.type });
  }
}

/** MSR's documented example image (seed 002): `foo/bar:latest`. */
const sample = {
  namespace: 'foo',
  repository: 'bar',
  tag: 'latest',
  digest: 'sha256:b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c',
  at: '2015-01-02T15:04:05Z',
} as const;

/**
 * MSR's fixed test payload for `type`, sent by `POST /api/v0/webhooks/test`: the documented
 * example image in each type's documented `contents`; `createdAt` is the send time. MSR documents
 * no contents for PROMOTION and the two mirroring types: theirs is the tag push shape.
 */
export function msrSamplePayload(type: MsrWebhookType, createdAt: string): MsrPayload {
  const { namespace, repository, tag, digest, at } = sample;
  const byTag = `${namespace}/${repository}:${tag}`;
  const byDigest = `${namespace}/${repository}@${digest}`;
  const tagLocation = `/repositories/${namespace}/${repository}/tags/${tag}`;
  const manifestLocation = `/repositories/${namespace}/${repository}/manifests/${digest}`;
  const image = { namespace, repository, os: 'linux', architecture: 'amd64', author: '' };
  switch (type) {
    case 'TAG_PUSH':
    case 'TAG_PULL':
    case 'TAG_DELETE':
    case 'PROMOTION':
    case 'PUSH_MIRRORING':
    case 'POLL_MIRRORING': {
      const when = type === 'TAG_DELETE' ? 'deletedAt' : type === 'TAG_PULL' ? 'pulledAt' : 'pushedAt';
      const { os, architecture, author } = image;
      return { type, createdAt, contents: { namespace, repository, tag, digest, imageName: byTag, os, architecture, author, [when]: at }, location: tagLocation };
    }
    case 'MANIFEST_PUSH':
    case 'MANIFEST_PULL':
    case 'MANIFEST_DELETE': {
      const when = type === 'MANIFEST_DELETE' ? 'deletedAt' : type === 'MANIFEST_PULL' ? 'pulledAt' : 'pushedAt';
      return { type, createdAt, contents: { ...image, digest, imageName: byDigest, [when]: at }, location: manifestLocation };
    }
    case 'SCAN_COMPLETED':
      return {
        type,
        createdAt,
        contents: {
          namespace,
          repository,
          tag,
          imageName: byTag,
          scanSummary: { namespace, repository, tag, critical: 0, major: 0, minor: 0, last_scan_status: msrScanStatus.completed, check_completed_at: at },
        },
        location: tagLocation,
      };
    case 'SCAN_FAILED':
      return { type, createdAt, contents: { namespace, repository, tag, imageName: byDigest, error: 'sample scan failure' }, location: tagLocation };
    case 'REPO_CREATED':
    case 'REPO_UPDATED':
    case 'REPO_DELETED':
      return {
        type,
        createdAt,
        contents: { namespace, repository, event: type, author: '', data: type === 'REPO_DELETED' ? {} : { namespace, name: repository, visibility: 'public' } },
        location: `/repositories/${namespace}/${repository}`,
      };
    case 'SCANNER_UPDATE_COMPLETED':
      return {
        type,
        createdAt,
        contents: { scanner_version: '', scanner_updated_at: at, db_version: 0, db_updated_at: at, success: true, replicas: {} },
        location: '',
      };
  }
}

/** The MSR format: compact JSON, `Content-Type: application/json`. */
export const formatMsr: PayloadFormatter = (event, ctx): RenderedPayload => {
  const type = ctx.target.options[msrTypeOption];
  const payload =
    ctx.target.options[msrSampleOption] === true && typeof type === 'string' && isMsrType(type) ? msrSamplePayload(type, rfc3339Nano(event.occurAt)) : msrPayload(event, ctx);
  return { body: goJson(payload), headers: { 'Content-Type': 'application/json' } };
};
