import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../../domain/index.ts';
import { formatterFor, httpPayloadFormats, notifyTypes, supports, teamsPayloadFormats } from '../formats/index.ts';
import { parseRelayPayload } from './detect.ts';
import { distributionEnvelope, dockerHubPush, harborCloudEvent, harborDefault } from '../../../test/fixtures/relay/samples.ts';

const ctx = { project: { id: 3, name: 'relayed', public: false }, relayName: 'r', now: 1_700_000_000_000 };

test('relay/detect: each source is recognised by its shape', () => {
  const src = (body: unknown, headers: Record<string, string> = {}) => parseRelayPayload({ body, headers }, ctx).source;
  assert.equal(src(harborDefault.push), 'harbor');
  assert.equal(src(harborCloudEvent), 'harbor-cloudevents');
  assert.equal(src(harborDefault.push.event_data, { 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/x', 'ce-type': 'harbor.artifact.pushed' }), 'harbor-cloudevents');
  assert.equal(src(distributionEnvelope, { 'content-type': 'application/vnd.docker.distribution.events.v1+json' }), 'distribution');
  assert.equal(src(dockerHubPush), 'dockerhub');
});

test('relay/detect: what no parser reads is a BAD_REQUEST that says what the relay reads', () => {
  const bad = (body: unknown, re: RegExp) => assert.throws(() => parseRelayPayload({ body, headers: {} }, ctx), (e: unknown) => isDomainError(e, 'BAD_REQUEST') && re.test(e.message));
  bad(undefined, /body is empty/);
  bad([1, 2], /must be a JSON object/);
  bad({ hello: 'world' }, /unrecognised payload: expected Harbor's Default payload/);
});

test('relay/detect: every format renders every relayed event (ids and sizes unknown) without throwing', () => {
  const bodies: unknown[] = [...Object.values(harborDefault), harborCloudEvent, distributionEnvelope, dockerHubPush];
  const events = bodies.flatMap((body) => parseRelayPayload({ body, headers: {} }, ctx).events.map((e) => ({ ...e.event, id: 'e-1', occurAt: e.event.occurAt ?? ctx.now })));
  assert.ok(events.length >= 12);
  let rendered = 0;
  for (const type of notifyTypes) {
    const formats: readonly string[] = type === 'http' ? httpPayloadFormats : type === 'teams' ? teamsPayloadFormats : [''];
    for (const format of formats) {
      // A template target renders its own template (tested with its format), not a fixed shape.
      if (format === 'Template') continue;
      for (const event of events) {
        if (!supports(type, format, event.type)) continue;
        const out = formatterFor(type, format)(event, { externalUrl: 'https://wharf.example.com', policy: { id: 1, name: 'p', projectId: 3 }, target: { type, payloadFormat: format, options: {} } });
        assert.ok(out.body.length > 0, `${type}/${format} ${event.type}`);
        rendered++;
      }
    }
  }
  assert.ok(rendered > 50, `rendered ${rendered}`);
});

test('relay/detect: Default and CloudEvents carry the relay extension; chat messages name the source registry', () => {
  const [parsed] = parseRelayPayload({ body: harborDefault.push, headers: {} }, ctx).events;
  assert.ok(parsed);
  const event = { ...parsed.event, id: 'e-2', occurAt: 1680501893000 };
  const fctx = (type: string, payloadFormat: string) => ({ externalUrl: 'https://wharf.example.com', policy: { id: 1, name: 'p', projectId: 3 }, target: { type, payloadFormat, options: {} } });
  const def = JSON.parse(formatterFor('http', 'Default')(event, fctx('http', 'Default')).body) as { event_data: { relay?: unknown } };
  assert.deepEqual(def.event_data.relay, { name: 'r', source: 'harbor', registry_url: 'harbor.example.com' });
  const ce = JSON.parse(formatterFor('http', 'CloudEvents')(event, fctx('http', 'CloudEvents')).body) as { data: { relay?: unknown } };
  assert.deepEqual(ce.data.relay, def.event_data.relay);
  const discord = JSON.parse(formatterFor('discord', '')(event, fctx('discord', '')).body) as { embeds: Array<{ description?: string; url?: string; fields: Array<{ name: string; value: string }> }> };
  const embed = discord.embeds[0];
  assert.ok(embed);
  assert.equal(embed.description, 'Relayed from Harbor harbor.example.com by relay r');
  assert.equal(embed.url, undefined, 'no link into Wharf’s console for an artifact Wharf does not hold');
  assert.equal(embed.fields.find((f) => f.name === 'Image')?.value, '`harbor.example.com/library/alpine:3.18`');
});
