import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatterFor,
  formatDefault,
  formatCloudEvents,
  formatDistribution,
  formatMsr,
  formatSlack,
  formatDiscord,
  formatTeams,
  formatMattermost,
  formatGoogleChat,
  httpPayloadFormats,
  isPayloadFormatFor,
  notifyTypes,
  payloadFormats,
  render,
  supports,
  vendorTypeFor,
} from './index.ts';
import { isDomainError } from '../../domain/index.ts';
import { eventTypes, systemEventTypes } from '../../events/index.ts';
import { ctxFor, samples } from '../../../test/fixtures/payloads/sample-events.ts';

test('formats: formatterFor picks the formatter per notify type and payload format ("" is Default)', () => {
  assert.equal(formatterFor('http', ''), formatDefault);
  assert.equal(formatterFor('http', 'Default'), formatDefault);
  assert.equal(formatterFor('http', 'CloudEvents'), formatCloudEvents);
  assert.equal(formatterFor('http', 'Distribution'), formatDistribution);
  assert.equal(formatterFor('http', 'MSR'), formatMsr);
  assert.equal(formatterFor('slack', ''), formatSlack);
  assert.equal(formatterFor('discord', ''), formatDiscord);
  assert.equal(formatterFor('teams', ''), formatTeams);
  assert.equal(formatterFor('teams', 'MessageCard'), formatTeams);
  assert.equal(formatterFor('mattermost', ''), formatMattermost);
  assert.equal(formatterFor('googlechat', ''), formatGoogleChat);
  for (const [t, f] of [['http', 'default'], ['http', 'Custom'], ['teams', 'Default'], ['email', ''], ['', '']]) {
    assert.throws(() => formatterFor(t ?? '', f ?? ''), (err: unknown) => isDomainError(err, 'BAD_REQUEST'), `${t}/${f}`);
  }
});

test('formats: GET /webhook/events lists the http formats, as Harbor does, and Teams’ two; the other types take none', () => {
  assert.deepEqual(notifyTypes, ['http', 'slack', 'discord', 'teams', 'mattermost', 'googlechat']);
  assert.deepEqual(JSON.parse(JSON.stringify(payloadFormats)), [{ notify_type: 'http', formats: [...httpPayloadFormats] }, { notify_type: 'teams', formats: ['AdaptiveCard', 'MessageCard'] }]);
  assert.ok(isPayloadFormatFor('http', ''));
  assert.ok(isPayloadFormatFor('http', 'MSR'));
  assert.ok(!isPayloadFormatFor('http', 'Slack'));
  assert.ok(isPayloadFormatFor('slack', ''));
  assert.ok(!isPayloadFormatFor('slack', 'Default'));
  assert.ok(!isPayloadFormatFor('discord', 'CloudEvents'));
  assert.ok(isPayloadFormatFor('teams', ''));
  assert.ok(isPayloadFormatFor('teams', 'AdaptiveCard'));
  assert.ok(isPayloadFormatFor('teams', 'MessageCard'));
  assert.ok(!isPayloadFormatFor('teams', 'Default'));
  assert.ok(!isPayloadFormatFor('googlechat', 'AdaptiveCard'));
});

test('formats: vendorTypeFor names the execution vendor type', () => {
  assert.equal(vendorTypeFor('http'), 'WEBHOOK');
  assert.equal(vendorTypeFor('slack'), 'SLACK');
  assert.equal(vendorTypeFor('discord'), 'DISCORD');
  assert.equal(vendorTypeFor('teams'), 'TEAMS');
  assert.equal(vendorTypeFor('mattermost'), 'MATTERMOST');
  assert.equal(vendorTypeFor('googlechat'), 'GOOGLECHAT');
  assert.throws(() => vendorTypeFor('email'), (err: unknown) => isDomainError(err, 'BAD_REQUEST'));
});

test('formats: supports() is true exactly when the formatter renders the event (every format × every sample)', () => {
  const targets: Array<[string, string]> = [...httpPayloadFormats.map((f): [string, string] => ['http', f]), ['slack', ''], ['discord', ''], ['teams', 'AdaptiveCard'], ['teams', 'MessageCard'], ['mattermost', ''], ['googlechat', '']];
  const covered = new Set<string>();
  for (const [type, format] of targets) {
    for (const [name, event] of Object.entries(samples)) {
      covered.add(event.type);
      // A Template target renders its own template: here the Default payload as JSON.
      const ctx = ctxFor(type, format, format === 'Template' ? { template: '{{ payload | json }}' } : {});
      if (supports(type, format, event.type)) {
        const out = render(event, ctx);
        assert.doesNotThrow(() => JSON.parse(out.body), `${type}/${format}/${name}`);
        assert.ok(Object.keys(out.headers).some((h) => h.toLowerCase() === 'content-type'), `${type}/${format}/${name}`);
      } else {
        assert.throws(() => render(event, ctx), (err: unknown) => isDomainError(err, 'UNSUPPORTED'), `${type}/${format}/${name}`);
      }
    }
  }
  // The samples cover every event type of the catalog.
  assert.deepEqual([...covered].sort(), [...eventTypes, ...systemEventTypes].sort());
  assert.equal(supports('http', 'Nope', 'PUSH_ARTIFACT'), false);
  assert.equal(supports('http', 'Default', 'WEBHOOK_TARGET_DISABLED'), true);
});
