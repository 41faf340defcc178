/**
 * Mirantis Secure Registry (MSR 2/3, formerly DTR) webhook payloads:
 * `{"type","createdAt","contents","location"}` with MSR's type names (TAG_PUSH, MANIFEST_PUSH,
 * REPO_CREATED, SCAN_COMPLETED, ...) and MSR's `contents` fields, for receivers written for MSR.
 * Events MSR has no name for (quota, replication, retention, projects, operational) are not
 * supported; `supports()` tells the dispatcher.
 */
import type { ScanEvent, WharfEvent } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { goJson, imageReference, repoShortName, rfc3339Nano, scanFacts, scanReport, type AnyEventType } from './common.ts';

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
  type: MsrType;
  createdAt: string;
  contents: Record<string, unknown>;
  location: string;
}

/** The MSR body as an object (what `body` encodes); throws UNSUPPORTED for other event types. */
export function msrPayload(event: WharfEvent, ctx: FormatContext): MsrPayload {
  const createdAt = rfc3339Nano(event.occurAt);
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
      // Deleting an artifact deletes its manifest; everything else names the tag when there is one.
      const tag = event.type === 'DELETE_ARTIFACT' ? null : a.tag;
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

/** The MSR format: compact JSON, `Content-Type: application/json`. */
export const formatMsr: PayloadFormatter = (event, ctx): RenderedPayload => ({
  body: goJson(msrPayload(event, ctx)),
  headers: { 'Content-Type': 'application/json' },
});
