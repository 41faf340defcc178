import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudEvent, HTTP } from 'cloudevents';
import { cloudEventTypes, encodeCeHeaderValue, formatCloudEvents, toCloudEvent } from './cloudevents.ts';
import { defaultEventData } from './default.ts';
import { eventTypes, systemEventTypes, type WharfEvent } from '../../events/index.ts';
import {
  ctxFor,
  golden,
  goldenCases,
  headersText,
  pullAnonymous,
  pushByTag,
  samples,
  quotaExceed,
  scanCompleted,
  scanCompletedSbom,
  scanFailed,
  scanStoppedVuln,
} from '../../../test/fixtures/payloads/sample-events.ts';
import { formatDefault } from './default.ts';

const structured = ctxFor('http', 'CloudEvents');
const binary = ctxFor('http', 'CloudEvents', { cloudevents_mode: 'binary' });

test('CloudEvents: every golden matches byte for byte (body and headers)', () => {
  const cases = goldenCases['cloudevents'] ?? [];
  assert.ok(cases.length >= 7);
  for (const c of cases) {
    const out = formatCloudEvents(c.event, c.ctx);
    const g = golden(c);
    assert.equal(out.body, g.body, c.stem);
    assert.equal(headersText(out.headers), g.headers, c.stem);
  }
});

test('CloudEvents: structured mode has Harbor’s attribute order, whole-second time and Content-Type', () => {
  const out = formatCloudEvents(pushByTag, structured);
  assert.deepEqual(out.headers, { 'Content-Type': 'application/cloudevents+json' });
  const body: Record<string, unknown> = JSON.parse(out.body);
  assert.deepEqual(Object.keys(body), ['specversion', 'id', 'source', 'type', 'datacontenttype', 'time', 'data', 'requestid', 'operator']);
  assert.equal(body['time'], '2023-04-03T06:04:53Z');
  assert.equal(body['specversion'], '1.0');
  assert.equal(body['datacontenttype'], 'application/json');
});

for (const [mode, ctx] of [['structured', structured], ['binary', binary]] as const) {
  for (const [name, event] of Object.entries(samples)) {
    test(`CloudEvents ${mode}: ${name} round-trips through HTTP.toEvent with id, type, source and data intact`, () => {
      const out = formatCloudEvents(event, ctx);
      const back = HTTP.toEvent({ headers: out.headers, body: out.body });
      assert.ok(!Array.isArray(back));
      assert.equal(back.id, event.id);
      assert.equal(back.type, cloudEventTypes[event.type]);
      assert.equal(back.source, '/projects/2/webhook/policies/15');
      assert.equal(back.specversion, '1.0');
      assert.equal(new Date(back.time ?? '').getTime(), Math.floor(event.occurAt / 1000) * 1000);
      assert.deepEqual(back.data, JSON.parse(JSON.stringify(defaultEventData(event, ctx))));
      assert.equal(back['operator'], event.operator);
      assert.equal(back['requestid'], event.request?.id ?? '');
      assert.doesNotThrow(() => new CloudEvent(back));
    });
  }
}

test('CloudEvents: binary mode sends data as the body and the attributes as ce-* headers', () => {
  const out = formatCloudEvents(pullAnonymous, binary);
  assert.equal(out.headers['Content-Type'], 'application/json');
  assert.equal(out.headers['ce-id'], pullAnonymous.id);
  assert.equal(out.headers['ce-type'], 'harbor.artifact.pulled');
  assert.equal(out.headers['ce-specversion'], '1.0');
  assert.equal(out.headers['ce-operator'], '');
  assert.deepEqual(JSON.parse(out.body), JSON.parse(JSON.stringify(defaultEventData(pullAnonymous, binary))));
});

test('CloudEvents: the SDK’s own structured serialization decodes to the same event as ours', () => {
  const ours = HTTP.toEvent({ headers: formatCloudEvents(quotaExceed, structured).headers, body: formatCloudEvents(quotaExceed, structured).body });
  const sdk = HTTP.structured(toCloudEvent(quotaExceed, structured));
  const theirs = HTTP.toEvent({ headers: sdk.headers, body: sdk.body });
  assert.ok(!Array.isArray(ours) && !Array.isArray(theirs));
  assert.deepEqual({ ...ours }, { ...theirs });
});

test('CloudEvents: the id is the event id, so every render (retry, redelivery) carries the same one', () => {
  const a = formatCloudEvents(pushByTag, structured);
  const b = formatCloudEvents(pushByTag, structured);
  assert.equal(a.body, b.body);
  assert.equal(JSON.parse(a.body).id, pushByTag.id);
});

test('CloudEvents: a system policy (no project) has the /system source', () => {
  const ctx = ctxFor('http', 'CloudEvents', {}, { policy: { id: 9, name: 'ops', projectId: null } });
  assert.equal(JSON.parse(formatCloudEvents(pushByTag, ctx).body).source, '/system/webhook/policies/9');
});

test('CloudEvents: every event type has a type name; Harbor’s are harbor.*, Wharf’s are wharf.*', () => {
  for (const t of [...eventTypes, ...systemEventTypes]) {
    const name = cloudEventTypes[t];
    assert.match(name, /^(harbor|wharf)\.[a-z_]+(\.[a-z_]+)+$/);
  }
  assert.equal(cloudEventTypes.QUOTA_WARNING, 'harbor.quota.warned');
  assert.equal(cloudEventTypes.REPLICATION, 'harbor.replication.status.changed');
  assert.equal(cloudEventTypes.TAG_RETENTION, 'harbor.tag_retention.finished');
  assert.equal(cloudEventTypes.CREATE_TAG, 'wharf.tag.created');
});

test('CloudEvents: binary header values are percent-encoded where the HTTP binding requires', () => {
  assert.equal(encodeCeHeaderValue('robot$library+ci'), 'robot$library+ci');
  assert.equal(encodeCeHeaderValue('Zoë "x" 100%\n'), 'Zo%C3%AB%20%22x%22%20100%25%0A');
  const e: WharfEvent = { ...pushByTag, operator: 'Zoë\r\nX-Injected: 1' };
  const out = formatCloudEvents(e, binary);
  assert.equal(out.headers['ce-operator'], 'Zo%C3%AB%0D%0AX-Injected:%201');
  for (const v of Object.values(out.headers)) assert.match(v, /^[\x20-\x7e]*$/);
});

test('CloudEvents: an event without an id is refused rather than given a random one', () => {
  const e: WharfEvent = { ...pushByTag, id: '' };
  assert.throws(() => formatCloudEvents(e, structured), (err: unknown) => err instanceof Error && /without an id/.test(err.message));
});

test('CloudEvents: scan events are harbor.scan.* and their data is the Default event_data byte for byte', () => {
  const expected: Array<[WharfEvent, string]> = [
    [scanCompleted, 'harbor.scan.completed'],
    [scanCompletedSbom, 'harbor.scan.completed'],
    [scanFailed, 'harbor.scan.failed'],
    [scanStoppedVuln, 'harbor.scan.stopped'],
  ];
  for (const [e, type] of expected) {
    const body = formatCloudEvents(e, structured).body;
    const defaultBody = formatDefault(e, ctxFor('http', 'Default')).body;
    const data = defaultBody.slice(defaultBody.indexOf('"event_data":') + '"event_data":'.length, -1);
    assert.ok(body.includes(`"type":"${type}","datacontenttype":"application/json","time":"`), body);
    assert.ok(body.includes(`"data":${data},"requestid":"","operator":"${e.operator}"}`), body);
  }
  // Harbor §3 with the §2.4 example: whole-second time from occur_at.
  assert.ok(formatCloudEvents(scanCompleted, structured).body.startsWith('{"specversion":"1.0","id":"2d9f7e1a-5c6f-4031-8e4d-1f8a7b6c5d43","source":"/projects/2/webhook/policies/15","type":"harbor.scan.completed","datacontenttype":"application/json","time":"2023-04-03T06:12:55Z","data":{"resources":[{"digest":"sha256:954b'));
});
