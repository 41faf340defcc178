import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyForm, eventLabel, formFromPolicy, formatsFor, parseDeliveryLog, policyBody, splitPatterns, targetFromForm, toggledPolicy, reenabledTarget, validateForm, type WebhookPolicy } from './webhook-form.ts';
import { defaultPayloadFormat, formatAfterTypeChange, notifyTypeLabel, previewBody } from './webhook-form.ts';

const events = { event_type: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT'], notify_type: ['http', 'slack', 'discord'], payload_formats: [{ notify_type: 'http', formats: ['Default', 'CloudEvents', 'Distribution', 'MSR'] }] };

test('policyBody: Harbor fields, skip_cert_verify inverted, Wharf extensions', () => {
  const f = { ...emptyForm(events), name: ' ci ', address: ' http://127.0.0.1:9/hook ', authHeader: 'Bearer x', verifyRemoteCert: false, repoFilters: 'library/**\n  a/{b,c}', tagFilters: 'v*', secret: 'whsec_abc', signatureStyle: 'github' as const, headers: [{ name: 'X-Team', value: 'ops' }], timeoutMs: '5000' };
  const b = policyBody(f);
  assert.equal(b.name, 'ci');
  assert.equal(b.enabled, true);
  assert.deepEqual(b.event_types, ['PUSH_ARTIFACT', 'DELETE_ARTIFACT']);
  assert.deepEqual(b.repo_filters, ['library/**', 'a/{b,c}']);
  assert.deepEqual(b.tag_filters, ['v*']);
  assert.equal(b.status_filters, null);
  assert.equal(b.fold_platforms, false);
  assert.deepEqual(b.targets, [
    { type: 'http', address: 'http://127.0.0.1:9/hook', skip_cert_verify: true, payload_format: 'Default', auth_header: 'Bearer x', secret: 'whsec_abc', signature_style: 'github', headers: { 'X-Team': 'ops' }, timeout_ms: 5000 },
  ]);
});

test('slack targets carry no payload format; CloudEvents carries its mode', () => {
  assert.equal('payload_format' in targetFromForm({ ...emptyForm(), notifyType: 'slack', address: 'https://hooks.slack.com/x' }), false);
  const ce = targetFromForm({ ...emptyForm(), address: 'https://x', payloadFormat: 'CloudEvents', cloudeventsMode: 'binary' });
  assert.equal(ce.cloudevents_mode, 'binary');
  assert.equal('cloudevents_mode' in targetFromForm({ ...emptyForm(), address: 'https://x' }), false);
});

test('editing keeps stored secrets unless replaced or removed', () => {
  const p: WebhookPolicy = {
    id: 5,
    name: 'ci',
    enabled: true,
    event_types: ['PUSH_ARTIFACT'],
    targets: [{ id: 9, type: 'http', address: 'http://a:<redacted>@h/x', auth_header: '', auth_header_set: true, secret_set: true, skip_cert_verify: false, payload_format: 'CloudEvents', headers: { 'X-Key': '<redacted>' }, timeout_ms: null, cloudevents_mode: 'structured' }],
    repo_filters: ['a/**'],
    tag_filters: [],
  };
  const f = formFromPolicy(p);
  assert.equal(f.verifyRemoteCert, true);
  assert.equal(f.authHeaderSet, true);
  assert.equal(f.repoFilters, 'a/**');
  const t = targetFromForm(f);
  assert.equal(t.id, 9);
  assert.equal(t.address, 'http://a:<redacted>@h/x');
  assert.equal('auth_header' in t, false);
  assert.equal('secret' in t, false);
  assert.deepEqual(t.headers, { 'X-Key': '<redacted>' });
  assert.equal(t.timeout_ms, null);
  const removed = targetFromForm({ ...f, removeAuthHeader: true, removeSecret: true });
  assert.equal(removed.auth_header, null);
  assert.equal(removed.secret, null);
  assert.equal(targetFromForm({ ...f, authHeader: 'Basic y', removeAuthHeader: true }).auth_header, 'Basic y');
  assert.deepEqual(toggledPolicy(p, false), { ...p, enabled: false });
  const two = { ...p, targets: [{ ...p.targets[0]!, enabled: false }, { id: 10, type: 'slack', address: 'https://s', enabled: false }] };
  const back = reenabledTarget(two, 10).targets as { id: number; enabled: boolean }[];
  assert.deepEqual(back.map((t) => [t.id, t.enabled]), [[9, false], [10, true]]);
});

test('validateForm names what is missing or wrong', () => {
  const ok = { ...emptyForm(events), name: 'n', address: 'http://x' };
  assert.equal(validateForm(ok), null);
  assert.match(validateForm({ ...ok, name: ' ' }) ?? '', /Name/);
  assert.match(validateForm({ ...ok, address: '' }) ?? '', /Endpoint URL/);
  assert.match(validateForm({ ...ok, eventTypes: [] }) ?? '', /event type/);
  assert.match(validateForm({ ...ok, timeoutMs: '0' }) ?? '', /Timeout/);
  assert.match(validateForm({ ...ok, timeoutMs: '1.5' }) ?? '', /Timeout/);
  assert.equal(validateForm({ ...ok, timeoutMs: '120000' }), null);
  assert.match(validateForm({ ...ok, headers: [{ name: 'A', value: '1' }, { name: 'a', value: '2' }] }) ?? '', /twice/);
  assert.match(validateForm({ ...ok, headers: [{ name: '', value: '1' }] }) ?? '', /name/);
});

test('Teams targets choose AdaptiveCard or MessageCard; Mattermost and Google Chat take none', () => {
  const withTeams = { ...events, notify_type: ['http', 'slack', 'discord', 'teams', 'mattermost', 'googlechat'], payload_formats: [...events.payload_formats, { notify_type: 'teams', formats: ['AdaptiveCard', 'MessageCard'] }] };
  assert.deepEqual(formatsFor(withTeams, 'teams'), ['AdaptiveCard', 'MessageCard']);
  assert.deepEqual(formatsFor(undefined, 'teams'), ['AdaptiveCard', 'MessageCard']);
  assert.deepEqual(formatsFor(withTeams, 'mattermost'), []);
  assert.equal(defaultPayloadFormat('teams'), 'AdaptiveCard');
  assert.equal(defaultPayloadFormat('googlechat'), '');
  assert.equal(formatAfterTypeChange(withTeams, 'CloudEvents', 'teams'), 'AdaptiveCard');
  assert.equal(formatAfterTypeChange(withTeams, 'MessageCard', 'http'), 'Default');
  assert.equal(formatAfterTypeChange(withTeams, 'MessageCard', 'teams'), 'MessageCard');
  assert.equal(formatAfterTypeChange(withTeams, 'MessageCard', 'mattermost'), '');
  const teams = { ...emptyForm(withTeams), name: 't', notifyType: 'teams', payloadFormat: 'MessageCard', address: 'https://example.logic.azure.com/workflows/1' };
  assert.equal(targetFromForm(teams).payload_format, 'MessageCard');
  assert.equal(targetFromForm({ ...teams, payloadFormat: '' }).payload_format, 'AdaptiveCard');
  assert.equal('payload_format' in targetFromForm({ ...teams, notifyType: 'googlechat', payloadFormat: '' }), false);
  const p: WebhookPolicy = { id: 1, name: 'm', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [{ id: 2, type: 'teams', address: 'https://x', payload_format: '' }] };
  assert.equal(formFromPolicy(p).payloadFormat, 'AdaptiveCard');
  assert.equal(notifyTypeLabel('googlechat'), 'Google Chat');
  assert.equal(notifyTypeLabel('http'), 'http');
});

test('formats, patterns and event labels', () => {
  assert.deepEqual(formatsFor(events, 'http'), ['Default', 'CloudEvents', 'Distribution', 'MSR']);
  assert.deepEqual(formatsFor(undefined, 'http'), ['Default', 'CloudEvents']);
  assert.deepEqual(formatsFor(events, 'slack'), []);
  assert.deepEqual(splitPatterns('  \n'), []);
  assert.deepEqual(splitPatterns('a b\n{x,y}'), ['a', 'b', '{x,y}']);
  assert.equal(eventLabel('PUSH_ARTIFACT'), 'Artifact pushed');
  assert.equal(eventLabel('SOMETHING_NEW'), 'Something new');
});

test('parseDeliveryLog reads request and response of every attempt', () => {
  const log = [
    '2026-12-06T14:00:00.000Z [INFO] webhook task 3 of execution 3: event PUSH_ARTIFACT (e1), trigger EVENT',
    '2026-12-06T14:00:00.001Z [INFO] attempt 1: POST http://127.0.0.1:9/hook',
    '  request headers:',
    '    content-type: application/json',
    '    authorization: <redacted>',
    '  request body:',
    '    {"type":"PUSH_ARTIFACT",',
    '    "x":1}',
    '2026-12-06T14:00:00.010Z [ERROR] attempt 1: response 500 after 9 ms',
    '  response headers:',
    '    content-length: 4',
    '2026-12-06T14:00:00.010Z [ERROR] attempt 1: server error',
    '2026-12-06T14:00:01.000Z [INFO] attempt 2: POST http://127.0.0.1:9/hook',
    '  request headers:',
    '    content-type: application/json',
    '  request body:',
    '    {}',
    '2026-12-06T14:00:01.020Z [INFO] attempt 2: response 200 after 20 ms',
    '  response headers:',
    '    x-echo: yes',
    '  response body (excerpt):',
    '    got it',
    '    line 2',
    '2026-12-06T14:00:01.021Z [INFO] webhook task finished: Success',
    '',
  ].join('\n');
  const a = parseDeliveryLog(log);
  assert.equal(a.length, 2);
  assert.deepEqual(a[0], {
    attempt: 1,
    url: 'http://127.0.0.1:9/hook',
    requestHeaders: ['content-type: application/json', 'authorization: <redacted>'],
    requestBody: '{"type":"PUSH_ARTIFACT",\n"x":1}',
    responseStatus: 500,
    durationMs: 9,
    responseHeaders: ['content-length: 4'],
    responseBody: '',
    errors: ['server error'],
  });
  assert.equal(a[1]!.responseStatus, 200);
  assert.equal(a[1]!.responseBody, 'got it\nline 2');
  assert.deepEqual(a[1]!.responseHeaders, ['x-echo: yes']);
  const none = parseDeliveryLog('t [INFO] attempt 1: POST http://x/\n  request headers:\n  request body:\n    {}\nt [ERROR] attempt 1: no response after 5000 ms\nt [ERROR] attempt 1: timeout\n');
  assert.equal(none[0]!.responseStatus, null);
  assert.equal(none[0]!.durationMs, 5000);
  assert.deepEqual(none[0]!.errors, ['timeout']);
  assert.deepEqual(parseDeliveryLog('t [INFO] no attempt yet\n'), []);
});

test('Template targets carry their template; a CA is sent when typed and removed when emptied', () => {
  const f = { ...emptyForm(events), name: 'tpl', address: 'https://x', payloadFormat: 'Template', template: '{"t": {{ event.type | json }}}', templateContentType: '' };
  const t = targetFromForm(f);
  assert.equal(t.template, '{"t": {{ event.type | json }}}');
  assert.equal(t.template_content_type, 'application/json');
  assert.equal('template' in targetFromForm({ ...f, payloadFormat: 'Default' }), false);
  assert.equal(validateForm({ ...f, template: ' ' }), 'A Template target needs a template.');
  assert.deepEqual(previewBody(f), { target: t, event_type: 'PUSH_ARTIFACT' });
  assert.equal('ca_cert' in t, false, 'no CA typed: the server keeps what it has');
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  assert.equal(targetFromForm({ ...f, caCert: pem }).ca_cert, pem);
  const stored: WebhookPolicy = { id: 1, name: 'p', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: 'https://x', ca_cert: pem }], status_filters: { scan_status: ['Error'] }, fold_platforms: true };
  const edit = formFromPolicy(stored);
  assert.equal(edit.caCert, pem);
  assert.equal(targetFromForm(edit).ca_cert, pem);
  assert.equal(targetFromForm({ ...edit, caCert: '' }).ca_cert, null, 'emptied: removed');
  const body = policyBody(edit);
  assert.deepEqual(body.status_filters, { scan_status: ['Error'] });
  assert.equal(body.fold_platforms, true);
  assert.match(validateForm({ ...edit, statusFilters: '[1]' }) ?? '', /JSON object/);
  assert.match(validateForm({ ...edit, statusFilters: '{' }) ?? '', /JSON object/);
});
