import { test } from 'node:test';
import assert from 'node:assert/strict';
import { discordColours, discordLimits, discordSeverityColours, formatDiscord } from './discord.ts';
import type { WharfEvent } from '../../events/index.ts';
import {
  ctxFor,
  golden,
  goldenCases,
  headersText,
  pushByTag,
  deleteArtifact,
  quotaExceed,
  samples,
  scanCompleted,
  scanCompletedIndexChild,
  scanCompletedSbom,
  scanFailed,
  scanStopped,
  targetDisabled,
} from '../../../test/fixtures/payloads/sample-events.ts';

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
    // Completed vulnerability scans with findings are coloured by the worst one (tested below).
    if (ev !== scanCompleted && ev !== scanCompletedIndexChild) assert.equal(e.color, discordColours[ev.type], name);
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

test('Discord: a vulnerability scan shows scan type, status and one inline field per severity, coloured by the worst finding', () => {
  const e = assertWithinLimits(formatDiscord(scanCompletedIndexChild, ctx).body);
  assert.deepEqual(
    e.fields.map((f) => `${f.name}=${f.value}${f.inline ? '' : ' (block)'}`),
    [
      'Repository=library/alpine',
      'Project=library',
      'Operator=ci-bot',
      'Scan type=vulnerability',
      'Status=Success',
      'Critical=2',
      'High=0',
      'Medium=5',
      'Low=3',
      'Unknown=1',
      'Scanner=Wharf 0.1.0',
      'Platform=linux/arm64/v8',
      `Digest=\`${scanCompletedIndexChild.artifact.digest}\` (block)`,
      `Image=\`harbor.example.com/library/alpine@${scanCompletedIndexChild.artifact.digest}\` (block)`,
      `Index=\`${scanCompletedIndexChild.parentDigest ?? ''}\` (block)`,
    ],
  );
  assert.equal(e.description, 'Critical 2 · High 0 · Medium 5 · Low 3 · Unknown 1 (11 total, 9 fixable)');
  assert.equal(e.color, discordSeverityColours.Critical);
  assert.equal(assertWithinLimits(formatDiscord(scanCompleted, ctx).body).color, discordSeverityColours.High);
  const clean = { ...scanCompleted, overview: { m: { scan_status: 'Success', severity: 'None', summary: { total: 0, fixable: 0, summary: {} } } } };
  assert.equal(assertWithinLimits(formatDiscord(clean, ctx).body).color, discordColours.SCANNING_COMPLETED);
});

test('Discord: failures and stops say why; an SBOM names its digest and has no counts', () => {
  const failed = assertWithinLimits(formatDiscord(scanFailed, ctx).body);
  assert.equal(failed.description, 'Vulnerability scan failed: scanner adapter: GET /api/v1/scan/a2573415/report: 500 Internal Server Error: database is locked');
  assert.equal(failed.color, discordColours.SCANNING_FAILED);
  assert.deepEqual(failed.fields.filter((f) => ['Status', 'Critical'].includes(f.name)).map((f) => f.value), ['Error']);
  assert.equal(assertWithinLimits(formatDiscord(scanStopped, ctx).body).description, 'SBOM generation stopped');
  const sbom = assertWithinLimits(formatDiscord(scanCompletedSbom, ctx).body);
  assert.equal(sbom.description, 'SBOM generated: sha256:aaaa3f1b9c2d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7');
  assert.ok(!sbom.fields.some((f) => f.name === 'Critical'));
});
