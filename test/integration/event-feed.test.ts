/**
 * The event feed (docs/event-feed.md; src/webhooks/event-feed.ts) over real HTTP and a real
 * database (SQLite, or PostgreSQL in that pass): paging through many events with cursors, the
 * filters, who sees what, named consumers and their acknowledgement, the long-poll woken by a
 * push, the server-sent stream, and the feed service itself with tiny read windows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, pushSmallImage, pushTaggedImages, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import { EventFeed, parseFeedQuery } from '../../src/webhooks/index.ts';
import { Outbox } from '../../src/events/index.ts';
import { Authorizer, systemActor, type Actor } from '../../src/auth/index.ts';

// Casts in this file name the shapes docs/event-feed.md documents for the parsed JSON answers.
interface CloudEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time: string;
  operator: string;
  data: { resources?: Array<{ tag?: string; digest?: string }>; repository?: { repo_full_name: string; namespace: string } };
}
interface FeedAnswer {
  events: CloudEvent[];
  next_cursor: string;
}

const basic = (user: string, pass: string) => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
const password = 'Passw0rdOne';
const maintainer = basic('maint', password);
const developer = basic('dev', password);

let w: TestWharf;

async function call(path: string, auth: string | null = adminAuth, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  return api(w.url, 'GET', path, { ...(auth === null ? {} : { auth }), headers });
}

async function feed(path: string, auth: string | null = adminAuth): Promise<FeedAnswer> {
  const a = await call(path, auth);
  assert.equal(a.status, 200, explain('GET', path, a));
  return a.json as FeedAnswer;
}

const tagOf = (e: CloudEvent) => e.data.resources?.[0]?.tag;
const repoOf = (e: CloudEvent) => e.data.repository?.repo_full_name;

before(async () => {
  w = await startWharf();
  const post = async (path: string, body: unknown) => {
    const a = await api(w.url, 'POST', path, { auth: adminAuth, body });
    assert.equal(a.status, 201, explain('POST', path, a));
  };
  for (const p of ['p1', 'p2']) await post('/api/v2.0/projects', { project_name: p, metadata: { public: 'false' } });
  for (const u of ['maint', 'dev']) await post('/api/v2.0/users', { username: u, password, email: `${u}@example.com`, realname: u });
  await post('/api/v2.0/projects/p1/members', { role_id: 4, member_user: { username: 'maint' } });
  await post('/api/v2.0/projects/p1/members', { role_id: 2, member_user: { username: 'dev' } });
  await pushTaggedImages(w.url, 'p1/app', 25, adminAuth);
  await pushTaggedImages(w.url, 'p1/tools', 3, adminAuth);
  await pushTaggedImages(w.url, 'p2/secret', 2, adminAuth);
});

after(async () => {
  await w.close();
});

describe('GET /api/v2.0/events', () => {
  it('pages through every event in seq order with next_cursor, without gaps or repeats', async () => {
    const seen: CloudEvent[] = [];
    let cursor = '0';
    for (let page = 0; page < 50; page++) {
      const a = await feed(`/api/v2.0/events?event_types=PUSH_ARTIFACT&limit=4&cursor=${cursor}`);
      assert.ok(a.events.length <= 4);
      if (a.events.length === 0) {
        assert.equal(a.next_cursor, cursor, 'an empty answer keeps the position');
        break;
      }
      assert.ok(Number(a.next_cursor) > Number(cursor), 'the cursor moves forward');
      seen.push(...a.events);
      cursor = a.next_cursor;
    }
    assert.deepEqual(
      seen.map((e) => `${repoOf(e)}:${tagOf(e)}`),
      [...Array.from({ length: 25 }, (_, i) => `p1/app:v${i}`), 'p1/tools:v0', 'p1/tools:v1', 'p1/tools:v2', 'p2/secret:v0', 'p2/secret:v1'],
    );
    assert.equal(new Set(seen.map((e) => e.id)).size, seen.length, 'every event once');
    const first = seen[0];
    assert.ok(first);
    assert.equal(first.specversion, '1.0');
    assert.equal(first.type, 'harbor.artifact.pushed');
    assert.equal(first.operator, 'admin');
    assert.match(first.source, /^\/projects\/\d+\/events$/);
    assert.match(first.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('renders each event as the CloudEvents format lays it out (key order, whole-second time)', async () => {
    const a = await call('/api/v2.0/events?event_types=PUSH_ARTIFACT&limit=1');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    assert.match(a.text, /^\{"events":\[\{"specversion":"1\.0","id":"[^"]+","source":"\/projects\/\d+\/events","type":"harbor\.artifact\.pushed","datacontenttype":"application\/json","time":"[^"]+Z","data":\{/);
    assert.match(a.text, /"requestid":"[^"]*","operator":"admin"\}\],"next_cursor":"\d+"\}$/);
  });

  it('filters as policies do: event types, repository and tag globs, a project by name or id', async () => {
    const byRepo = await feed('/api/v2.0/events?event_types=PUSH_ARTIFACT&repo_filters=p1/too*&limit=100');
    assert.deepEqual(byRepo.events.map(tagOf), ['v0', 'v1', 'v2']);
    // A glob with `{a,b}` is one value: repeat the parameter for several.
    const alts = await feed('/api/v2.0/events?event_types=PUSH_ARTIFACT&repo_filters=p1/app&tag_filters=v{3,21}&tag_filters=v2&limit=100');
    assert.deepEqual(alts.events.map(tagOf), ['v2', 'v3', 'v21']);
    const p2 = await feed('/api/v2.0/events?project=p2&event_types=PUSH_ARTIFACT,CREATE_TAG&limit=100');
    assert.ok(p2.events.length >= 2);
    assert.ok(p2.events.every((e) => repoOf(e) === 'p2/secret'));
    assert.deepEqual([...new Set(p2.events.map((e) => e.type))].sort(), ['harbor.artifact.pushed', 'wharf.tag.created'].filter((t) => p2.events.some((e) => e.type === t)));
    const id = (await call('/api/v2.0/projects/p2', adminAuth, { 'x-is-resource-name': 'true' })).json as { project_id: number };
    const byId = await feed(`/api/v2.0/events?project=${id.project_id}&event_types=PUSH_ARTIFACT&limit=100`);
    assert.equal(byId.events.length, 2);
    const bad = await call('/api/v2.0/events?event_types=NOT_A_TYPE');
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /unsupported event type NOT_A_TYPE/);
    assert.equal((await call(`/api/v2.0/events?repo_filters=${'a'.repeat(300)}`)).status, 400);
    assert.equal((await call('/api/v2.0/events?wait=61')).status, 400);
    assert.equal((await call('/api/v2.0/events?limit=501')).status, 400);
    assert.equal((await call('/api/v2.0/events?cursor=abc')).status, 400);
    const ahead = await call('/api/v2.0/events?cursor=999999999');
    assert.equal(ahead.status, 400);
    assert.match(ahead.text, /ahead/);
  });

  it('shows a caller only the projects where it may read webhook policies', async () => {
    assert.equal((await call('/api/v2.0/events', null)).status, 401);
    const p1 = (await call('/api/v2.0/projects/p1', adminAuth, { 'x-is-resource-name': 'true' })).json as { project_id: number };
    const mine = await feed('/api/v2.0/events?limit=500', maintainer);
    assert.ok(mine.events.length > 25);
    assert.deepEqual([...new Set(mine.events.map((e) => e.source))], [`/projects/${p1.project_id}/events`], 'only p1');
    assert.ok(!mine.events.some((e) => repoOf(e) === 'p2/secret'));
    // A developer may not read p1's webhook policies: nothing to see, and a 403 for p1 by name.
    const dev = await feed('/api/v2.0/events?limit=500', developer);
    assert.deepEqual(dev.events, []);
    assert.equal((await call('/api/v2.0/events?project=p1', developer)).status, 403);
    assert.equal((await call('/api/v2.0/events?project=p2', maintainer)).status, 403);
    assert.equal((await call('/api/v2.0/events?project=nope', maintainer)).status, 404);
    assert.equal((await call('/api/v2.0/events?project=nope', null)).status, 401);
    // A registry bearer token grants repository actions only (docs/auth.md): 403, even the admin's.
    const tok = await fetch(`${w.url}/service/token?service=wharf&scope=repository:p1/app:pull`, { headers: { authorization: adminAuth } });
    const token = ((await tok.json()) as { token: string }).token;
    const bearer = await call('/api/v2.0/events', `Bearer ${token}`);
    assert.equal(bearer.status, 403, bearer.text);
  });

  it('keeps operational events for system admins', async () => {
    const outbox = new Outbox();
    await outbox.append(w.wharf.db.kysely, { type: 'WEBHOOK_TARGET_DISABLED', operator: '', project: null, policyId: 1, targetId: 1, address: 'http://127.0.0.1:9', reason: 'test' });
    const admin = await feed('/api/v2.0/events?event_types=WEBHOOK_TARGET_DISABLED&limit=10');
    assert.equal(admin.events.length, 1);
    assert.equal(admin.events[0]?.type, 'wharf.webhook.target.disabled');
    assert.equal(admin.events[0]?.source, '/system/events');
    const maint = await feed('/api/v2.0/events?event_types=WEBHOOK_TARGET_DISABLED&limit=10', maintainer);
    assert.deepEqual(maint.events, []);
  });

  it('named consumers: the stored position moves only when the client asks with a cursor', async () => {
    const q = 'consumer=ci-bot&event_types=PUSH_ARTIFACT&repo_filters=p1/tools&limit=2';
    const first = await feed(`/api/v2.0/events?${q}`, maintainer);
    assert.deepEqual(first.events.map(tagOf), ['v0', 'v1']);
    // Not acknowledged: asking again (a client that crashed before handling them) gets them again.
    const again = await feed('/api/v2.0/events?consumer=ci-bot&limit=2', maintainer);
    assert.deepEqual(again.events.map(tagOf), ['v0', 'v1'], 'stored filters apply when a request names none');
    const next = await feed(`/api/v2.0/events?consumer=ci-bot&cursor=${first.next_cursor}`, maintainer);
    assert.deepEqual(next.events.map(tagOf), ['v2']);
    const resumed = await feed('/api/v2.0/events?consumer=ci-bot', maintainer);
    assert.deepEqual(resumed.events.map(tagOf), ['v2'], 'the acknowledged position was stored');
    // limit=0 acknowledges without reading.
    const ack = await feed(`/api/v2.0/events?consumer=ci-bot&cursor=${next.next_cursor}&limit=0`, maintainer);
    assert.deepEqual(ack.events, []);
    assert.equal(ack.next_cursor, next.next_cursor);
    assert.deepEqual((await feed('/api/v2.0/events?consumer=ci-bot', maintainer)).events, []);
    // Consumers are per caller: the admin's ci-bot is another one, starting at the beginning.
    const adminBot = await feed('/api/v2.0/events?consumer=ci-bot&event_types=PUSH_ARTIFACT&limit=1');
    assert.deepEqual(adminBot.events.map(tagOf), ['v0']);
    assert.equal((await call('/api/v2.0/events?consumer=bad%20name')).status, 400);
  });

  it('GET /events/consumers lists the caller’s consumers; DELETE forgets one, which then starts over', async () => {
    const list = async (auth: string) => {
      const a = await call('/api/v2.0/events/consumers', auth);
      assert.equal(a.status, 200, explain('GET', '/api/v2.0/events/consumers', a));
      return a.json as Array<{ name: string; cursor: string; filters: Record<string, unknown>; creation_time: string; update_time: string }>;
    };
    const first = await feed('/api/v2.0/events?consumer=lister&event_types=PUSH_ARTIFACT&repo_filters=p1/tools&project=p1&limit=1', maintainer);
    await feed(`/api/v2.0/events?consumer=lister&cursor=${first.next_cursor}&limit=0`, maintainer);
    const mine = await list(maintainer);
    const lister = mine.find((c) => c.name === 'lister');
    assert.ok(lister, JSON.stringify(mine));
    assert.equal(lister.cursor, first.next_cursor);
    const p1 = (await api(w.url, 'GET', '/api/v2.0/projects/p1', { auth: adminAuth })).json as { project_id: number };
    assert.deepEqual(lister.filters, { event_types: ['PUSH_ARTIFACT'], repo_filters: ['p1/tools'], project_id: p1.project_id });
    assert.ok(Date.parse(lister.creation_time) <= Date.parse(lister.update_time));
    assert.deepEqual(mine.map((c) => c.name), [...mine.map((c) => c.name)].sort(), 'by name');
    assert.ok(!(await list(developer)).some((c) => c.name === 'lister'), 'another account does not see it');
    // Only the caller's own consumer is deleted: another account's DELETE of the same name is a 404.
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/events/consumers/lister', { auth: developer })).status, 404);
    const del = await api(w.url, 'DELETE', '/api/v2.0/events/consumers/lister', { auth: maintainer });
    assert.equal(del.status, 200, explain('DELETE', '/api/v2.0/events/consumers/lister', del));
    assert.ok(!(await list(maintainer)).some((c) => c.name === 'lister'));
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/events/consumers/lister', { auth: maintainer })).status, 404);
    assert.equal((await api(w.url, 'DELETE', '/api/v2.0/events/consumers/bad%20name', { auth: maintainer })).status, 400);
    assert.equal((await call('/api/v2.0/events/consumers', null)).status, 401);
    // The name is free again: a new consumer under it starts before the first event, with only its own filters.
    await feed('/api/v2.0/events?consumer=lister&event_types=PUSH_ARTIFACT&limit=0', maintainer);
    const again = (await list(maintainer)).find((c) => c.name === 'lister');
    assert.deepEqual([again?.cursor, again?.filters], ['0', { event_types: ['PUSH_ARTIFACT'] }]);
  });

  it('a long-poll answers as soon as a push commits', async () => {
    const now = await feed('/api/v2.0/events?cursor=latest&limit=0');
    const waiting = feed(`/api/v2.0/events?cursor=${now.next_cursor}&wait=30&event_types=PUSH_ARTIFACT`, maintainer);
    // Give the request time to start waiting; the answer can only hold the push below.
    await new Promise((r) => setTimeout(r, 300));
    await pushSmallImage(w.url, 'p1/late', smallImage('late'), { tag: 'now', auth: adminAuth });
    const got = await waiting;
    assert.deepEqual(got.events.map((e) => `${repoOf(e)}:${tagOf(e)}`), ['p1/late:now']);
    assert.ok(Number(got.next_cursor) > Number(now.next_cursor));
    // Nothing new: a short long-poll ends empty at its deadline, keeping the cursor.
    const idle = await feed(`/api/v2.0/events?cursor=${got.next_cursor}&wait=1&event_types=PUSH_ARTIFACT`, maintainer);
    assert.deepEqual(idle.events, []);
  });

  it('GET /events/stream sends events with ids, resumes after Last-Event-ID, and refuses as the long-poll does', async () => {
    assert.equal((await call('/api/v2.0/events/stream', null)).status, 401);
    assert.equal((await call('/api/v2.0/events/stream?project=p2', maintainer, { accept: 'text/event-stream' })).status, 403);
    // Without Accept: text/event-stream, a 400 instead of an endless answer.
    const plain = await call('/api/v2.0/events/stream', maintainer);
    assert.equal(plain.status, 400, plain.text);
    assert.match(plain.text, /Accept: text\/event-stream/);
    const ac = new AbortController();
    const res = await fetch(`${w.url}/api/v2.0/events/stream?event_types=PUSH_ARTIFACT&repo_filters=p1/stream`, { headers: { accept: 'text/event-stream', authorization: maintainer }, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body?.getReader();
    assert.ok(reader);
    let text = '';
    const until = async (re: RegExp) => {
      const dec = new TextDecoder();
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${re}: ${text}`);
        text += dec.decode(value, { stream: true });
      }
    };
    await until(/^retry: \d+\n/);
    await pushSmallImage(w.url, 'p1/stream', smallImage('s1'), { tag: 's1', auth: adminAuth });
    await pushSmallImage(w.url, 'p1/stream', smallImage('s2'), { tag: 's2', auth: adminAuth });
    await until(/"tag":"s2"/);
    ac.abort();
    const frames = [...text.matchAll(/id: (\d+)\ndata: (.+)\n\n/g)].map((m) => ({ id: m[1] ?? '', event: JSON.parse(m[2] ?? '') as CloudEvent }));
    assert.deepEqual(frames.map((f) => tagOf(f.event)), ['s1', 's2']);
    // Reconnecting with Last-Event-ID = the first event's id sends the second one again, first.
    const ac2 = new AbortController();
    const res2 = await fetch(`${w.url}/api/v2.0/events/stream?event_types=PUSH_ARTIFACT&repo_filters=p1/stream`, { headers: { accept: 'text/event-stream', authorization: maintainer, 'last-event-id': frames[0]?.id ?? '' }, signal: ac2.signal });
    const r2 = res2.body?.getReader();
    assert.ok(r2);
    let t2 = '';
    const dec2 = new TextDecoder();
    while (!/data: .+\n\n/.test(t2)) {
      const { value, done } = await r2.read();
      if (done) break;
      t2 += dec2.decode(value, { stream: true });
    }
    ac2.abort();
    assert.match(t2, new RegExp(`id: ${frames[1]?.id}\\ndata: .*"tag":"s2"`));
  });
});

describe('the feed service', () => {
  const logger = pino({ level: 'silent' });
  const ctx = { actor: systemActor as Actor };

  it('reads through tiny windows and answers in pages with no event lost', async () => {
    const svc = new EventFeed({ db: w.wharf.db.kysely, authorizer: new Authorizer(), config: w.wharf.config, outbox: new Outbox(), logger, windowSize: 2 });
    try {
      const tags: string[] = [];
      let cursor = '0';
      for (let i = 0; i < 400; i++) {
        const page = await svc.read(ctx, parseFeedQuery({ cursor, event_types: 'PUSH_ARTIFACT', repo_filters: 'p1/app', limit: '3' }, { isName: false }));
        for (const e of page.events) tags.push(tagOf(JSON.parse(e) as CloudEvent) ?? '');
        if (page.nextCursor === cursor) break;
        cursor = page.nextCursor;
      }
      assert.deepEqual(tags, Array.from({ length: 25 }, (_, i) => `v${i}`));
    } finally {
      svc.close();
    }
  });

  it('wakes a waiting long-poll when an event commits, with no poll (on PostgreSQL: a commit of another instance)', { timeout: 10_000 }, async () => {
    // This feed's outbox is not the server's: on PostgreSQL the server's push reaches it only as
    // main.ts wires instances together (wharf_outbox notifications); on SQLite its own append
    // signals it. The poll is an hour and the wait 60 s: without the wake-up the test's timeout fails it.
    const outbox = new Outbox();
    const notifications = w.wharf.db.notifications;
    const off = notifications?.on('wharf_outbox', () => outbox.signal.emit('appended'));
    const svc = new EventFeed({ db: w.wharf.db.kysely, authorizer: new Authorizer(), config: w.wharf.config, outbox, logger, pollMs: 3_600_000 });
    try {
      const now = await svc.read(ctx, parseFeedQuery({ cursor: 'latest', limit: '0' }, { isName: false }));
      const waiting = svc.read(ctx, parseFeedQuery({ cursor: now.nextCursor, wait: '60', event_types: 'PUSH_ARTIFACT,WEBHOOK_TARGET_DISABLED' }, { isName: false }));
      await new Promise((r) => setTimeout(r, 200));
      if (notifications) await pushSmallImage(w.url, 'p1/woken', smallImage('woken'), { tag: 'w', auth: adminAuth });
      else await outbox.append(w.wharf.db.kysely, { type: 'WEBHOOK_TARGET_DISABLED', operator: '', project: null, policyId: 2, targetId: 2, address: 'http://127.0.0.1:9', reason: 'wake' });
      const page = await waiting;
      assert.equal(page.events.length, 1, 'woken by the commit');
      assert.match(page.events[0] ?? '', notifications ? /"tag":"w"/ : /"reason":"wake"/);
    } finally {
      off?.();
      svc.close();
    }
  });

  it('bounds the clients waiting at once (429 beyond) and ends waits when closed', async () => {
    const svc = new EventFeed({ db: w.wharf.db.kysely, authorizer: new Authorizer(), config: w.wharf.config, outbox: new Outbox(), logger, maxClients: 1 });
    const q = parseFeedQuery({ cursor: 'latest', wait: '30' }, { isName: false });
    const first = svc.read(ctx, q);
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(svc.read(ctx, q), (err: Error & { code?: string }) => err.code === 'TOOMANYREQUESTS');
    svc.close();
    const page = await first;
    assert.deepEqual(page.events, []);
  });
});
