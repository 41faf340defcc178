import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import { isEventType } from '../events/index.ts';
import { msrTypes } from './formats/msr.ts';
import { msrTypeMapping, parseMsrKey, parseMsrSubscription, policyKey, subscriptionPolicyBody, targetTypes } from './msr-subscriptions.ts';

const badRequest = (f: () => unknown, message: RegExp) => assert.throws(f, (e: unknown) => isDomainError(e, 'BAD_REQUEST') && message.test(e.message));

test('every MSR type is mapped to Wharf event types or says why it never fires', () => {
  assert.deepEqual(Object.keys(msrTypeMapping), [...msrTypes]);
  for (const [type, m] of Object.entries(msrTypeMapping)) {
    if ('unavailable' in m) assert.match(m.unavailable, /never fires|instead/, type);
    else for (const e of m.events) assert.ok(isEventType(e), `${type}: ${e}`);
  }
});

test("keys: all, a namespace, or namespace/repository; anything else is refused", () => {
  assert.deepEqual(parseMsrKey(undefined), { kind: 'all' });
  assert.deepEqual(parseMsrKey(''), { kind: 'all' });
  assert.deepEqual(parseMsrKey('foo'), { kind: 'namespace', namespace: 'foo' });
  assert.deepEqual(parseMsrKey('foo/bar/baz'), { kind: 'repository', namespace: 'foo', repository: 'foo/bar/baz' });
  badRequest(() => parseMsrKey('Foo'), /invalid key/);
  badRequest(() => parseMsrKey('foo/*'), /invalid key/);
  badRequest(() => parseMsrKey(7), /key must be a string/);
});

test('a subscription becomes one MSR target; TAG_* types skip events without a tag', () => {
  const body = subscriptionPolicyBody(parseMsrSubscription({ type: 'TAG_PUSH', key: 'foo/bar', endpoint: 'https://x.example/h', tlsCert: 'PEM', skipTLSVerification: true }));
  assert.deepEqual([body.event_types, body.repo_filters, body.tag_filters], [['PUSH_ARTIFACT'], ['foo/bar'], ['*']]);
  assert.deepEqual(body.targets, [{ type: 'http', address: 'https://x.example/h', payload_format: 'MSR', msr_type: 'TAG_PUSH', skip_cert_verify: true, ca_cert: 'PEM' }]);
  const ns = subscriptionPolicyBody(parseMsrSubscription({ type: 'SCAN_FAILED', key: 'foo', endpoint: 'https://x.example/h' }));
  assert.deepEqual([ns.event_types, ns.repo_filters, ns.tag_filters], [['SCANNING_FAILED', 'SCANNING_STOPPED'], [], []]);
  badRequest(() => subscriptionPolicyBody(parseMsrSubscription({ type: 'REPO_UPDATED', key: 'foo', endpoint: 'https://x.example/h' })), /REPO_UPDATED is not available/);
  badRequest(() => parseMsrSubscription({ type: 'TAG_PUSH', key: 'foo' }), /endpoint is required/);
  badRequest(() => parseMsrSubscription({ type: 'TAG_PUSH', endpoint: 'h', skipTLSVerification: 'yes' }), /skipTLSVerification/);
});

test('a Harbor policy reads as a key only when its filters have that shape', () => {
  assert.equal(policyKey('foo', [], []), 'foo');
  assert.equal(policyKey(null, [], []), '');
  assert.equal(policyKey('foo', ['foo/bar'], ['*']), 'foo/bar');
  assert.equal(policyKey('foo', ['foo/b*'], []), null);
  assert.equal(policyKey('foo', ['other/bar'], []), null);
  assert.equal(policyKey('foo', ['foo/a', 'foo/b'], []), null);
  assert.equal(policyKey('foo', [], ['v*']), null);
  assert.equal(policyKey(null, ['foo/bar'], []), null);
});

test('the MSR types a target sends: its msr_type, else what its event types render to', () => {
  assert.deepEqual(targetTypes(['PUSH_ARTIFACT'], { msr_type: 'MANIFEST_PUSH' }), ['MANIFEST_PUSH']);
  assert.deepEqual(targetTypes(['DELETE_TAG'], { msr_type: 'TAG_PUSH' }), [], 'a type whose events the policy does not send');
  assert.deepEqual(targetTypes(['PUSH_ARTIFACT', 'CREATE_TAG', 'SCANNING_STOPPED', 'QUOTA_EXCEED'], {}), ['TAG_PUSH', 'MANIFEST_PUSH', 'SCAN_FAILED']);
});
