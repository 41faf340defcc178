import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatHtml, formatGoogleChat, googleChatLimits } from './google-chat.ts';
import type { WharfEvent } from '../../events/index.ts';
import { ctxFor, golden, goldenCases, headersText, deleteArtifact, pushByTag, quotaExceed, samples, scanFailed, targetDisabled } from '../../../test/fixtures/payloads/sample-events.ts';

const ctx = ctxFor('googlechat', '');

interface Widget { textParagraph?: { text: string }; decoratedText?: { topLabel: string; text: string }; buttonList?: { buttons: Array<{ text: string; onClick: { openLink: { url: string } } }> } }
interface Message { text: string; cardsV2: Array<{ cardId: string; card: { header: { title: string; subtitle?: string }; sections: Array<{ header?: string; widgets: Widget[] }> } }> }

/** Chat's limits and card rules (a header title, at least one widget per section), on the body text. */
function message(body: string): Message {
  assert.ok(Buffer.byteLength(body) <= googleChatLimits.bodyBytes, `body ${Buffer.byteLength(body)} bytes`);
  const m: Message = JSON.parse(body);
  assert.ok(m.text.length > 0 && m.text.length <= googleChatLimits.text);
  assert.equal(m.cardsV2.length, 1);
  const card = m.cardsV2[0]?.card;
  assert.ok(card);
  assert.ok(card.header.title.length > 0);
  let widgets = 0;
  for (const s of card.sections) {
    assert.ok(s.widgets.length >= 1);
    widgets += s.widgets.length;
  }
  assert.ok(widgets <= googleChatLimits.widgets);
  return m;
}

function facts(m: Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of m.cardsV2[0]?.card.sections ?? []) for (const w of s.widgets) if (w.decoratedText) out[w.decoratedText.topLabel] = w.decoratedText.text;
  return out;
}

test('Google Chat: every golden matches byte for byte (body and headers)', () => {
  for (const key of ['googlechat']) {
    const cases = goldenCases[key] ?? [];
    assert.ok(cases.length >= 9, key);
    for (const c of cases) {
      const out = formatGoogleChat(c.event, c.ctx);
      const g = golden(c);
      assert.equal(out.body, g.body, c.stem);
      assert.equal(headersText(out.headers), g.headers, c.stem);
    }
  }
});

test('Google Chat: every sample renders text and one card, as application/json; charset=UTF-8', () => {
  for (const [name, e] of Object.entries(samples)) {
    const out = formatGoogleChat(e, ctx);
    assert.deepEqual(out.headers, { 'Content-Type': 'application/json; charset=UTF-8' }, name);
    message(out.body);
  }
});

test('Google Chat: a push carries text, header, facts, time, event id and an Open button', () => {
  const m = message(formatGoogleChat(pushByTag, ctx).body);
  assert.equal(m.text, 'Artifact pushed: library/alpine:3.18');
  assert.equal(m.cardsV2[0]?.cardId, `wharf-${pushByTag.id}`);
  assert.deepEqual(m.cardsV2[0]?.card.header, { title: 'Artifact pushed', subtitle: 'library/alpine:3.18' });
  const f = facts(m);
  assert.deepEqual(Object.keys(f), ['Repository', 'Tag', 'Project', 'Operator', 'Digest', 'Image', 'Event']);
  assert.equal(f['Event'], `2023-04-03T06:04:53Z · PUSH_ARTIFACT · event ${pushByTag.id}`);
  const buttons = m.cardsV2[0]?.card.sections.flatMap((s) => s.widgets).find((w) => w.buttonList)?.buttonList?.buttons ?? [];
  assert.equal(buttons[0]?.onClick.openLink.url, `https://harbor.example.com/harbor/projects/2/repositories/alpine/artifacts-tab/artifacts/${pushByTag.artifact.digest}`);
  assert.ok(!message(formatGoogleChat(deleteArtifact, ctx).body).cardsV2[0]?.card.sections.some((s) => s.widgets.some((w) => w.buttonList)));
});

test('Google Chat: card texts are escaped for Chat’s HTML; a failure says why', () => {
  assert.equal(chatHtml('a<b>&c'), 'a&lt;b&gt;&amp;c');
  const e: WharfEvent = { ...quotaExceed, details: '<b>quota</b> & more' };
  const m = message(formatGoogleChat(e, ctx).body);
  const para = m.cardsV2[0]?.card.sections[0]?.widgets[0]?.textParagraph?.text;
  assert.equal(para, '&lt;b&gt;quota&lt;/b&gt; &amp; more');
  const failed = message(formatGoogleChat(scanFailed, ctx).body);
  assert.match(failed.cardsV2[0]?.card.sections[0]?.widgets[0]?.textParagraph?.text ?? '', /^Vulnerability scan failed: scanner adapter/);
});

test('Google Chat: huge names, tag lists and details stay within 32,000 bytes', () => {
  const tags = Array.from({ length: 5000 }, (_, i) => `v${i}.0.0-${'y'.repeat(50)}`);
  const e: WharfEvent = {
    ...quotaExceed,
    operator: '€'.repeat(30_000),
    repository: { id: 1, name: `harbor/${'n'.repeat(20_000)}`, creationTime: null },
    artifact: { ...pushByTag.artifact, tag: 't'.repeat(128), tags },
    details: '<'.repeat(50_000),
  };
  const m = message(formatGoogleChat(e, ctx).body);
  assert.ok(m.text.endsWith('…'));
});

test('Google Chat: the disabled target’s secret URL stays out', () => {
  const body = formatGoogleChat(targetDisabled, ctx).body;
  assert.ok(!body.includes('SECRET'));
  assert.ok(body.includes('https://hooks.slack.com'));
});
