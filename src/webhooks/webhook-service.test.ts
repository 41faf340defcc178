/** Pure rules of the policy API: Harbor's endpoint parsing and the write-only secret carry-over. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import { parseEndpoint, parseTarget, redacted } from './webhook-service.ts';

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
