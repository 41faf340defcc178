import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discordColours, discordLimits, formatDiscord } from './discord.ts';
import type { WharfEvent } from '../../events/index.ts';
import { ctxFor, golden, goldenCases, headersText, pushByTag, deleteArtifact, quotaExceed, samples, targetDisabled } from '../../../test/fixtures/payloads/sample-events.ts';

const ctx = ctxFor('discord', '');

interface Field { name: string; value: string; inline: boolean }
interface Embed { title: string; description?: string; url?: string; color: number; fields: Field[]; timestamp: string; footer: { text: string } }

/** Every Discord limit this format promises, checked on a parsed body. */
function assertWithinLimits(body: string): Embed {
  const msg: { embeds: Embed[]; allowed_mentions: { parse: string[] } } = JSON.parse(body); // throws on invalid JSON
  assert.equal(msg.embeds.length, 1);
  assert.deepEqual(msg.allowed_mentions, { parse: [] });
  const e = msg.embeds[0];
  assert.ok(e);
  assert.ok(e.title.length > 0 && e.title.length <= discordLimits.title);
  assert.ok((e.description?.length ?? 0) <= discordLimits.description);
  assert.ok(e.fields.length <= discordLimits.fields);
  let total = e.title.length + (e.description?.length ?? 0) + e.footer.text.length;
  for (const f of e.fields) {
    assert.ok(f.name.length > 0 && f.name.length <= discordLimits.fieldName);
    assert.ok(f.value.length > 0 && f.value.length <= discordLimits.fieldValue);
    total += f.name.length + f.value.length;
  }
  assert.ok(total <= discordLimits.total, `total ${total}`);
  assert.ok(!Number.isNaN(Date.parse(e.timestamp)));
  if (e.url !== undefined) assert.match(e.url, /^https?:\/\//);
  return e;
}

test('Discord: every golden matches byte for byte (body and headers)', () => {
  const cases = goldenCases['discord'] ?? [];
  assert.ok(cases.length >= 9);
  for (const c of cases) {
    const out = formatDiscord(c.event, c.ctx);
    const g = golden(c);
    assert.equal(out.body, g.body, c.stem);
    assert.equal(headersText(out.headers), g.headers, c.stem);
  }
});

test('Discord: every sample renders one valid embed with title, fields, link, time and its colour', () => {
  for (const [name, ev] of Object.entries(samples)) {
    const out = formatDiscord(ev, ctx);
    assert.deepEqual(out.headers, { 'Content-Type': 'application/json' }, name);
    const e = assertWithinLimits(out.body);
    assert.equal(e.color, discordColours[ev.type]);
  }
  const push = assertWithinLimits(formatDiscord(pushByTag, ctx).body);
  assert.equal(push.url, `https://harbor.example.com/harbor/projects/2/repositories/alpine/artifacts-tab/artifacts/${pushByTag.artifact.digest}`);
  assert.deepEqual(push.fields.map((f) => f.name), ['Repository', 'Tag', 'Project', 'Operator', 'Digest', 'Image']);
  assert.equal(push.timestamp, '2023-04-03T06:04:53.000Z');
  assert.notEqual(discordColours.PUSH_ARTIFACT, discordColours.DELETE_ARTIFACT);
  assert.equal(assertWithinLimits(formatDiscord(deleteArtifact, ctx).body).url, undefined);
});

test('Discord: a huge tag list, long names and a huge detail stay within every limit, total included', () => {
  const tags = Array.from({ length: 5000 }, (_, i) => `v${i}.0.0-${'y'.repeat(50)}`);
  const e: WharfEvent = {
    ...quotaExceed,
    operator: 'o'.repeat(3000),
    repository: { id: 1, name: `harbor/${'n'.repeat(250)}/${'m'.repeat(250)}`, creationTime: null },
    artifact: { ...pushByTag.artifact, tag: 't'.repeat(128), tags },
    details: 'd'.repeat(10_000),
  };
  const embed = assertWithinLimits(formatDiscord(e, ctx).body);
  assert.ok(embed.title.endsWith('…'));
  assert.ok(embed.fields.some((f) => f.name === 'All tags' && f.value.endsWith('…')));
});

test('Discord: mentions are disabled and the disabled target’s secret URL stays out', () => {
  const e: WharfEvent = { ...pushByTag, operator: '@everyone' };
  assert.deepEqual(JSON.parse(formatDiscord(e, ctx).body).allowed_mentions, { parse: [] });
  const body = formatDiscord(targetDisabled, ctx).body;
  assert.ok(!body.includes('SECRET'));
  assert.ok(body.includes('https://hooks.slack.com'));
});
