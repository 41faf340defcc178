/** The feed's rendering (./event-feed.ts): the CloudEvents format's structured body, byte for byte, but for `source`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCloudEvents } from './formats/cloudevents.ts';
import { feedSource, renderFeedEvent } from './event-feed.ts';
import { ctxFor, samples } from '../../test/fixtures/payloads/sample-events.ts';

test('every sample renders as the CloudEvents webhook body with the feed source', () => {
  const names = Object.keys(samples);
  assert.ok(names.length >= 10, `${names.length} samples`);
  for (const name of names) {
    const event = samples[name];
    assert.ok(event);
    const projectId = 'project' in event && event.project ? event.project.id : null;
    const ctx = ctxFor('http', 'CloudEvents', {}, { policy: { id: 15, name: 'ci-hook', projectId } });
    const webhook = formatCloudEvents(event, ctx).body;
    const fed = renderFeedEvent(event, projectId, ctx.externalUrl);
    const policySource = projectId === null ? '/system/webhook/policies/15' : `/projects/${projectId}/webhook/policies/15`;
    assert.ok(webhook.includes(`"source":"${policySource}"`), name);
    assert.equal(fed, webhook.replace(`"source":"${policySource}"`, `"source":"${feedSource(projectId)}"`), name);
  }
});

test('the feed source names the project, or the system', () => {
  assert.equal(feedSource(7), '/projects/7/events');
  assert.equal(feedSource(null), '/system/events');
});
