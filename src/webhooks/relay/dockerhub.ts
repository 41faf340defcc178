/**
 * Docker Hub's webhook (reference: registry-notifications.md §A6): pushes only, no event type,
 * no digest, no id: `{callback_url, push_data:{pushed_at, pusher, tag}, repository:{repo_name,
 * namespace, name, repo_url, date_created, ...}}`. It becomes one PUSH_ARTIFACT whose digest is
 * '' (Docker Hub does not send it). Its key is the hash of the payload.
 */
import { artifactRef, contentKey, num, obj, originOf, relayInfo, str, unreadable, type ParsedRelay, type RelayContext, type RelayInput } from './types.ts';

/** True when the body looks like Docker Hub's webhook. */
export function isDockerHub(body: Record<string, unknown>): boolean {
  return obj(body['push_data']) !== null && obj(body['repository']) !== null;
}

/** Docker Hub's push webhook. */
export function parseDockerHub(input: RelayInput, ctx: RelayContext): ParsedRelay {
  const body = obj(input.body);
  const push = obj(body?.['push_data']);
  const repo = obj(body?.['repository']);
  if (body === null || push === null || repo === null) throw unreadable('Docker Hub', 'the body needs "push_data" and "repository" objects');
  const ns = str(repo['namespace']);
  const short = str(repo['name']);
  const name = str(repo['repo_name']) ?? (ns !== null && short !== null ? `${ns}/${short}` : null);
  if (name === null) throw unreadable('Docker Hub', 'repository.repo_name is required');
  const tag = str(push['tag']) ?? 'latest';
  // Old payloads print the times as floats (1.417566161e+09): seconds all the same.
  const pushedAt = num(push['pushed_at']);
  const created = num(repo['date_created']);
  const registryUrl = originOf(str(repo['repo_url'])) || 'https://hub.docker.com';
  return {
    source: 'dockerhub',
    events: [
      {
        sourceKey: contentKey('dockerhub', body),
        event: {
          type: 'PUSH_ARTIFACT',
          occurAt: pushedAt !== null ? Math.round(pushedAt * 1000) : ctx.now,
          operator: str(push['pusher']) ?? '',
          project: ctx.project,
          relay: relayInfo(ctx, 'dockerhub', registryUrl),
          repository: { id: 0, name, creationTime: created !== null ? Math.round(created * 1000) : null },
          artifact: artifactRef(null, tag, str(push['media_type']) ?? ''),
        },
      },
    ],
    ignored: 0,
  };
}
