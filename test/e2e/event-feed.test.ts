/**
 * End-to-end: the event feed (docs/event-feed.md) of a `wharf serve` child process. A named
 * consumer reads the PUSH_ARTIFACT CloudEvent of a skopeo push from the long-poll, the server-sent
 * stream delivers a later push, and after kill -9 and a restart on the same data the consumer
 * resumes from its stored (acknowledged) position: the event it saw but never acknowledged comes
 * again, the one pushed just before the crash comes too, nothing is skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { spawnWharf, tempDataDir, adminAuth, type SpawnedWharf } from '../helpers/wharf.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { dropDatabaseOf } from '../helpers/db.ts';

const skip = skipWithoutSkopeo();

// The answers' shapes as docs/event-feed.md documents them (casts of parsed JSON).
interface CloudEvent {
  specversion: string;
  id: string;
  type: string;
  source: string;
  data: { resources: Array<{ tag: string; digest: string; resource_url: string }>; repository: { repo_full_name: string } };
}
interface FeedAnswer {
  events: CloudEvent[];
  next_cursor: string;
}

test('e2e: the event feed resumes a consumer from its cursor after kill -9', { skip, timeout: 120_000 }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-feed-');
  const src = OciLayout.create();
  let server: SpawnedWharf | undefined;
  const streams: AbortController[] = [];
  t.after(async () => {
    for (const s of streams) s.abort();
    if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
    src.remove();
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  });

  const feed = async (s: SpawnedWharf, query: string): Promise<FeedAnswer> => {
    const r = await fetch(`${s.url}/api/v2.0/events?${query}`, { headers: { authorization: adminAuth } });
    const text = await r.text();
    assert.equal(r.status, 200, `GET /events?${query}: ${text}`);
    return JSON.parse(text) as FeedAnswer;
  };
  const push = async (s: SpawnedWharf, tag: string) => {
    await writeSingleLayerImage(src, tag);
    await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref(tag), `docker://${s.host}/library/feed:${tag}`]);
  };
  const tags = (a: FeedAnswer) => a.events.map((e) => e.data.resources[0]?.tag);
  const bot = 'consumer=e2e-bot';

  server = await spawnWharf({ dataDir });
  // The consumer starts at the present, with its filters stored.
  const start = await feed(server, `${bot}&cursor=latest&limit=0&event_types=PUSH_ARTIFACT&repo_filters=library/feed`);

  // 1. A skopeo push, read by a long-poll of the consumer.
  await push(server, 'one');
  const first = await feed(server, `${bot}&wait=30`);
  assert.deepEqual(tags(first), ['one']);
  const ce = first.events[0];
  assert.ok(ce);
  assert.equal(ce.specversion, '1.0');
  assert.equal(ce.type, 'harbor.artifact.pushed');
  assert.equal(ce.data.repository.repo_full_name, 'library/feed');
  assert.equal(ce.data.resources[0]?.resource_url, `${server.host}/library/feed:one`);
  assert.ok(Number(first.next_cursor) > Number(start.next_cursor));
  // Acknowledged: asking with next_cursor stores it.
  assert.deepEqual((await feed(server, `${bot}&cursor=${first.next_cursor}&limit=0`)).events, []);

  // 2. The stream (from the stored position) delivers a later push.
  const ac = new AbortController();
  streams.push(ac);
  const res = await fetch(`${server.url}/api/v2.0/events/stream?${bot}`, { headers: { accept: 'text/event-stream', authorization: adminAuth }, signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body?.getReader();
  assert.ok(reader);
  let text = '';
  const dec = new TextDecoder();
  const until = async (re: RegExp) => {
    while (!re.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${re}:\n${text}`);
      text += dec.decode(value, { stream: true });
    }
  };
  await until(/^retry: /);
  await push(server, 'two');
  await until(/id: \d+\ndata: .*"tag":"two".*\n\n/);
  const frames = [...text.matchAll(/id: (\d+)\ndata: (.+)\n\n/g)].map((m) => ({ id: m[1] ?? '', event: JSON.parse(m[2] ?? '') as CloudEvent }));
  assert.deepEqual(
    frames.map((f) => f.event.data.resources[0]?.tag),
    ['two'],
    'the stream starts after the acknowledged position',
  );
  // The client dies before acknowledging "two"; a push lands; the server is killed.
  ac.abort();
  await push(server, 'three');
  await server.kill9();
  assert.equal(server.proc.signalCode, 'SIGKILL');

  // 3. After the restart the consumer resumes from its stored cursor: "two" again (never
  // acknowledged), then "three"; nothing before, nothing skipped.
  server = await spawnWharf({ dataDir });
  const resumed = await feed(server, `${bot}&wait=10`);
  assert.deepEqual(tags(resumed), ['two', 'three']);
  assert.equal(resumed.events[0]?.id, frames[0]?.event.id, 'the same event (same CloudEvents id) as the stream sent');
  // A stream reconnecting with Last-Event-ID = "two" gets "three" only.
  const ac2 = new AbortController();
  streams.push(ac2);
  const res2 = await fetch(`${server.url}/api/v2.0/events/stream?${bot}`, { headers: { accept: 'text/event-stream', authorization: adminAuth, 'last-event-id': frames[0]?.id ?? '' }, signal: ac2.signal });
  const r2 = res2.body?.getReader();
  assert.ok(r2);
  let t2 = '';
  while (!/data: .+\n\n/.test(t2)) {
    const { value, done } = await r2.read();
    if (done) break;
    t2 += dec.decode(value, { stream: true });
  }
  ac2.abort();
  const again = [...t2.matchAll(/id: (\d+)\ndata: (.+)\n\n/g)].map((m) => (JSON.parse(m[2] ?? '') as CloudEvent).data.resources[0]?.tag);
  assert.deepEqual(again, ['three']);
  // That reconnect acknowledged "two": the consumer now stands before "three".
  assert.deepEqual(tags(await feed(server, bot)), ['three']);
  assert.equal(await server.stop(), 0, `SIGTERM: exit code 0 with streams closed; output:\n${server.output()}`);
});
