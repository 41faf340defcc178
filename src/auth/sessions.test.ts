/** Unit tests of the console session helpers: cookie parsing and building, token comparison, id hashing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clearSessionCookies, hashSessionId, parseCookies, sessionSetCookies, tokensEqual } from './sessions.ts';

test('parseCookies reads names and values, first one wins, escapes decoded', () => {
  const c = parseCookies('a=1; sid=abc; sid=second; __csrf="q%2Fz"; broken; bad=%E0%A4%A');
  assert.equal(c.get('a'), '1');
  assert.equal(c.get('sid'), 'abc');
  assert.equal(c.get('__csrf'), 'q/z');
  assert.equal(c.get('bad'), '%E0%A4%A');
  assert.equal(c.has('broken'), false);
  assert.equal(parseCookies(undefined).size, 0);
  assert.equal(parseCookies('').size, 0);
});

test('session cookies: HttpOnly Lax sid, Strict readable __csrf, Secure only over https', () => {
  assert.deepEqual(sessionSetCookies({ id: 'I', csrf: 'C' }, false), ['sid=I; Path=/; HttpOnly; SameSite=Lax', '__csrf=C; Path=/; SameSite=Strict']);
  for (const c of sessionSetCookies({ id: 'I', csrf: 'C' }, true)) assert.match(c, /; Secure$/);
  for (const c of clearSessionCookies(false)) assert.match(c, /^(sid|__csrf)=; Path=\/; .*Max-Age=0/);
});

test('tokensEqual compares whole tokens only', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  assert.equal(tokensEqual('abc', 'abd'), false);
  assert.equal(tokensEqual('ab', 'abc'), false);
  assert.equal(tokensEqual('', 'abc'), false);
});

test('hashSessionId is SHA-256 hex and differs from the id', () => {
  const h = hashSessionId('some-id');
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(h, hashSessionId('some-id'));
  assert.notEqual(h, hashSessionId('some-id2'));
});
