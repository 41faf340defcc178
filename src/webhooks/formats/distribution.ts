/**
 * The CNCF registry's (distribution 2.x) notification envelope: `{"events":[…]}`, one event per
 * body, indented with three spaces as distribution's HTTP sink writes it, with the same struct
 * field order and omitempty rules. Keel's `/v1/webhooks/registry`, GitLab and ttl.sh read it.
 * Only artifact, tag and repository-delete events have a distribution equivalent; `supports()`
 * tells the dispatcher which, and the formatter refuses the rest.
 */
import { createHash } from 'node:crypto';
import type { ArtifactRef, WharfEvent } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { externalBase, externalHost, goJson, rfc3339Nano, type AnyEventType } from './common.ts';

/** distribution 2.x's media type (the default Content-Type). */
export const distributionV1MediaType = 'application/vnd.docker.distribution.events.v1+json';
/** distribution 3.x's media type. */
export const distributionV2MediaType = 'application/vnd.docker.distribution.events.v2+json';

/**
 * Content-Types a target may choose with the option `distribution_content_type` (the body is
 * the same): v1 (default, distribution 2.x and GitLab), v2 (distribution 3.x receivers) or plain
 * `application/json` (for receivers, like Flux's CEL filters, that only parse that).
 */
export const distributionContentTypes = [distributionV1MediaType, distributionV2MediaType, 'application/json'] as const;

const supported: ReadonlySet<AnyEventType> = new Set<AnyEventType>([
  'PUSH_ARTIFACT',
  'PULL_ARTIFACT',
  'DELETE_ARTIFACT',
  'CREATE_TAG',
  'DELETE_TAG',
  'DELETE_REPOSITORY',
]);

/** True for the event types distribution has an equivalent for; the dispatcher skips the others. */
export function distributionSupports(eventType: AnyEventType): boolean {
  return supported.has(eventType);
}

/** A name-based (version 5, SHA-1) UUID in the URL namespace, so `instanceID` is stable per installation. */
export function uuidV5Url(name: string): string {
  const ns = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** `host:port` of the external URL (the port made explicit, as distribution prints `source.addr`). */
function sourceAddr(externalUrl: string): string {
  try {
    const u = new URL(externalUrl);
    return u.port !== '' ? u.host : `${u.hostname}:${u.protocol === 'https:' ? '443' : '80'}`;
  } catch {
    return externalHost(externalUrl);
  }
}

interface Target {
  mediaType?: string;
  size?: number;
  digest?: string;
  length?: number;
  repository?: string;
  url?: string;
  tag?: string;
}

function manifestTarget(ctx: FormatContext, repo: string, a: ArtifactRef, tag: string | null): Target {
  return {
    mediaType: a.mediaType || undefined,
    size: a.size || undefined,
    digest: a.digest || undefined,
    length: a.size || undefined,
    repository: repo,
    url: `${externalBase(ctx.externalUrl)}/v2/${repo}/manifests/${a.digest}`,
    tag: tag || undefined,
  };
}

function actionAndTarget(event: WharfEvent, ctx: FormatContext): { action: string; target: Target } {
  switch (event.type) {
    case 'PUSH_ARTIFACT':
    case 'CREATE_TAG':
      // A tag created without a manifest PUT is what a PUT by tag reports: a push carrying the tag.
      return { action: 'push', target: manifestTarget(ctx, event.repository.name, event.artifact, event.artifact.tag) };
    case 'PULL_ARTIFACT':
      return { action: 'pull', target: manifestTarget(ctx, event.repository.name, event.artifact, event.artifact.tag) };
    case 'DELETE_ARTIFACT':
      return { action: 'delete', target: { digest: event.artifact.digest, repository: event.repository.name } };
    case 'DELETE_TAG':
      return { action: 'delete', target: { repository: event.repository.name, tag: event.artifact.tag ?? undefined } };
    case 'DELETE_REPOSITORY':
      return { action: 'delete', target: { repository: event.repository.name } };
    default:
      throw fail('UNSUPPORTED', `the Distribution format has no equivalent for ${event.type}`, { eventType: event.type });
  }
}

/** The envelope as an object (what `body` encodes). */
export function distributionEnvelope(event: WharfEvent, ctx: FormatContext): { events: Record<string, unknown>[] } {
  const { action, target } = actionAndTarget(event, ctx);
  const r = event.request;
  return {
    events: [
      {
        id: event.id,
        timestamp: rfc3339Nano(event.occurAt),
        action,
        target,
        request: {
          id: r?.id ?? '',
          addr: r?.addr || undefined,
          // Keel builds the image name from request.host; without a request, the external host.
          host: r?.host || externalHost(ctx.externalUrl),
          method: r?.method ?? '',
          useragent: r?.useragent ?? '',
        },
        actor: { name: event.operator || undefined },
        source: { addr: sourceAddr(ctx.externalUrl), instanceID: uuidV5Url(ctx.externalUrl) },
      },
    ],
  };
}

/** The Distribution format; throws UNSUPPORTED for events `distributionSupports` rejects. */
export const formatDistribution: PayloadFormatter = (event, ctx): RenderedPayload => {
  const wanted = ctx.target.options['distribution_content_type'];
  const contentType = distributionContentTypes.find((t) => t === wanted) ?? distributionV1MediaType;
  return { body: goJson(distributionEnvelope(event, ctx), '   '), headers: { 'Content-Type': contentType } };
};
