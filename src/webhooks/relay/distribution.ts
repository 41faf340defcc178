/**
 * The CNCF registry's notification envelope (reference: registry-notifications.md §A1):
 * `{"events":[{id, timestamp, action, target:{mediaType, digest, size, repository, url, tag},
 * request, actor, source}]}`, sent as `application/vnd.docker.distribution.events.v1+json` (v2.x)
 * or `…v2+json` (v3). Manifest events become PUSH_ARTIFACT, PULL_ARTIFACT and DELETE_ARTIFACT; a
 * tag delete becomes DELETE_TAG and a repository delete DELETE_REPOSITORY; blob and mount events
 * have no Wharf counterpart and are counted as ignored. An event's key is its `id`.
 */
import type { NewEvent, RequestInfo } from '../../events/index.ts';
import { artifactRef, contentKey, num, obj, originOf, relayInfo, str, unreadable, type ParsedRelay, type RelayContext, type RelayInput, type RelayedEvent } from './types.ts';

/** Manifest media types: the targets that are artifacts (everything else is a blob). */
export const manifestMediaTypes: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
]);

/** True when the body looks like the CNCF registry's envelope. */
export function isDistributionEnvelope(body: Record<string, unknown>): boolean {
  return Array.isArray(body['events']);
}

function requestOf(r: Record<string, unknown> | null): RequestInfo | undefined {
  if (r === null) return undefined;
  return { id: str(r['id']) ?? '', addr: str(r['addr']) ?? '', host: str(r['host']) ?? '', method: str(r['method']) ?? '', useragent: str(r['useragent']) ?? '' };
}

/** The Wharf event of one envelope event, or null when it has none. */
function wharfEvent(e: Record<string, unknown>, ctx: RelayContext, index: number): NewEvent | null {
  const action = str(e['action']);
  const target = obj(e['target']);
  if (action === null || target === null) throw unreadable('CNCF registry', `events[${index}] needs "action" and "target"`);
  const repo = str(target['repository']);
  if (repo === null) throw unreadable('CNCF registry', `events[${index}].target.repository is required`);
  const mediaType = str(target['mediaType']) ?? '';
  const digest = str(target['digest']);
  const tag = str(target['tag']);
  const time = Date.parse(str(e['timestamp']) ?? '');
  const request = requestOf(obj(e['request']));
  const registryUrl = originOf(str(target['url'])) || (request?.host ? `http://${request.host}` : '');
  const id = str(e['id']);
  const base = {
    occurAt: Number.isFinite(time) ? time : ctx.now,
    operator: str(obj(e['actor'])?.['name']) ?? '',
    project: ctx.project,
    ...(request ? { request } : {}),
    relay: relayInfo(ctx, 'distribution', registryUrl, id ?? undefined),
  };
  const repository = { id: 0, name: repo, creationTime: null };
  const size = num(target['size']) ?? num(target['length']) ?? 0;
  const manifest = manifestMediaTypes.has(mediaType);
  if ((action === 'push' || action === 'pull') && manifest && digest !== null) {
    return { ...base, type: action === 'push' ? 'PUSH_ARTIFACT' : 'PULL_ARTIFACT', repository, artifact: artifactRef(digest, tag, mediaType, size) };
  }
  if (action !== 'delete') return null;
  // Deletes carry no media type: a digest is a manifest (blob deletes name a blob digest and are
  // indistinguishable; the registry sends those only for the blob API), a tag alone a tag.
  if (digest !== null && (mediaType === '' || manifest)) return { ...base, type: 'DELETE_ARTIFACT', repository, artifact: artifactRef(digest, tag, mediaType, size) };
  if (digest === null && tag !== null) return { ...base, type: 'DELETE_TAG', repository, artifact: artifactRef(null, tag) };
  if (digest === null && tag === null) return { ...base, type: 'DELETE_REPOSITORY', repository };
  return null;
}

/** The CNCF registry's envelope. */
export function parseDistribution(input: RelayInput, ctx: RelayContext): ParsedRelay {
  const body = obj(input.body);
  const list = body?.['events'];
  if (!Array.isArray(list)) throw unreadable('CNCF registry', 'the body needs an "events" array');
  const events: RelayedEvent[] = [];
  let ignored = 0;
  list.forEach((raw: unknown, i) => {
    const e = obj(raw);
    if (e === null) throw unreadable('CNCF registry', `events[${i}] is not an object`);
    const event = wharfEvent(e, ctx, i);
    if (event === null) {
      ignored++;
      return;
    }
    const id = str(e['id']);
    events.push({ sourceKey: id !== null ? `distribution:${id}` : contentKey('distribution', e), event });
  });
  return { source: 'distribution', events, ignored };
}
