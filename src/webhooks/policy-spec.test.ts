/** Pure rules of the policy API: Harbor's endpoint, target and policy parsing, the write-only secret carry-over, trust marks. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import type { Actor } from '../auth/index.ts';
import type { WebhookTargetRow } from '../db/index.ts';
import { adminTrustedOption } from './target-row.ts';
import { applyTrust, parseEndpoint, parsePolicy, parseTarget, parseTestBody, redacted, targetsToReenable } from './policy-spec.ts';

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isDomainError(err, 'BAD_REQUEST'), `expected BAD_REQUEST, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected an error');
}

const stored = {
  id: 7,
  type: 'http',
  address: 'https://ci.example.com/hook',
  auth_header: 'Bearer OLD',
  secret: 'OLDSECRET',
  headers: JSON.stringify({ 'X-Key': 'OLDKEY' }),
  position: 0,
};

describe('parseEndpoint (Harbor ParseEndpoint)', () => {
  it('keeps http(s) addresses as sent, trimmed, path and query included', () => {
    assert.equal(parseEndpoint(' https://ci.example.com/hook?x=1 '), 'https://ci.example.com/hook?x=1');
    assert.equal(parseEndpoint('http://10.0.0.1:8080/a/'), 'http://10.0.0.1:8080/a/');
  });
  it('assumes http:// without a scheme', () => {
    assert.equal(parseEndpoint('ci.example.com/hook'), 'http://ci.example.com/hook');
  });
  it('refuses other schemes and empty addresses with Harbor\'s messages', () => {
    assert.equal(message(() => parseEndpoint('ftp://x/y')), 'invalid scheme: ftp');
    assert.equal(message(() => parseEndpoint('file:///etc/passwd')), 'invalid scheme: file');
    assert.equal(message(() => parseEndpoint('   ')), 'empty URL');
    assert.equal(message(() => parseEndpoint('//')), 'empty URL');
  });
  it('refuses addresses that do not parse', () => {
    assert.match(message(() => parseEndpoint('http://exa mple.com/')), /^parse "http:\/\/exa mple\.com\/"/);
    assert.match(message(() => parseEndpoint('http://')), /^parse /);
  });
});

describe('parseTarget secrets', () => {
  it('keeps stored secrets for an unchanged address when they are omitted or placeholders', () => {
    const t = parseTarget({ type: 'http', address: stored.address, auth_header: '', headers: { 'X-Key': redacted } }, 0, 'p', stored);
    assert.equal(t.authHeader, 'Bearer OLD');
    assert.equal(t.secret, 'OLDSECRET');
    assert.deepEqual(t.headers, { 'X-Key': 'OLDKEY' });
  });
  it('replaces with new values and clears with null or *_set: false', () => {
    const t = parseTarget({ type: 'http', address: stored.address, auth_header: 'Bearer NEW', secret: null }, 0, 'p', stored);
    assert.equal(t.authHeader, 'Bearer NEW');
    assert.equal(t.secret, '');
    const u = parseTarget({ type: 'http', address: stored.address, auth_header_set: false, auth_header: '' }, 0, 'p', stored);
    assert.equal(u.authHeader, '');
    assert.equal(u.secret, 'OLDSECRET');
  });
  it('carries nothing over to a changed address', () => {
    const t = parseTarget({ type: 'http', address: 'https://evil.example.com/hook' }, 0, 'p', stored);
    assert.equal(t.authHeader, '');
    assert.equal(t.secret, '');
    assert.deepEqual(t.headers, {});
  });
  it('stores Default for an http target without a format, and the CloudEvents mode', () => {
    assert.equal(parseTarget({ type: 'http', address: 'http://a' }, 0, 'p', undefined).payloadFormat, 'Default');
    const ce = parseTarget({ type: 'http', address: 'http://a', payload_format: 'CloudEvents' }, 0, 'p', undefined);
    assert.deepEqual(ce.options, { signature_style: 'standard', cloudevents_mode: 'structured' });
    assert.equal(parseTarget({ type: 'slack', address: 'https://hooks.slack.com/x' }, 0, 'p', undefined).payloadFormat, '');
  });
});

describe('parsePolicy (Harbor order and messages: targets, then event types)', () => {
  const target = { type: 'http', address: 'https://ci.example.com/hook' };
  it('needs a name, then targets, then event types', () => {
    assert.equal(message(() => parsePolicy({ targets: [target], event_types: ['PUSH_ARTIFACT'] }, [])), 'name is required');
    assert.equal(message(() => parsePolicy({ name: 'p', event_types: [] }, [])), 'empty notification target with policy p');
    // Both are wrong: the target is reported, as Harbor's handler checks targets first.
    assert.equal(message(() => parsePolicy({ name: 'p', targets: [{ type: 'email', address: 'http://a' }], event_types: [] }, [])), 'unsupported target type email with policy p');
    assert.equal(message(() => parsePolicy({ name: 'p', targets: [target], event_types: [] }, [])), 'empty event type');
    assert.equal(message(() => parsePolicy({ name: 'p', targets: [target], event_types: ['PUSH_ARTIFACT', 'NOPE'] }, [])), 'unsupported event type NOPE');
  });
  it('returns typed values: duplicate event types once, trimmed globs, enabled false by default', () => {
    const spec = parsePolicy({ name: 'p', targets: [target], event_types: ['PUSH_ARTIFACT', 'PUSH_ARTIFACT', 'DELETE_ARTIFACT'], repo_filters: [' library/** '] }, []);
    assert.deepEqual(spec.eventTypes, ['PUSH_ARTIFACT', 'DELETE_ARTIFACT']);
    assert.deepEqual(spec.repoFilters, ['library/**']);
    assert.deepEqual(spec.tagFilters, []);
    assert.equal(spec.enabled, false);
    assert.equal(spec.creator, undefined);
    assert.equal(spec.targets[0]?.id, null);
  });
  it('matches incoming targets to stored ones by id, then by position and address, then by address', () => {
    const other = { ...stored, id: 8, address: 'https://other.example.com/hook', position: 1 };
    const byAddress = parsePolicy({ name: 'p', targets: [{ type: 'http', address: other.address }, { type: 'http', address: stored.address }], event_types: ['PUSH_ARTIFACT'] }, [stored, other]);
    assert.deepEqual(byAddress.targets.map((t) => t.id), [8, 7]);
    assert.equal(byAddress.targets[1]?.secret, 'OLDSECRET', 'the matched target keeps its secret');
    const byId = parsePolicy({ name: 'p', targets: [{ id: 8, type: 'http', address: 'https://new.example.com/' }], event_types: ['PUSH_ARTIFACT'] }, [stored, other]);
    assert.equal(byId.targets[0]?.id, 8);
    assert.equal(byId.targets[0]?.secret, '', 'a changed address carries no secret over, even matched by id');
  });
  it('refuses bodies and fields of the wrong shape', () => {
    assert.equal(message(() => parsePolicy([], [])), 'the body must be a JSON object (a WebhookPolicy)');
    assert.equal(message(() => parsePolicy({ name: 'p', targets: {} }, [])), 'targets must be an array of target objects');
    assert.equal(message(() => parsePolicy({ name: 'p', enabled: 'yes', targets: [target] }, [])), 'enabled must be true or false');
    assert.equal(message(() => parsePolicy({ name: 'p', targets: [target], event_types: 'PUSH_ARTIFACT' }, [])), 'event_types must be an array of event type names');
  });
});

describe('parseTestBody', () => {
  it('takes one target (Wharf) or a policy with targets (Harbor legacy)', () => {
    const one = parseTestBody({ type: 'http', address: 'ci.example.com/hook' });
    assert.equal(one.legacy, false);
    assert.deepEqual(one.targets.map((t) => t.address), ['http://ci.example.com/hook']);
    const legacy = parseTestBody({ name: 'p', targets: [{ type: 'http', address: 'http://a/' }, { type: 'slack', address: 'https://hooks.slack.com/x' }] });
    assert.equal(legacy.legacy, true);
    assert.deepEqual(legacy.targets.map((t) => t.type), ['http', 'slack']);
  });
  it("keeps Harbor's messages", () => {
    assert.equal(message(() => parseTestBody({ name: 'p', targets: [] })), 'empty notification target with policy p');
    assert.equal(message(() => parseTestBody('x')), 'the body must be a JSON object: a target, or a policy with targets');
  });
});

describe('targetsToReenable and applyTrust', () => {
  const admin: Actor = { kind: 'user', username: 'admin', userId: 1, sysadmin: true };
  const user: Actor = { kind: 'user', username: 'u', userId: 2, sysadmin: false };
  const row = (options: string): WebhookTargetRow => ({ ...stored, policy_id: 1, payload_format: 'Default', options, skip_cert_verify: 0, timeout_ms: null, enabled: 0, failing_since: null, disabled_reason: 'x' });
  it('re-enables only matched targets sent with enabled: true', () => {
    const spec = parsePolicy({ name: 'p', targets: [{ type: 'http', address: stored.address, enabled: true }, { type: 'http', address: 'http://new/', enabled: true }], event_types: ['PUSH_ARTIFACT'] }, [stored]);
    assert.deepEqual([...targetsToReenable({ targets: [{ enabled: true }, { enabled: true }] }, spec.targets)], [7]);
    assert.deepEqual([...targetsToReenable({ targets: [{ enabled: false }] }, spec.targets)], []);
  });
  it("a non-admin's unchanged target keeps its stored mark; others take the vetting's; unvetted is a CONFLICT", () => {
    const [t] = parseTestBody({ id: 7, type: 'http', address: stored.address }).targets;
    assert.ok(t);
    applyTrust(user, [t], [row('{"admin_trusted":true}')], new Map());
    assert.equal(t.options[adminTrustedOption], true);
    applyTrust(admin, [t], [row('{"admin_trusted":true}')], new Map([[stored.address, false]]));
    assert.equal(t.options[adminTrustedOption], undefined);
    assert.throws(() => applyTrust(admin, [t], [], new Map()), (err: unknown) => isDomainError(err, 'CONFLICT'));
  });
});
