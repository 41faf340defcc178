/**
 * End-to-end proof of the event/webhook system with real clients: a real Wharf on loopback, real
 * skopeo pushes and pulls, and a real HTTP receiver. Policies are created through the documented
 * Harbor API (plus Wharf's extensions); every delivery is checked the way its consumer reads it:
 * Default against the Kargo/Flux/Argo CD Image Updater/Keel field lists, CloudEvents with the
 * `cloudevents` SDK, signatures with `standardwebhooks` and a GitHub-style HMAC.
 * Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { HTTP, type CloudEvent } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { header, jsonBody, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import { OciLayout, writePlatformIndex, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeo, skopeoOk, describeRun } from '../helpers/skopeo.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage, type PolicyInput } from '../helpers/webhook-client.ts';

const skip = skipWithoutSkopeo();
const library = '/api/v2.0/projects/library';
/** How long to keep listening after the expected deliveries arrived, to catch extra ones. */
const settleMs = 1500;
const waitMs = 20_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Wharf and a receiver for one test; `done()` stops both. */
async function setup(overrides: Record<string, unknown> = {}): Promise<{ w: TestWharf; recv: Receiver; done: () => Promise<void> }> {
  requireSkopeo();
  const recv = await startReceiver();
  const w = await startWharf({ overrides });
  return {
    w,
    recv,
    done: async () => {
      await w.close();
      await recv.close();
    },
  };
}

/** Pushes the layout tag with skopeo to `<host>/<repo>:<tag>` (all platforms). */
async function skopeoPush(w: TestWharf, layout: OciLayout, tag: string, repo: string, destTag = tag): Promise<void> {
  await skopeoOk(['copy', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(tag), `docker://${w.host}/${repo}:${destTag}`]);
}

async function policy(w: TestWharf, p: PolicyInput, scope = library): Promise<number> {
  return createPolicy(w.url, adminAuth, scope, p);
}

/** Waits until every path has its count of requests, then listens settleMs longer for extra ones. */
async function settle(recv: Receiver, counts: Record<string, number>): Promise<void> {
  await Promise.all(Object.entries(counts).map(([path, n]) => (n > 0 ? recv.waitFor(n, waitMs, path) : undefined)));
  await sleep(settleMs);
}

/**
 * Exactly `n` requests on `path`: at least n within waitMs, and no more after settleMs (skipped
 * when `settled`, i.e. {@link settle} already waited).
 */
async function exactly(recv: Receiver, path: string, n: number, settled = false): Promise<ReceivedRequest[]> {
  if (!settled) {
    if (n > 0) await recv.waitFor(n, waitMs, path);
    await sleep(settleMs);
  }
  const got = recv.on(path);
  assert.equal(got.length, n, `expected exactly ${n} deliveries on ${path}, got ${got.length}:\n${got.map((r) => r.body.toString().slice(0, 300)).join('\n')}`);
  return got;
}

/** Field access on parsed JSON for assertions (throws with the path when a level is missing). */
function at(v: unknown, ...path: Array<string | number>): unknown {
  let cur = v;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) throw new Error(`no ${path.join('.')} in ${JSON.stringify(v).slice(0, 400)}`);
    cur = (cur as Record<string | number, unknown>)[k]; // an object (checked above), read by key
  }
  return cur;
}

/** The Default `type` of a recorded delivery. */
function defaultType(r: ReceivedRequest): string {
  return String(at(jsonBody(r), 'type'));
}

/** Digest of the single resource of a Default delivery. */
function defaultDigest(r: ReceivedRequest): string {
  return String(at(jsonBody(r), 'event_data', 'resources', 0, 'digest'));
}

/** The event id a delivery carries (Wharf's header; every format sends it). */
function eventId(r: ReceivedRequest): string {
  const id = header(r, 'x-wharf-event-id') ?? header(r, 'webhook-id');
  assert.ok(id, `delivery ${r.method} ${r.url} carries no event id header: ${JSON.stringify(r.headers)}`);
  return id;
}

/** Parses a CloudEvents delivery with the SDK. */
function cloudEvent(r: ReceivedRequest): CloudEvent<unknown> {
  const ev = HTTP.toEvent({ headers: r.headers, body: r.body.toString('utf8') });
  assert.ok(!Array.isArray(ev), 'a single CloudEvent, not a batch');
  return ev as CloudEvent<unknown>; // not an array (asserted above)
}

/**
 * Checks a Default PUSH_ARTIFACT body against what Kargo, Flux, Argo CD Image Updater and Keel read
 * (shared/reference/registry-notifications.md B8).
 */
function assertHarborDefault(r: ReceivedRequest, w: TestWharf, expect: { type: string; digest: string; tag: string; repo: string; auth?: string }): void {
  assert.equal(header(r, 'content-type'), 'application/json', 'Content-Type exactly application/json');
  if (expect.auth !== undefined) assert.equal(header(r, 'authorization'), expect.auth, 'Authorization is auth_header verbatim');
  assert.equal(r.method, 'POST');
  assert.ok(r.body.length <= 1024 * 1024, 'body within argocd-image-updater 1 MiB limit');
  const b = jsonBody(r);
  assert.equal(at(b, 'type'), expect.type);
  const occur = at(b, 'occur_at');
  assert.ok(Number.isInteger(occur), `occur_at is integer seconds: ${String(occur)}`);
  assert.ok(Math.abs(Number(occur) - Date.now() / 1000) < 300, 'occur_at is now, in seconds');
  assert.equal(at(b, 'operator'), 'admin');
  const resources = at(b, 'event_data', 'resources');
  assert.ok(Array.isArray(resources) && resources.length === 1, 'one resource');
  assert.equal(at(b, 'event_data', 'resources', 0, 'digest'), expect.digest);
  assert.equal(at(b, 'event_data', 'resources', 0, 'tag'), expect.tag, 'tag is the tag, or the digest when untagged');
  const sep = expect.tag.startsWith('sha256:') ? '@' : ':';
  assert.equal(at(b, 'event_data', 'resources', 0, 'resource_url'), `${w.host}/${expect.repo}${sep}${expect.tag}`, 'resource_url without scheme');
  const [namespace = '', ...rest] = expect.repo.split('/');
  const created = at(b, 'event_data', 'repository', 'date_created');
  assert.ok(Number.isInteger(created), `date_created is integer seconds: ${String(created)}`);
  assert.equal(at(b, 'event_data', 'repository', 'repo_full_name'), expect.repo);
  assert.equal(at(b, 'event_data', 'repository', 'namespace'), namespace);
  assert.equal(at(b, 'event_data', 'repository', 'name'), rest.join('/'));
  assert.equal(at(b, 'event_data', 'repository', 'repo_type'), 'public', 'library is public');
}

test('e2e: a tagged skopeo push delivers one PUSH_ARTIFACT in every format, and lifecycle events only where subscribed', { skip, timeout: 120_000 }, async () => {
  const { w, recv, done } = await setup();
  try {
    const push = ['PUSH_ARTIFACT'];
    const auth = 'Bearer kargo-7f3a9c1e';
    await policy(w, { name: 'default', event_types: push, targets: [{ type: 'http', address: `${recv.url}/default`, payload_format: 'Default', auth_header: auth }] });
    await policy(w, {
      name: 'ce-structured',
      event_types: push,
      targets: [{ type: 'http', address: `${recv.url}/ce-structured`, payload_format: 'CloudEvents', cloudevents_mode: 'structured' }],
    });
    await policy(w, {
      name: 'ce-binary',
      event_types: push,
      targets: [{ type: 'http', address: `${recv.url}/ce-binary`, payload_format: 'CloudEvents', cloudevents_mode: 'binary' }],
    });
    await policy(w, { name: 'distribution', event_types: push, targets: [{ type: 'http', address: `${recv.url}/distribution`, payload_format: 'Distribution' }] });
    await policy(w, { name: 'msr', event_types: push, targets: [{ type: 'http', address: `${recv.url}/msr`, payload_format: 'MSR' }] });
    await policy(w, { name: 'slack', event_types: push, targets: [{ type: 'slack', address: `${recv.url}/slack` }] });
    await policy(w, { name: 'discord', event_types: push, targets: [{ type: 'discord', address: `${recv.url}/discord` }] });
    await policy(w, {
      name: 'lifecycle',
      event_types: ['CREATE_REPOSITORY', 'CREATE_TAG'],
      targets: [{ type: 'http', address: `${recv.url}/lifecycle`, payload_format: 'Default' }],
    });

    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'v1');
    await skopeoPush(w, layout, 'v1', 'library/app');
    const digest = img.manifest.digest;
    const paths = ['/default', '/ce-structured', '/ce-binary', '/distribution', '/msr', '/slack', '/discord'];
    await settle(recv, { ...Object.fromEntries(paths.map((p) => [p, 1])), '/lifecycle': 2 });

    const [def] = await exactly(recv, '/default', 1, true);
    assert.ok(def);
    assertHarborDefault(def, w, { type: 'PUSH_ARTIFACT', digest, tag: 'v1', repo: 'library/app', auth });
    const id = eventId(def);

    const [ces] = await exactly(recv, '/ce-structured', 1, true);
    assert.ok(ces);
    assert.match(header(ces, 'content-type') ?? '', /^application\/cloudevents\+json/);
    const evS = cloudEvent(ces);
    assert.equal(evS.specversion, '1.0');
    assert.equal(evS.type, 'harbor.artifact.pushed');
    assert.equal(evS.id, id, 'CloudEvents id is the event id');
    assert.equal(at(evS.data, 'resources', 0, 'digest'), digest);
    assert.equal(at(evS.data, 'repository', 'repo_full_name'), 'library/app');

    const [ceb] = await exactly(recv, '/ce-binary', 1, true);
    assert.ok(ceb);
    assert.equal(header(ceb, 'ce-specversion'), '1.0', 'binary mode: attributes as ce-* headers');
    assert.equal(header(ceb, 'ce-type'), 'harbor.artifact.pushed');
    const evB = cloudEvent(ceb);
    assert.equal(evB.id, id);
    assert.equal(at(evB.data, 'resources', 0, 'digest'), digest);

    const [dist] = await exactly(recv, '/distribution', 1, true);
    assert.ok(dist);
    assert.equal(header(dist, 'content-type'), 'application/vnd.docker.distribution.events.v1+json');
    const env = jsonBody(dist);
    assert.equal(at(env, 'events', 0, 'action'), 'push');
    assert.equal(at(env, 'events', 0, 'target', 'digest'), digest);
    assert.equal(at(env, 'events', 0, 'target', 'tag'), 'v1', 'Keel reads target.tag');
    assert.equal(at(env, 'events', 0, 'target', 'repository'), 'library/app');
    assert.equal(at(env, 'events', 0, 'target', 'mediaType'), 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(at(env, 'events', 0, 'request', 'host'), w.host, 'Keel builds the image name from request.host');
    assert.equal(at(env, 'events', 0, 'actor', 'name'), 'admin');

    const [msr] = await exactly(recv, '/msr', 1, true);
    assert.ok(msr);
    const m = jsonBody(msr);
    assert.equal(at(m, 'type'), 'TAG_PUSH');
    assert.equal(at(m, 'contents', 'digest'), digest);
    assert.equal(at(m, 'contents', 'tag'), 'v1');
    assert.equal(at(m, 'contents', 'namespace'), 'library');
    assert.equal(at(m, 'contents', 'repository'), 'app');

    const [slack] = await exactly(recv, '/slack', 1, true);
    assert.ok(slack);
    assert.equal(header(slack, 'content-type'), 'application/json');
    const s = jsonBody(slack);
    const blocks = at(s, 'blocks');
    assert.ok(Array.isArray(blocks) && blocks.length >= 1 && blocks.length <= 50, 'Slack: 1..50 blocks');
    for (const blk of blocks) {
      const text = at(blk, 'text');
      if (typeof text === 'object' && text !== null) assert.ok(String(at(text, 'text')).length <= 3000, 'Slack: section text ≤ 3000');
    }
    assert.ok(slack.body.toString().includes(digest), 'Slack message names the digest');

    const [disc] = await exactly(recv, '/discord', 1, true);
    assert.ok(disc);
    assert.equal(header(disc, 'content-type'), 'application/json');
    const d = jsonBody(disc);
    const content = typeof at(d, 'content') === 'string' ? String(at(d, 'content')) : '';
    assert.ok(content.length <= 2000, 'Discord: content ≤ 2000');
    const embeds = at(d, 'embeds');
    if (embeds !== undefined) {
      assert.ok(Array.isArray(embeds) && embeds.length <= 10, 'Discord: ≤ 10 embeds');
      let total = 0;
      for (const e of embeds) {
        const title = String(at(e, 'title') ?? '');
        const desc = String(at(e, 'description') ?? '');
        // Discord's embed field shape; a missing name/value would fail the length checks below.
        const fields = (at(e, 'fields') ?? []) as Array<{ name: string; value: string }>;
        assert.ok(title.length <= 256 && desc.length <= 4096 && fields.length <= 25, 'Discord embed limits');
        for (const f of fields) assert.ok(f.name.length <= 256 && f.value.length <= 1024, 'Discord field limits');
        const footer = at(e, 'footer');
        const footerText = typeof footer === 'object' && footer !== null ? String(at(footer, 'text') ?? '') : '';
        assert.ok(footerText.length <= 2048, 'Discord footer limit');
        total += title.length + desc.length + footerText.length + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
      }
      assert.ok(total <= 6000, 'Discord: ≤ 6000 characters across embeds');
    }
    assert.ok(content.length > 0 || (Array.isArray(embeds) && embeds.length > 0), 'Discord message is not empty');
    assert.ok(disc.body.toString().includes(digest), 'Discord message names the digest');

    // All formats describe the same event.
    for (const r of [ces, ceb, dist, msr, slack, disc]) assert.equal(eventId(r), id, `same event id on ${r.path}`);

    const life = await exactly(recv, '/lifecycle', 2, true);
    const types = life.map(defaultType).sort();
    assert.deepEqual(types, ['CREATE_REPOSITORY', 'CREATE_TAG']);
    const tagEv = life.find((r) => defaultType(r) === 'CREATE_TAG');
    assert.ok(tagEv);
    assert.equal(at(jsonBody(tagEv), 'event_data', 'resources', 0, 'tag'), 'v1');

    // The same push again: PUSH_ARTIFACT again (Harbor fires on every manifest PUT), no new repository or tag.
    recv.clear();
    await skopeoPush(w, layout, 'v1', 'library/app');
    layout.remove();
    await settle(recv, { '/default': 1 });
    const [def2] = await exactly(recv, '/default', 1, true);
    assert.ok(def2);
    assert.equal(defaultDigest(def2), digest);
    assert.notEqual(eventId(def2), id, 'a new push is a new event');
    await exactly(recv, '/lifecycle', 0, true);
  } finally {
    await done();
  }
});

test('e2e: a multi-arch index push gives one PUSH_ARTIFACT per child plus the index', { skip, timeout: 120_000 }, async () => {
  const { w, recv, done } = await setup();
  try {
    await policy(w, { name: 'p', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: `${recv.url}/p`, payload_format: 'Default' }] });
    await policy(w, { name: 'tags', event_types: ['CREATE_TAG'], targets: [{ type: 'http', address: `${recv.url}/tags`, payload_format: 'Default' }] });
    const layout = OciLayout.create();
    const idx = await writePlatformIndex(layout, 'multi');
    await skopeoPush(w, layout, 'multi', 'library/multi', 'v2');
    layout.remove();
    const got = await exactly(recv, '/p', 3);
    const byDigest = new Map(got.map((r) => [defaultDigest(r), r]));
    const children = idx.children.map((c) => c.manifest.digest);
    assert.deepEqual([...byDigest.keys()].sort(), [...children, idx.index.digest].sort(), 'the index and each child, once each');
    const indexDelivery = byDigest.get(idx.index.digest);
    assert.ok(indexDelivery);
    assertHarborDefault(indexDelivery, w, { type: 'PUSH_ARTIFACT', digest: idx.index.digest, tag: 'v2', repo: 'library/multi' });
    for (const c of children) {
      const r = byDigest.get(c);
      assert.ok(r);
      assertHarborDefault(r, w, { type: 'PUSH_ARTIFACT', digest: c, tag: c, repo: 'library/multi' });
    }
    assert.equal(new Set(got.map(eventId)).size, 3, 'three distinct events');
    const [tagged] = await exactly(recv, '/tags', 1);
    assert.ok(tagged);
    assert.equal(at(jsonBody(tagged), 'event_data', 'resources', 0, 'digest'), idx.index.digest, 'only the index is tagged');
  } finally {
    await done();
  }
});

/** Manifest requests skopeo made, from its --debug log (`GET http://…/manifests/…`). */
function manifestRequests(stderr: string): { get: number; head: number } {
  const lines = stderr.split('\n').filter((l) => /msg="(GET|HEAD) https?:\/\/[^"]*\/manifests\//.test(l));
  return { get: lines.filter((l) => l.includes('msg="GET')).length, head: lines.filter((l) => l.includes('msg="HEAD')).length };
}

test('e2e: skopeo copy out gives PULL_ARTIFACT; skopeo inspect gives one per manifest GET it makes (HEAD gives none)', { skip, timeout: 120_000 }, async () => {
  const { w, recv, done } = await setup();
  try {
    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'v1');
    await skopeoPush(w, layout, 'v1', 'library/pulled');
    layout.remove();
    await policy(w, { name: 'pull', event_types: ['PULL_ARTIFACT'], targets: [{ type: 'http', address: `${recv.url}/pull`, payload_format: 'Default' }] });

    const out = OciLayout.create();
    const copy = await skopeo(['--debug', 'copy', '--src-tls-verify=false', '--src-creds', adminCreds, `docker://${w.host}/library/pulled:v1`, out.ref('v1')]);
    out.remove();
    assert.equal(copy.code, 0, describeRun(copy));
    const copyReqs = manifestRequests(copy.stderr);
    assert.ok(copyReqs.get >= 1, 'skopeo copy GETs the manifest');
    const pulls = await exactly(recv, '/pull', copyReqs.get);
    for (const r of pulls) assertHarborDefault(r, w, { type: 'PULL_ARTIFACT', digest: img.manifest.digest, tag: 'v1', repo: 'library/pulled' });

    recv.clear();
    const insp = await skopeo(['--debug', 'inspect', '--tls-verify=false', '--creds', adminCreds, `docker://${w.host}/library/pulled:v1`]);
    assert.equal(insp.code, 0, describeRun(insp));
    const inspReqs = manifestRequests(insp.stderr);
    // skopeo 1.9 inspect GETs the manifest once (then the config blob and the tag list); any HEAD must not count.
    await exactly(recv, '/pull', inspReqs.get);

    recv.clear();
    const head = await fetch(`${w.url}/v2/library/pulled/manifests/v1`, {
      method: 'HEAD',
      headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(head.status, 200);
    await exactly(recv, '/pull', 0);
  } finally {
    await done();
  }
});

test('e2e: repo and tag filters, and the global notification switch', { skip, timeout: 120_000 }, async () => {
  const { w, recv, done } = await setup();
  try {
    await policy(w, {
      name: 'filtered',
      event_types: ['PUSH_ARTIFACT'],
      repo_filters: ['library/keep-*'],
      tag_filters: ['v*'],
      targets: [{ type: 'http', address: `${recv.url}/f`, payload_format: 'Default' }],
    });
    await policy(w, { name: 'all', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: `${recv.url}/all`, payload_format: 'Default' }] });
    const pushes: Array<[repo: string, tag: string, match: boolean]> = [
      ['library/keep-a', 'v1', true],
      ['library/keep-b', 'latest', false],
      ['library/drop', 'v1', false],
      ['library/keep-c/sub', 'v2', false], // `*` does not cross `/`
    ];
    const want: string[] = [];
    for (const [repo, tag, match] of pushes) {
      const d = await pushSmallImage(w.url, repo, smallImage(`${repo}:${tag}`), { tag, auth: adminAuth });
      if (match) want.push(d);
    }
    // One through skopeo too (a real client), matching.
    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'v9');
    await skopeoPush(w, layout, 'v9', 'library/keep-z');
    layout.remove();
    want.push(img.manifest.digest);
    await exactly(recv, '/all', pushes.length + 1);
    const f = await exactly(recv, '/f', want.length);
    assert.deepEqual(f.map(defaultDigest).sort(), want.sort());

    // The switch: off drops events (not queued for later), on delivers again.
    const off = await api(w.url, 'PUT', '/api/v2.0/configurations', { auth: adminAuth, body: { notification_enable: false } });
    assert.equal(off.status, 200, explain('PUT', '/api/v2.0/configurations', off));
    const cfg = await api(w.url, 'GET', '/api/v2.0/configurations', { auth: adminAuth });
    assert.equal(at(cfg.json, 'notification_enable', 'value'), false, explain('GET', '/api/v2.0/configurations', cfg));
    recv.clear();
    await pushSmallImage(w.url, 'library/keep-off', smallImage('off'), { tag: 'v1', auth: adminAuth });
    await exactly(recv, '/all', 0);
    const on = await api(w.url, 'PUT', '/api/v2.0/configurations', { auth: adminAuth, body: { notification_enable: true } });
    assert.equal(on.status, 200, explain('PUT', '/api/v2.0/configurations', on));
    const dOn = await pushSmallImage(w.url, 'library/keep-on', smallImage('on'), { tag: 'v1', auth: adminAuth });
    const [onAll] = await exactly(recv, '/all', 1);
    assert.ok(onAll);
    assert.equal(defaultDigest(onAll), dOn, 'only the push made while on is delivered');
    await exactly(recv, '/f', 1);
  } finally {
    await done();
  }
});

test('e2e: a system-wide policy gets events from every project', { skip, timeout: 120_000 }, async () => {
  const { w, recv, done } = await setup();
  try {
    await policy(w, { name: 'everything', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: `${recv.url}/sys`, payload_format: 'Default' }] }, '/api/v2.0/system');
    const created = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'team', metadata: { public: 'false' } } });
    assert.equal(created.status, 201, explain('POST', '/api/v2.0/projects', created));
    const d1 = await pushSmallImage(w.url, 'library/one', smallImage('sys-1'), { tag: 'v1', auth: adminAuth });
    const d2 = await pushSmallImage(w.url, 'team/two', smallImage('sys-2'), { tag: 'v1', auth: adminAuth });
    const got = await exactly(recv, '/sys', 2);
    assert.deepEqual(got.map(defaultDigest).sort(), [d1, d2].sort());
    const team = got.find((r) => defaultDigest(r) === d2);
    assert.ok(team);
    assert.equal(at(jsonBody(team), 'event_data', 'repository', 'repo_type'), 'private');
    const list = await api(w.url, 'GET', '/api/v2.0/system/webhook/policies', { auth: adminAuth });
    assert.equal(list.status, 200, explain('GET', '/api/v2.0/system/webhook/policies', list));
    assert.ok(Array.isArray(list.json) && list.json.length === 1);
  } finally {
    await done();
  }
});

/** GitHub-style signature check: `sha256=` + hex HMAC-SHA256 of the raw body. */
function githubSignatureOk(secret: string, body: Buffer, value: string | undefined): boolean {
  if (!value) return false;
  const want = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'));
  const got = Buffer.from(value);
  return want.length === got.length && timingSafeEqual(want, got);
}

test('e2e: signed deliveries verify with standardwebhooks and the GitHub-style HMAC; custom headers are sent', { skip, timeout: 120_000 }, async () => {
  const { w, recv, done } = await setup();
  try {
    const whsec = 'whsec_' + Buffer.from('wharf-e2e-signing-key-0123456789').toString('base64');
    const plain = 'wharf-github-style-secret';
    await policy(w, {
      name: 'standard',
      event_types: ['PUSH_ARTIFACT'],
      targets: [
        { type: 'http', address: `${recv.url}/std`, payload_format: 'Default', secret: whsec, signature_style: 'standard', headers: { 'X-Team': 'registry-ops' } },
      ],
    });
    await policy(w, {
      name: 'github',
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/gh`, payload_format: 'CloudEvents', secret: plain, signature_style: 'github' }],
    });
    await policy(w, { name: 'unsigned', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: `${recv.url}/none`, payload_format: 'Default' }] });

    // The API never returns a secret.
    const listed = await api(w.url, 'GET', `${library}/webhook/policies`, { auth: adminAuth });
    assert.equal(listed.status, 200, explain('GET', `${library}/webhook/policies`, listed));
    assert.ok(!listed.text.includes(whsec) && !listed.text.includes(plain), `secrets are write-only: ${listed.text.slice(0, 400)}`);

    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'signed');
    await skopeoPush(w, layout, 'signed', 'library/signed');
    layout.remove();

    const [std] = await exactly(recv, '/std', 1);
    assert.ok(std);
    const verified = new Webhook(whsec).verify(std.body.toString('utf8'), {
      'webhook-id': header(std, 'webhook-id') ?? '',
      'webhook-timestamp': header(std, 'webhook-timestamp') ?? '',
      'webhook-signature': header(std, 'webhook-signature') ?? '',
    });
    assert.equal(at(verified, 'event_data', 'resources', 0, 'digest'), img.manifest.digest);
    assert.equal(header(std, 'webhook-id'), eventId(std), 'webhook-id is the event id');
    assert.equal(header(std, 'x-team'), 'registry-ops', 'custom header sent');
    // A tampered body must not verify.
    assert.throws(() =>
      new Webhook(whsec).verify(std.body.toString('utf8').replace('signed', 'signeD'), {
        'webhook-id': header(std, 'webhook-id') ?? '',
        'webhook-timestamp': header(std, 'webhook-timestamp') ?? '',
        'webhook-signature': header(std, 'webhook-signature') ?? '',
      }),
    );

    const [gh] = await exactly(recv, '/gh', 1);
    assert.ok(gh);
    const sig = header(gh, 'x-hub-signature-256');
    assert.ok(githubSignatureOk(plain, gh.body, sig), `X-Hub-Signature-256 verifies: ${String(sig)}`);
    assert.ok(!githubSignatureOk('wrong secret', gh.body, sig));
    assert.equal(at(cloudEvent(gh).data, 'resources', 0, 'digest'), img.manifest.digest);

    const [none] = await exactly(recv, '/none', 1);
    assert.ok(none);
    assert.equal(header(none, 'webhook-signature'), undefined, 'no signature without a secret');
    assert.equal(header(none, 'x-hub-signature-256'), undefined);
  } finally {
    await done();
  }
});

test('e2e: delivery history shows each attempt with the receiver answer; redelivery keeps the event id', { skip, timeout: 120_000 }, async () => {
  // Retries one second apart so the test sees the second attempt quickly.
  const { w, recv, done } = await setup({ webhooks: { retry_schedule: [0, 1, 1] } });
  try {
    recv.respond('/flaky', { statuses: [503, 200], body: 'receiver says: try later' });
    const pid = await policy(w, { name: 'flaky', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: `${recv.url}/flaky`, payload_format: 'Default' }] });
    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'v1');
    await skopeoPush(w, layout, 'v1', 'library/history');
    layout.remove();
    const [first, second] = await exactly(recv, '/flaky', 2);
    assert.ok(first && second);
    assert.equal(first.status, 503);
    assert.equal(second.status, 200);
    assert.equal(eventId(first), eventId(second), 'a retry keeps the event id');
    assert.deepEqual(second.body, first.body, 'a retry resends the same bytes');

    const base = `${library}/webhook/policies/${pid}`;
    // The task reaches Success once the second attempt is recorded.
    let execs: unknown[] = [];
    let tasks: unknown[] = [];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const e = await api(w.url, 'GET', `${base}/executions`, { auth: adminAuth });
      assert.equal(e.status, 200, explain('GET', `${base}/executions`, e));
      execs = Array.isArray(e.json) ? e.json : [];
      const exec = execs[0];
      if (execs.length === 1 && exec !== undefined) {
        const t = await api(w.url, 'GET', `${base}/executions/${String(at(exec, 'id'))}/tasks`, { auth: adminAuth });
        assert.equal(t.status, 200, explain('GET', 'tasks', t));
        tasks = Array.isArray(t.json) ? t.json : [];
        if (tasks.length === 1 && at(tasks[0], 'status') === 'Success') break;
      }
      if (Date.now() > deadline) assert.fail(`execution/task never reached Success: ${JSON.stringify({ execs, tasks })}`);
      await sleep(200);
    }
    const exec = execs[0];
    const task = tasks[0];
    assert.equal(at(exec, 'vendor_type'), 'WEBHOOK');
    assert.equal(at(exec, 'vendor_id'), pid);
    assert.equal(at(exec, 'extra_attrs', 'event_type'), 'PUSH_ARTIFACT');
    assert.equal(at(exec, 'extra_attrs', 'payload'), first.body.toString('utf8'), 'the execution keeps the exact body sent');
    assert.equal(at(task, 'run_count'), 2, 'two attempts');
    const logPath = `${base}/executions/${String(at(exec, 'id'))}/tasks/${String(at(task, 'id'))}/log`;
    const log = await api(w.url, 'GET', logPath, { auth: adminAuth });
    assert.equal(log.status, 200, explain('GET', logPath, log));
    assert.match(log.text, /503/, 'the log shows the failed attempt status');
    assert.match(log.text, /receiver says: try later/, 'the log keeps the receiver answer');
    assert.match(log.text, /200/, 'the log shows the successful attempt');

    // Redelivery: the same event id again, as a new execution triggered manually.
    recv.clear();
    const redeliverPath = `${base}/executions/${String(at(exec, 'id'))}/redeliver`;
    const rd = await api(w.url, 'POST', redeliverPath, { auth: adminAuth });
    assert.ok(rd.status >= 200 && rd.status < 300, explain('POST', redeliverPath, rd));
    const [again] = await exactly(recv, '/flaky', 1);
    assert.ok(again);
    assert.equal(eventId(again), eventId(first), 'redelivery keeps the event id');
    assert.equal(defaultDigest(again), img.manifest.digest);
  } finally {
    await done();
  }
});
