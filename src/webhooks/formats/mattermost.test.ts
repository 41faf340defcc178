import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMattermost, mattermostLimits, noMentions } from './mattermost.ts';
import type { WharfEvent } from '../../events/index.ts';
import { ctxFor, golden, goldenCases, headersText, deleteArtifact, pushByTag, quotaExceed, samples, scanCompletedIndexChild, targetDisabled } from '../../../test/fixtures/payloads/sample-events.ts';

const ctx = ctxFor('mattermost', '');

interface Attachment { fallback: string; color: string; title: string; title_link?: string; text?: string; fields: Array<{ title: string; value: string; short: boolean }>; footer: string }

/** Mattermost's requirements (attachments with a fallback) and its post limit, on the body text. */
function attachment(body: string): Attachment {
  assert.ok([...body].length <= mattermostLimits.postText, `body ${body.length} characters`);
  const msg: { text?: string; attachments: Attachment[] } = JSON.parse(body);
  assert.equal(msg.attachments.length, 1);
  const a = msg.attachments[0];
  assert.ok(a);
  assert.ok(a.fallback.length > 0, 'fallback is required');
  assert.match(a.color, /^#[0-9a-f]{6}$/);
  for (const f of a.fields) assert.ok(f.title.length > 0 && f.value.length > 0);
  return a;
}

test('Mattermost: every golden matches byte for byte (body and headers)', () => {
  for (const key of ['mattermost']) {
    const cases = goldenCases[key] ?? [];
    assert.ok(cases.length >= 9, key);
    for (const c of cases) {
      const out = formatMattermost(c.event, c.ctx);
      const g = golden(c);
      assert.equal(out.body, g.body, c.stem);
      assert.equal(headersText(out.headers), g.headers, c.stem);
    }
  }
});

test('Mattermost: every sample renders one attachment with a fallback, as application/json', () => {
  for (const [name, e] of Object.entries(samples)) {
    const out = formatMattermost(e, ctx);
    assert.deepEqual(out.headers, { 'Content-Type': 'application/json' }, name);
    attachment(out.body);
  }
});

test('Mattermost: a push carries title and link, short facts side by side, identifiers as code, time and event id', () => {
  const a = attachment(formatMattermost(pushByTag, ctx).body);
  assert.equal(a.title, 'Artifact pushed: library/alpine:3.18');
  assert.equal(a.fallback, a.title);
  assert.equal(a.color, '#2ecc71');
  assert.equal(a.title_link, `https://harbor.example.com/harbor/projects/2/repositories/alpine/artifacts-tab/artifacts/${pushByTag.artifact.digest}`);
  assert.deepEqual(a.fields.map((f) => `${f.title}${f.short ? '' : ' (long)'}`), ['Repository', 'Tag', 'Project', 'Operator', 'Digest (long)', 'Image (long)']);
  assert.equal(a.fields.find((f) => f.title === 'Digest')?.value, `\`${pushByTag.artifact.digest}\``);
  assert.equal(a.footer, `Wharf · 2023-04-03T06:04:53Z · PUSH_ARTIFACT · event ${pushByTag.id}`);
  assert.equal(attachment(formatMattermost(deleteArtifact, ctx).body).title_link, undefined);
});

test('Mattermost: scan counts in the text and fields; a scan with Critical findings is dark red', () => {
  const a = attachment(formatMattermost(scanCompletedIndexChild, ctx).body);
  assert.equal(a.text, 'Critical 2 · High 0 · Medium 5 · Low 3 · Unknown 1 (11 total, 9 fixable)');
  assert.equal(a.fields.find((f) => f.title === 'Medium')?.value, '5');
  assert.equal(a.color, '#992d22');
});

test('Mattermost: @channel in a detail or name notifies nobody', () => {
  assert.equal(noMentions('ping @channel and @all'), 'ping @\u200bchannel and @\u200ball');
  const e: WharfEvent = { ...quotaExceed, details: 'quota of @channel exceeded', repository: { id: 1, name: 'library/@here', creationTime: null } };
  const a = attachment(formatMattermost(e, ctx).body);
  assert.ok(!/@(channel|here|all)/.test(`${a.text} ${a.fallback}`), `${a.text} ${a.fallback}`);
});

test('Mattermost: huge names, tag lists and details stay within the post limit', () => {
  const tags = Array.from({ length: 5000 }, (_, i) => `v${i}.0.0-${'y'.repeat(50)}`);
  const e: WharfEvent = {
    ...quotaExceed,
    operator: 'o'.repeat(30_000),
    repository: { id: 1, name: `harbor/${'n'.repeat(20_000)}`, creationTime: null },
    artifact: { ...pushByTag.artifact, tag: 't'.repeat(128), tags },
    details: 'd'.repeat(50_000),
  };
  const a = attachment(formatMattermost(e, ctx).body);
  assert.ok(a.title.endsWith('…'));
  assert.ok(a.fields.some((f) => f.title === 'All tags' && f.value.endsWith('…')));
});

test('Mattermost: the disabled target’s secret URL stays out', () => {
  const body = formatMattermost(targetDisabled, ctx).body;
  assert.ok(!body.includes('SECRET'));
  assert.ok(body.includes('https://hooks.slack.com'));
});
