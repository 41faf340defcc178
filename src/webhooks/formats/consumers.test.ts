/**
 * The receivers that parse Harbor's Default payload, each encoded as data from
 * registry-notifications.md (B1–B8): what its parser requires of the headers and the body. The
 * Default payload of a push must satisfy all of them; a deliberately broken payload must not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDefault } from './default.ts';
import { formatDistribution } from './distribution.ts';
import { formatCloudEvents } from './cloudevents.ts';
import { ctxFor, pushByTag, pushByDigestChild, scanCompleted } from '../../../test/fixtures/payloads/sample-events.ts';
import type { RenderedPayload } from './types.ts';
import type { WharfEvent } from '../../events/index.ts';

type Json = unknown;

/** `a.b.0.c` into a parsed body. */
function get(body: Json, path: string): unknown {
  let cur: unknown = body;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(key)] : isObject(cur) ? cur[key] : undefined;
  }
  return cur;
}

/** An image reference as docker/go-containerregistry parse it: `host[:port]/repo[:tag][@digest]`, no scheme. */
const IMAGE_REF =
  /^(?<host>(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+|[a-z0-9-]+:\d+)(?::\d+)?)\/(?<repo>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>\w[\w.-]{0,127}))?(?:@(?<digest>[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}))?$/;

interface Check {
  /** What the consumer's parser does with the field, as the reference describes it. */
  rule: string;
  ok: (body: Json, headers: Record<string, string>, raw: string, host: string) => boolean;
}

interface Consumer {
  name: string;
  checks: Check[];
}

const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v);
const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const contentType = (h: Record<string, string>): string => Object.entries(h).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
const mediaType = (ct: string): string => (ct.split(';')[0] ?? '').trim().toLowerCase();
const bytes = (raw: string): number => Buffer.byteLength(raw, 'utf8');
const isObject = (b: Json): b is Record<string, unknown> => typeof b === 'object' && b !== null && !Array.isArray(b);
/** The value as an array; throws (so the check fails) when it is not one. */
const list = (v: unknown): unknown[] => {
  if (!Array.isArray(v)) throw new Error('not an array');
  return v;
};

const consumers: Consumer[] = [
  {
    name: 'Flux notification-controller, harbor receiver (B1)',
    checks: [
      { rule: 'CEL filters see the body only when the media type is exactly application/json', ok: (_b, h) => mediaType(contentType(h)) === 'application/json' },
      { rule: 'body ≤ 3 MiB', ok: (_b, _h, raw) => bytes(raw) <= 3 * 1024 * 1024 },
      { rule: 'body is a JSON object (req.* in CEL)', ok: (b) => isObject(b) },
    ],
  },
  {
    name: 'Flux notification-controller, generic receiver (B1)',
    checks: [{ rule: 'Content-Type application/json for CEL', ok: (_b, h) => mediaType(contentType(h)) === 'application/json' }],
  },
  {
    name: 'Kargo, Harbor webhook receiver (B2)',
    checks: [
      { rule: 'type == PUSH_ARTIFACT, else 400', ok: (b) => get(b, 'type') === 'PUSH_ARTIFACT' },
      { rule: 'resources[0].resource_url parses as an image reference', ok: (b) => IMAGE_REF.test(String(get(b, 'event_data.resources.0.resource_url'))) },
      {
        rule: 'resource_url normalized (lowercase, tag/digest dropped) equals the Warehouse repoURL host/repo',
        ok: (b, _h, _r, host) => {
          const m = IMAGE_REF.exec(String(get(b, 'event_data.resources.0.resource_url')).toLowerCase());
          return m?.groups !== undefined && `${m.groups['host']}/${m.groups['repo']}` === `${host}/${String(get(b, 'event_data.repository.repo_full_name'))}`;
        },
      },
      { rule: 'resources[].tag are strings (refresh hints)', ok: (b) => list(get(b, 'event_data.resources')).every((r) => typeof get(r, 'tag') === 'string') },
      { rule: 'body ≤ 2 MiB', ok: (_b, _h, raw) => bytes(raw) <= 2 * 1024 * 1024 },
    ],
  },
  {
    name: 'Argo CD Image Updater, harbor handler (B3)',
    checks: [
      { rule: 'Content-Type contains application/json', ok: (_b, h) => contentType(h).includes('application/json') },
      { rule: 'type == PUSH_ARTIFACT', ok: (b) => get(b, 'type') === 'PUSH_ARTIFACT' },
      { rule: 'resources non-empty', ok: (b) => Array.isArray(get(b, 'event_data.resources')) && list(get(b, 'event_data.resources')).length > 0 },
      { rule: 'resources[0].tag non-empty', ok: (b) => isNonEmptyString(get(b, 'event_data.resources.0.tag')) },
      { rule: 'resources[0].digest carried', ok: (b) => isNonEmptyString(get(b, 'event_data.resources.0.digest')) },
      {
        rule: 'repository from repo_full_name (fallback namespace/name)',
        ok: (b) =>
          isNonEmptyString(get(b, 'event_data.repository.repo_full_name')) ||
          (isNonEmptyString(get(b, 'event_data.repository.namespace')) && isNonEmptyString(get(b, 'event_data.repository.name'))),
      },
      {
        rule: 'registry = host of https://+resource_url',
        ok: (b, _h, _r, host) => {
          try {
            return new URL(`https://${String(get(b, 'event_data.resources.0.resource_url'))}`).host === host.split('/')[0];
          } catch {
            return false;
          }
        },
      },
      { rule: 'occur_at decodes into int64', ok: (b) => isInt(get(b, 'occur_at')) },
      { rule: 'repository.date_created decodes into int64 when present', ok: (b) => get(b, 'event_data.repository.date_created') === undefined || isInt(get(b, 'event_data.repository.date_created')) },
      { rule: 'body ≤ 1 MiB', ok: (_b, _h, raw) => bytes(raw) <= 1024 * 1024 },
    ],
  },
  {
    name: 'Keel, /v1/webhooks/harbor (B4)',
    checks: [
      { rule: 'type ∈ {pushImage, PUSH_ARTIFACT}', ok: (b) => ['pushImage', 'PUSH_ARTIFACT'].includes(String(get(b, 'type'))) },
      {
        rule: 'every resources[].resource_url parses as an image reference (repo + tag)',
        ok: (b) => list(get(b, 'event_data.resources')).every((r) => IMAGE_REF.test(String(get(r, 'resource_url')))),
      },
      { rule: 'occur_at is an int', ok: (b) => isInt(get(b, 'occur_at')) },
      { rule: 'repository.date_created is an int when present', ok: (b) => get(b, 'event_data.repository.date_created') === undefined || isInt(get(b, 'event_data.repository.date_created')) },
    ],
  },
  {
    name: 'Port Ocean Harbor integration (B6)',
    checks: [
      { rule: 'type present', ok: (b) => isNonEmptyString(get(b, 'type')) },
      { rule: 'repository.namespace is the project', ok: (b) => isNonEmptyString(get(b, 'event_data.repository.namespace')) },
      {
        rule: 'repository.name is the repo without the project (API re-fetch uses namespace + name)',
        ok: (b) => `${String(get(b, 'event_data.repository.namespace'))}/${String(get(b, 'event_data.repository.name'))}` === get(b, 'event_data.repository.repo_full_name'),
      },
      { rule: 'resources[0].digest is the reference for the re-fetch', ok: (b) => /^sha256:[a-f0-9]{64}$/.test(String(get(b, 'event_data.resources.0.digest'))) },
    ],
  },
  {
    name: 'Tekton EventListener with a Harbor binding (B5)',
    checks: [
      { rule: 'body is a JSON object (a top-level array is rejected)', ok: (b) => isObject(b) },
      { rule: 'binding reads resources[0].resource_url, .digest, .tag', ok: (b) => ['resource_url', 'digest', 'tag'].every((k) => isNonEmptyString(get(b, `event_data.resources.0.${k}`))) },
      { rule: 'binding reads repository.namespace', ok: (b) => isNonEmptyString(get(b, 'event_data.repository.namespace')) },
      { rule: 'CEL: resource_url.startsWith(host + "/")', ok: (b, _h, _r, host) => String(get(b, 'event_data.resources.0.resource_url')).startsWith(`${host}/`) },
      { rule: 'CEL: repo_full_name present', ok: (b) => isNonEmptyString(get(b, 'event_data.repository.repo_full_name')) },
    ],
  },
  {
    name: 'Compatibility contract (B8)',
    checks: [
      { rule: 'Content-Type exactly application/json', ok: (_b, h) => contentType(h) === 'application/json' },
      { rule: 'one resource per push event', ok: (b) => list(get(b, 'event_data.resources')).length === 1 },
      { rule: 'resource_url has no scheme', ok: (b) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(String(get(b, 'event_data.resources.0.resource_url'))) },
      { rule: 'resource_url host is the external host, lowercase', ok: (b, _h, _r, host) => String(get(b, 'event_data.resources.0.resource_url')).startsWith(`${host.toLowerCase()}/`) },
      {
        rule: 'tag is the tag, or the digest when untagged; resource_url uses @ for a digest',
        ok: (b) => {
          const tag = String(get(b, 'event_data.resources.0.tag'));
          const url = String(get(b, 'event_data.resources.0.resource_url'));
          return tag.startsWith('sha256:') ? url.endsWith(`@${tag}`) && tag === get(b, 'event_data.resources.0.digest') : url.endsWith(`:${tag}`);
        },
      },
      { rule: 'namespace is the first segment of repo_full_name', ok: (b) => String(get(b, 'event_data.repository.repo_full_name')).split('/')[0] === get(b, 'event_data.repository.namespace') },
      { rule: 'repo_type is public or private', ok: (b) => ['public', 'private'].includes(String(get(b, 'event_data.repository.repo_type'))) },
      { rule: 'Harbor key order: type, occur_at, operator, event_data', ok: (b) => isObject(b) && Object.keys(b).join() === 'type,occur_at,operator,event_data' },
      { rule: 'occur_at is not written as a float', ok: (_b, _h, raw) => /"occur_at":\d+,/.test(raw) },
    ],
  },
];

/** Every rule of these receivers that the rendered payload breaks. */
function failures(receivers: Consumer[], out: RenderedPayload, host: string): string[] {
  const body: Json = JSON.parse(out.body);
  const failed: string[] = [];
  for (const c of receivers) {
    for (const check of c.checks) {
      let ok = false;
      try {
        ok = check.ok(body, out.headers, out.body, host);
      } catch {
        ok = false;
      }
      if (!ok) failed.push(`${c.name}: ${check.rule}`);
    }
  }
  return failed;
}

/** Every Default-format consumer rule the rendered payload breaks. */
function violations(out: RenderedPayload, host: string): string[] {
  return failures(consumers, out, host);
}

const pushes: Array<[string, WharfEvent, string, string]> = [
  ['push by tag', pushByTag, 'https://harbor.example.com', 'harbor.example.com'],
  ['push by digest (index child)', pushByDigestChild, 'https://harbor.example.com', 'harbor.example.com'],
  ['push by tag behind a port', pushByTag, 'https://Registry.Example.com:8443/', 'registry.example.com:8443'],
];

for (const [label, event, externalUrl, host] of pushes) {
  test(`consumers: the Default payload of a ${label} satisfies every consumer`, () => {
    const out = formatDefault(event, { ...ctxFor('http', 'Default'), externalUrl });
    assert.deepEqual(violations(out, host), []);
  });
}

test('consumers: the contracts catch what breaks receivers (scheme in resource_url, float occur_at, empty tag, charset)', () => {
  const good = formatDefault(pushByTag, ctxFor('http', 'Default'));
  const host = 'harbor.example.com';
  const withScheme = { ...good, body: good.body.replace('"resource_url":"harbor', '"resource_url":"https://harbor') };
  assert.ok(violations(withScheme, host).some((v) => v.includes('no scheme')));
  const floatTime = { ...good, body: good.body.replace('"occur_at":1680501893', '"occur_at":1680501893.5') };
  assert.ok(violations(floatTime, host).some((v) => v.startsWith('Argo CD') && v.includes('occur_at')));
  const emptyTag = { ...good, body: good.body.replace('"tag":"3.18"', '"tag":""') };
  assert.ok(violations(emptyTag, host).some((v) => v.includes('resources[0].tag non-empty')));
  const charset = { ...good, headers: { 'Content-Type': 'application/json; charset=utf-8' } };
  assert.deepEqual(violations(charset, host), ['Compatibility contract (B8): Content-Type exactly application/json']);
  const wrongName = { ...good, body: good.body.replace('"name":"alpine"', '"name":"library/alpine"') };
  assert.ok(violations(wrongName, host).some((v) => v.startsWith('Port')));
});

test('consumers: Lagoon and Port read scan_overview keyed by report MIME type on SCANNING_COMPLETED (B6, B7)', () => {
  const body: Json = JSON.parse(formatDefault(scanCompleted, ctxFor('http', 'Default')).body);
  assert.ok(isNonEmptyString(get(body, 'event_data.repository.repo_full_name')));
  const overview = get(body, 'event_data.resources.0.scan_overview');
  assert.ok(isObject(overview) && Object.keys(overview).length > 0);
  assert.ok(Object.keys(overview).every((k) => k.startsWith('application/')));
});

/** Receivers of the distribution envelope (A2, B4, B7): what each reads from `events[]`. */
const distributionConsumers: Consumer[] = [
  {
    name: 'Keel, /v1/webhooks/registry (B4)',
    checks: [
      { rule: 'events[] with action push', ok: (b) => list(get(b, 'events')).length === 1 && get(b, 'events.0.action') === 'push' },
      { rule: 'target.tag non-empty on a push by tag', ok: (b) => isNonEmptyString(get(b, 'events.0.target.tag')) },
      {
        rule: 'image = request.host + "/" + target.repository is a pullable reference',
        ok: (b, _h, _r, host) => `${String(get(b, 'events.0.request.host'))}/${String(get(b, 'events.0.target.repository'))}` === `${host}/library/alpine`,
      },
      { rule: 'target.digest carried', ok: (b) => isNonEmptyString(get(b, 'events.0.target.digest')) },
      { rule: 'target.size decodes into an int', ok: (b) => isInt(get(b, 'events.0.target.size')) },
    ],
  },
  {
    name: 'GitLab Rails container_registry_event (A2)',
    checks: [
      { rule: 'Content-Type v1+json or JSON', ok: (_b, h) => ['application/vnd.docker.distribution.events.v1+json', 'application/json'].includes(mediaType(contentType(h))) },
      { rule: 'events[].action ∈ push/delete/pull', ok: (b) => list(get(b, 'events')).every((e) => ['push', 'delete', 'pull'].includes(String(get(e, 'action')))) },
      { rule: 'target.repository present', ok: (b) => isNonEmptyString(get(b, 'events.0.target.repository')) },
      { rule: 'actor.name read for usage tracking', ok: (b) => typeof get(b, 'events.0.actor.name') === 'string' },
    ],
  },
  {
    name: 'ttl.sh hooks (B7)',
    checks: [{ rule: 'body.events[].action, target.repository, target.tag', ok: (b) => ['action', 'target.repository', 'target.tag'].every((k) => isNonEmptyString(get(b, `events.0.${k}`))) }],
  },
];

/** Receivers of CloudEvents (B3, B1): argocd-image-updater needs structured mode; Flux's CEL needs JSON. */
const cloudEventsConsumers: Array<Consumer & { mode: 'structured' | 'binary' }> = [
  {
    name: 'Argo CD Image Updater, cloudevents handler (B3)',
    mode: 'structured',
    checks: [
      { rule: 'Content-Type contains application/json or application/cloudevents+json', ok: (_b, h) => /application\/(cloudevents\+)?json/.test(contentType(h)) },
      { rule: 'structured: body has specversion and type', ok: (b) => get(b, 'specversion') === '1.0' && isNonEmptyString(get(b, 'type')) },
      { rule: 'body ≤ 1 MiB', ok: (_b, _h, raw) => bytes(raw) <= 1024 * 1024 },
    ],
  },
  {
    name: 'Flux generic receiver with CEL over a binary CloudEvent (B1, A3)',
    mode: 'binary',
    checks: [
      { rule: 'media type exactly application/json, so req.* is the data', ok: (_b, h) => mediaType(contentType(h)) === 'application/json' },
      { rule: 'req.resources[0].resource_url available to filters', ok: (b) => isNonEmptyString(get(b, 'resources.0.resource_url')) },
      { rule: 'Ce-Type header present', ok: (_b, h) => Object.keys(h).some((k) => k.toLowerCase() === 'ce-type') },
    ],
  },
];

test('consumers: the Distribution envelope of a push by tag satisfies Keel, GitLab and ttl.sh', () => {
  const out = formatDistribution(pushByTag, ctxFor('http', 'Distribution'));
  assert.deepEqual(failures(distributionConsumers, out, 'harbor.example.com'), []);
  // ...and a push by digest is (correctly) ignored by Keel: no tag.
  const byDigest = formatDistribution(pushByDigestChild, ctxFor('http', 'Distribution'));
  assert.ok(failures(distributionConsumers, byDigest, 'harbor.example.com').some((f) => f.includes('target.tag non-empty')));
});

for (const c of cloudEventsConsumers) {
  test(`consumers: CloudEvents ${c.mode} mode satisfies ${c.name}`, () => {
    const out = formatCloudEvents(pushByTag, ctxFor('http', 'CloudEvents', { cloudevents_mode: c.mode }));
    assert.deepEqual(failures([c], out, 'harbor.example.com'), []);
  });
}
