import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplate, formatTemplate, isJsonContentType, renderTemplate, templateLimits, templateVariables } from './template.ts';
import { formatterFor, httpPayloadFormats, supports } from './index.ts';
import { DomainError } from '../../domain/index.ts';
import { ctxFor, createTag, labelArtifact, pushByTag, quotaExceed, replication, retention, samples, scanCompleted, scanFailed } from '../../../test/fixtures/payloads/sample-events.ts';

const tctx = (template: string, contentType?: string) => ctxFor('http', 'Template', contentType === undefined ? { template } : { template, template_content_type: contentType });

function badRequest(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof DomainError && err.code === 'BAD_REQUEST' && re.test(err.message));
}

test('Template: a custom JSON body from the event, with strings escaped by the json filter', () => {
  const tpl = '{"text": {{ event.title | append: ": " | append: event.image | json }}, "who": {{ event.operator | json }}, "tags": {{ event.artifact.tags | json }}, "policy": {{ policy.name | json }}}';
  const out = formatTemplate(pushByTag, tctx(tpl));
  assert.deepEqual(out.headers, { 'Content-Type': 'application/json' });
  assert.deepEqual(JSON.parse(out.body), { text: 'Artifact pushed: harbor.example.com/library/alpine:3.18', who: 'admin', tags: ['3.18'], policy: 'ci-hook' });
  // A quote, a backslash and a newline in a value stay valid JSON through the json filter.
  const tricky = { ...pushByTag, operator: 'a "b"\\\n</c>' };
  assert.equal(JSON.parse(formatTemplate(tricky, tctx('{"who": {{ event.operator | json }}}')).body).who, 'a "b"\\\n</c>');
  // A field the event does not have is null through json, so the JSON around it holds.
  assert.deepEqual(JSON.parse(formatTemplate(pushByTag, tctx('[{{ event.scan | json }}, {{ event.scan.status | json }}, {{ event.nope | json }}, {{ event.tag | json: 2 }}]')).body), [null, null, null, '3.18']);
});

test('Template: the variables carry every event type (payload is the Default object)', () => {
  for (const [name, event] of Object.entries(samples)) {
    const v = templateVariables(event, ctxFor('http', 'Template'));
    const e = v.event as Record<string, unknown>;
    assert.equal(e.type, event.type, name);
    assert.equal(e.id, event.id, name);
    assert.equal(e.occur_at, Math.floor(event.occurAt / 1000), name);
    assert.equal((v.payload as Record<string, unknown>).type, event.type, name);
    assert.deepEqual(v.wharf, { external_url: 'https://harbor.example.com', host: 'harbor.example.com' });
    assert.deepEqual(v.policy, { id: 15, name: 'ci-hook' });
    // every event type renders through the json filter
    assert.doesNotThrow(() => JSON.parse(formatTemplate(event, tctx('{"e": {{ event | json }}, "p": {{ payload | json }}}')).body), name);
  }
  const scan = templateVariables(scanCompleted, ctxFor('http', 'Template')).event as Record<string, Record<string, unknown>>;
  assert.equal(scan.scan?.status, 'Success');
  assert.equal(scan.scan?.severity, 'High');
  assert.equal(typeof scan.scan?.total, 'number');
  const failed = templateVariables(scanFailed, ctxFor('http', 'Template')).event as Record<string, Record<string, unknown>>;
  assert.equal(failed.scan?.status, 'Error');
  const q = templateVariables(quotaExceed, ctxFor('http', 'Template')).event as Record<string, Record<string, unknown>>;
  assert.equal(q.quota?.details, quotaExceed.details);
  assert.equal(q.scan, null);
  assert.deepEqual((templateVariables(replication, ctxFor('http', 'Template')).event as Record<string, unknown>).replication, replication.replication);
  assert.deepEqual((templateVariables(retention, ctxFor('http', 'Template')).event as Record<string, unknown>).retention, retention.retention);
  assert.deepEqual((templateVariables(labelArtifact, ctxFor('http', 'Template')).event as Record<string, unknown>).label, labelArtifact.label);
  const tag = templateVariables(createTag, ctxFor('http', 'Template')).event as Record<string, unknown>;
  assert.equal(tag.tag, createTag.artifact.tag);
  assert.deepEqual(tag.repository, { id: createTag.repository.id, name: createTag.repository.name, short_name: createTag.repository.name.split('/').slice(1).join('/'), namespace: createTag.project.name, creation_time: tag.repository === null ? null : (tag.repository as Record<string, unknown>).creation_time });
});

test('Template: Harbor users can reuse the Default payload', () => {
  const out = formatTemplate(pushByTag, tctx('{{ payload.event_data.resources[0].resource_url }} by {{ payload.operator }} at {{ payload.occur_at | date: "%Y-%m-%dT%H:%M:%SZ" }}', 'text/plain; charset=utf-8'));
  assert.equal(out.body, 'harbor.example.com/library/alpine:3.18 by admin at 2023-04-03T06:04:53Z');
  assert.deepEqual(out.headers, { 'Content-Type': 'text/plain; charset=utf-8' });
});

test('Template: the sandbox has no files, no prototype members and unknown filters are errors', () => {
  badRequest(() => checkTemplate('a\n{% include "secrets" %}'), /include tag is not available.*line:2/);
  badRequest(() => checkTemplate('{% render "x" %}'), /render tag is not available/);
  badRequest(() => checkTemplate('{% layout "x" %}'), /layout tag is not available/);
  badRequest(() => checkTemplate('{{ event | nosuchfilter }}'), /undefined filter: nosuchfilter/);
  badRequest(() => checkTemplate('x\n{% if event.tag %}'), /not closed, line:2/);
  badRequest(() => checkTemplate('   '), /empty/);
  badRequest(() => checkTemplate('x'.repeat(templateLimits.maxTemplateLength + 1)), /longer than/);
  assert.equal(renderTemplate('[{{ event.constructor }}][{{ event.__proto__ }}][{{ event.hasOwnProperty }}]', { event: {} }), '[][][]');
});

test('Template: time, allocation and output size are bounded', () => {
  badRequest(() => renderTemplate('{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}', {}), /failed to render: .*limit exceeded/);
  badRequest(() => renderTemplate('{% for i in (1..1000000000) %}{% endfor %}', {}), /memory alloc limit exceeded/);
  badRequest(() => renderTemplate('{% assign a = "xxxxxxxxxxxxxxxx" %}{% for i in (1..40) %}{% assign a = a | append: a %}{% endfor %}{{ a }}', {}), /limit exceeded/);
  const big = 'y'.repeat(60_000);
  badRequest(() => renderTemplate(`{% for i in (1..20) %}${big}{% endfor %}`, {}), /larger than 1048576 bytes/);
});

test('Template: JSON content types must get JSON; others may get anything', () => {
  badRequest(() => formatTemplate(pushByTag, tctx('{"who": {{ event.operator }}}')), /not valid JSON \(Content-Type application\/json\).*json filter/);
  badRequest(() => formatTemplate(pushByTag, tctx('nope', 'application/cloudevents+json')), /not valid JSON/);
  assert.equal(formatTemplate(pushByTag, tctx('tag={{ event.tag }}', 'text/plain')).body, 'tag=3.18');
  assert.equal(isJsonContentType('Application/JSON; charset=utf-8'), true);
  assert.equal(isJsonContentType('application/vnd.foo+json'), true);
  assert.equal(isJsonContentType('text/plain'), false);
});

test('Template: registered as an http payload format for every event type', () => {
  assert.ok((httpPayloadFormats as readonly string[]).includes('Template'));
  assert.equal(formatterFor('http', 'Template'), formatTemplate);
  for (const e of Object.values(samples)) assert.equal(supports('http', 'Template', e.type), true);
  badRequest(() => formatTemplate(pushByTag, ctxFor('http', 'Template', {})), /no template/);
});
