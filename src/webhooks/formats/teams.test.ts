import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adaptiveCardVersion, formatTeams, teamsLimits, teamsPayloadFormats } from './teams.ts';
import type { WharfEvent } from '../../events/index.ts';
import { ctxFor, golden, goldenCases, headersText, deleteArtifact, pushByTag, quotaExceed, samples, scanCompletedIndexChild, scanFailed, targetDisabled } from '../../../test/fixtures/payloads/sample-events.ts';

const adaptive = ctxFor('teams', 'AdaptiveCard');
const connector = ctxFor('teams', 'MessageCard');

interface Element { type: string; text?: string; color?: string; facts?: Array<{ title: string; value: string }> }
interface Card { $schema: string; type: string; version: string; body: Element[]; actions?: Array<{ type: string; title: string; url: string }> }

/** The Workflows shape and Teams' size limit, checked on the body text. */
function workflowCard(body: string): Card {
  assert.ok(Buffer.byteLength(body) <= teamsLimits.bodyBytes, `body ${Buffer.byteLength(body)} bytes`);
  const msg = JSON.parse(body);
  assert.equal(msg.type, 'message');
  assert.equal(msg.attachments.length, 1);
  const a = msg.attachments[0];
  assert.equal(a.contentType, 'application/vnd.microsoft.card.adaptive');
  assert.equal(a.contentUrl, null);
  const card: Card = a.content;
  assert.equal(card.type, 'AdaptiveCard');
  assert.equal(card.version, adaptiveCardVersion);
  assert.equal(card.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json');
  assert.ok(card.body.length >= 3);
  for (const el of card.body) {
    assert.ok(el.type === 'TextBlock' || el.type === 'FactSet', el.type);
    if (el.type === 'TextBlock') assert.ok((el.text ?? '').length > 0);
    for (const f of el.facts ?? []) assert.ok(f.title.length > 0 && f.value.length > 0);
  }
  return card;
}

interface MessageCard { '@type': string; '@context': string; summary: string; title: string; themeColor: string; sections: Array<{ activityTitle: string; text?: string; facts: Array<{ name: string; value: string }> }>; potentialAction?: Array<{ '@type': string; targets: Array<{ os: string; uri: string }> }> }

function messageCard(body: string): MessageCard {
  assert.ok(Buffer.byteLength(body) <= teamsLimits.bodyBytes, `body ${Buffer.byteLength(body)} bytes`);
  const c: MessageCard = JSON.parse(body);
  assert.equal(c['@type'], 'MessageCard');
  assert.equal(c['@context'], 'http://schema.org/extensions');
  assert.ok(c.summary.length > 0, 'the connector rejects a card without summary or text');
  assert.match(c.themeColor, /^[0-9A-F]{6}$/);
  assert.equal(c.sections.length, 1);
  return c;
}

test('Teams: every golden matches byte for byte (body and headers)', () => {
  for (const key of ['teams', 'teams-messagecard']) {
    const cases = goldenCases[key] ?? [];
    assert.ok(cases.length >= 9, key);
    for (const c of cases) {
      const out = formatTeams(c.event, c.ctx);
      const g = golden(c);
      assert.equal(out.body, g.body, c.stem);
      assert.equal(headersText(out.headers), g.headers, c.stem);
    }
  }
});

test('Teams: the formats are AdaptiveCard (the default) and MessageCard', () => {
  assert.deepEqual(teamsPayloadFormats, ['AdaptiveCard', 'MessageCard']);
  assert.equal(formatTeams(pushByTag, ctxFor('teams', '')).body, formatTeams(pushByTag, adaptive).body);
});

test('Teams: every sample renders a Workflows Adaptive Card and a MessageCard, as application/json', () => {
  for (const [name, e] of Object.entries(samples)) {
    const a = formatTeams(e, adaptive);
    assert.deepEqual(a.headers, { 'Content-Type': 'application/json' }, name);
    workflowCard(a.body);
    messageCard(formatTeams(e, connector).body);
  }
});

test('Teams: a push carries title, facts, time, event id and the artifact link', () => {
  const card = workflowCard(formatTeams(pushByTag, adaptive).body);
  assert.equal(card.body[0]?.text, 'Artifact pushed: library/alpine:3.18');
  assert.equal(card.body[0]?.color, 'good');
  const facts = card.body.find((el) => el.type === 'FactSet')?.facts ?? [];
  assert.deepEqual(facts.map((f) => f.title), ['Repository', 'Tag', 'Project', 'Operator', 'Digest', 'Image']);
  assert.equal(facts.find((f) => f.title === 'Image')?.value, `harbor.example.com/library/alpine:3.18`);
  const last = card.body[card.body.length - 1]?.text ?? '';
  assert.ok(last.includes('{{DATE(2023-04-03T06:04:53Z, SHORT)}}') && last.includes(pushByTag.id), last);
  assert.deepEqual(card.actions, [{ type: 'Action.OpenUrl', title: 'Open in Wharf', url: `https://harbor.example.com/harbor/projects/2/repositories/alpine/artifacts-tab/artifacts/${pushByTag.artifact.digest}` }]);
  assert.equal(workflowCard(formatTeams(deleteArtifact, adaptive).body).actions, undefined, 'a deleted artifact has no page');

  const mc = messageCard(formatTeams(pushByTag, connector).body);
  assert.equal(mc.title, 'Artifact pushed: library/alpine:3.18');
  assert.equal(mc.themeColor, '2ECC71');
  assert.deepEqual(mc.sections[0]?.facts.map((f) => f.name), ['Repository', 'Tag', 'Project', 'Operator', 'Digest', 'Image']);
  assert.equal(mc.potentialAction?.[0]?.targets[0]?.uri, card.actions?.[0]?.url);
});

test('Teams: scans show counts per severity and the reason of a failure', () => {
  const card = workflowCard(formatTeams(scanCompletedIndexChild, adaptive).body);
  assert.equal(card.body[1]?.text, 'Critical 2 · High 0 · Medium 5 · Low 3 · Unknown 1 (11 total, 9 fixable)');
  assert.equal(card.body[0]?.color, 'attention');
  const facts = card.body.find((el) => el.type === 'FactSet')?.facts ?? [];
  assert.equal(facts.find((f) => f.title === 'Critical')?.value, '2');
  assert.equal(facts.find((f) => f.title === 'Platform')?.value, 'linux/arm64/v8');
  const failed = messageCard(formatTeams(scanFailed, connector).body);
  assert.match(failed.sections[0]?.text ?? '', /^Vulnerability scan failed: scanner adapter/);
});

test('Teams: huge names, tag lists and details stay under 28 KB in both formats', () => {
  const tags = Array.from({ length: 5000 }, (_, i) => `v${i}.0.0-${'y'.repeat(50)}`);
  const e: WharfEvent = {
    ...quotaExceed,
    operator: 'ö'.repeat(30_000),
    repository: { id: 1, name: `harbor/${'n'.repeat(20_000)}`, creationTime: null },
    artifact: { ...pushByTag.artifact, tag: 't'.repeat(128), tags },
    details: '<&>'.repeat(20_000),
  };
  const card = workflowCard(formatTeams(e, adaptive).body);
  assert.ok(card.body[0]?.text?.endsWith('…'));
  messageCard(formatTeams(e, connector).body);
});

test('Teams: the disabled target’s secret URL stays out', () => {
  for (const ctx of [adaptive, connector]) {
    const body = formatTeams(targetDisabled, ctx).body;
    assert.ok(!body.includes('SECRET'));
    assert.ok(body.includes('https://hooks.slack.com'));
  }
});
