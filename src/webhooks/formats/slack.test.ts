import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitEscaped, formatSlack, slackEscape, slackLimits } from './slack.ts';
import { eventTypes, systemEventTypes, type WharfEvent } from '../../events/index.ts';
import {
  ctxFor,
  golden,
  goldenCases,
  headersText,
  pushByTag,
  quotaExceed,
  samples,
  scanCompletedIndexChild,
  scanCompletedSbom,
  scanStoppedVuln,
  targetDisabled,
} from '../../../test/fixtures/payloads/sample-events.ts';

const ctx = ctxFor('slack', '');

interface TextObject { type: string; text: string }
interface Block { type: string; text?: TextObject; fields?: TextObject[]; elements?: TextObject[] }

/** Every Slack limit this format promises, checked on a parsed body. */
function assertWithinLimits(body: string): { text: string; blocks: Block[] } {
  const msg: { text: string; blocks: Block[] } = JSON.parse(body); // throws on invalid JSON
  assert.ok(msg.blocks.length >= 1 && msg.blocks.length <= slackLimits.blocks);
  assert.ok(msg.text.length <= slackLimits.fallbackText);
  for (const b of msg.blocks) {
    if (b.type === 'header') assert.ok((b.text?.text.length ?? 0) <= slackLimits.headerText);
    if (b.type === 'section') {
      assert.ok(b.text !== undefined || b.fields !== undefined);
      if (b.text) assert.ok(b.text.text.length <= slackLimits.sectionText, `section ${b.text.text.length}`);
      if (b.fields) {
        assert.ok(b.fields.length <= slackLimits.fields);
        for (const f of b.fields) assert.ok(f.text.length <= slackLimits.fieldText, `field ${f.text.length}`);
      }
    }
    for (const el of b.elements ?? []) assert.ok(el.text.length <= slackLimits.sectionText);
  }
  // No raw control characters inside strings (Harbor's template leaves newlines and tabs raw).
  assert.doesNotMatch(body, /[\u0000-\u001f]/);
  return msg;
}

test('Slack: every golden matches byte for byte (body and headers)', () => {
  const cases = goldenCases['slack'] ?? [];
  assert.ok(cases.length >= 9);
  for (const c of cases) {
    const out = formatSlack(c.event, c.ctx);
    const g = golden(c);
    assert.equal(out.body, g.body, c.stem);
    assert.equal(headersText(out.headers), g.headers, c.stem);
  }
});

test('Slack: every sample event renders valid JSON within the limits', () => {
  for (const [name, e] of Object.entries(samples)) {
    const out = formatSlack(e, ctx);
    assert.deepEqual(out.headers, { 'Content-Type': 'application/json' }, name);
    assertWithinLimits(out.body);
  }
  assert.equal(new Set([...eventTypes, ...systemEventTypes]).size, 18);
});

test('Slack: a huge tag list and very long names stay within every limit', () => {
  const tags = Array.from({ length: 5000 }, (_, i) => `release-candidate-build-${i}-${'x'.repeat(40)}`);
  const longRepo = `library/${'deeply-nested-path/'.repeat(12)}${'a'.repeat(120)}`;
  const e: WharfEvent = {
    ...pushByTag,
    operator: `ldap-user-${'&<>'.repeat(900)}`,
    repository: { id: 1, name: longRepo, creationTime: null },
    artifact: { ...pushByTag.artifact, tag: tags[0] ?? null, tags },
  };
  const msg = assertWithinLimits(formatSlack(e, ctx).body);
  const fieldsText = msg.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text).join('\n');
  assert.match(fieldsText, /\*All tags\*\nrelease-candidate-build-0-/);
  assert.ok(fieldsText.includes('…'));
  // The escaped operator was cut between entities, never inside one.
  const operator = msg.blocks.flatMap((b) => b.fields ?? []).find((f) => f.text.startsWith('*Operator*'))?.text ?? '';
  assert.doesNotMatch(operator.replace(/&(amp|lt|gt);/g, ''), /[&<>]/);
});

test('Slack: a huge quota detail is cut, with the code block and its fences intact', () => {
  const e: WharfEvent = { ...quotaExceed, details: 'quota text '.repeat(2000) };
  const msg = assertWithinLimits(formatSlack(e, ctx).body);
  const data = msg.blocks.find((b) => b.text?.text.startsWith('*event_data*'))?.text?.text ?? '';
  assert.ok(data.startsWith('*event_data*\n```') && data.endsWith('```'));
  assert.equal(data.length, slackLimits.sectionText);
});

test('Slack: user text is escaped so it cannot form links or mentions; the target secret stays out', () => {
  const e: WharfEvent = { ...pushByTag, operator: '<!channel> <https://evil.example|click>' };
  const msg = assertWithinLimits(formatSlack(e, ctx).body);
  const operator = msg.blocks.flatMap((b) => b.fields ?? []).find((f) => f.text.startsWith('*Operator*'))?.text;
  assert.equal(operator, '*Operator*\n&lt;!channel&gt; &lt;https://evil.example|click&gt;');
  assert.ok(!formatSlack(targetDisabled, ctx).body.includes('SECRET'));
});

test('Slack: fitEscaped never splits an entity or a surrogate pair', () => {
  assert.equal(slackEscape('a<b>&c'), 'a&lt;b&gt;&amp;c');
  assert.ok(fitEscaped('abc', 5, '*Prefix*', '!').length <= 5);
  for (let max = 1; max < 30; max++) {
    const out = fitEscaped('&&&&&😀😀😀', max);
    assert.ok(out.length <= max);
    assert.doesNotMatch(out.replace(/&amp;/g, ''), /&/);
    assert.doesNotMatch(out, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  }
});

test('Slack: a scan shows scan type, status, scanner and the counts by severity (Critical/High/Medium/Low/Unknown)', () => {
  const msg = assertWithinLimits(formatSlack(scanCompletedIndexChild, ctx).body);
  assert.deepEqual(
    msg.blocks[1]?.fields?.map((f) => f.text),
    ['*Project*\nlibrary', '*Repository*\nlibrary/alpine', '*Operator*\nci-bot', '*Scan type*\nvulnerability', '*Status*\nSuccess', '*Scanner*\nWharf 0.1.0', '*Platform*\nlinux/arm64/v8', `*Index*\n${scanCompletedIndexChild.parentDigest ?? ''}`],
  );
  assert.ok(msg.blocks[2]?.text?.text.startsWith('Critical 2 · High 0 · Medium 5 · Low 3 · Unknown 1 (11 total, 9 fixable)\n*Digest* `sha256:1b2c'));
  assert.equal(msg.text, `Scanning finished: harbor.example.com/library/alpine@${scanCompletedIndexChild.artifact.digest}`);
});

test('Slack: a stopped scan gives its reason; an SBOM its digest', () => {
  const stopped = assertWithinLimits(formatSlack(scanStoppedVuln, ctx).body);
  assert.ok(stopped.blocks[2]?.text?.text.startsWith('Vulnerability scan stopped: stopped by admin\n'));
  assert.ok(stopped.blocks[1]?.fields?.some((f) => f.text === '*Status*\nStopped'));
  const sbom = assertWithinLimits(formatSlack(scanCompletedSbom, ctx).body);
  assert.ok(sbom.blocks[2]?.text?.text.startsWith('SBOM generated: sha256:aaaa3f1b'));
  assert.ok(sbom.blocks[1]?.fields?.some((f) => f.text === '*Scan type*\nsbom'));
});
