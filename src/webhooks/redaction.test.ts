import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressSecrets, hasMarker, headerSecrets, redactAddress, redactionMarker, restoreAddress, scrubSecrets } from './redaction.ts';

test('the one marker', () => {
  assert.equal(redactionMarker, '<redacted>');
});

test('redactAddress hides the userinfo secret and secret-looking query values, textually', () => {
  const cases: Array<[string, string]> = [
    ['http://user:pass@host:8080/p?token=abc&team=ops#frag', 'http://user:<redacted>@host:8080/p?token=<redacted>&team=ops#frag'],
    ['https://TOKEN123@host/hook', 'https://<redacted>@host/hook'],
    ['https://host/hook?api_key=1&Signature=2&x=3&access_token=4&pwd=5&session_id=6&code=7', 'https://host/hook?api_key=<redacted>&Signature=<redacted>&x=3&access_token=<redacted>&pwd=<redacted>&session_id=<redacted>&code=<redacted>'],
    ['http://u:p%40ss@[::1]:9/x?%74oken=enc', 'http://u:<redacted>@[::1]:9/x?%74oken=<redacted>'],
    ['http://user:@host/', 'http://user:@host/'],
    ['http://host/?token=', 'http://host/?token='],
    ['http://host/path/with@sign', 'http://host/path/with@sign'],
  ];
  for (const [input, shown] of cases) assert.equal(redactAddress(input), shown, input);
  for (const plain of ['https://ci.example.com/hook', 'http://127.0.0.1:9/x?a=1&b', 'not a url']) assert.equal(redactAddress(plain), plain);
});

test('restoreAddress recognises the view of a stored address, the marker literal or percent-encoded', () => {
  const stored = 'http://user:pass@host/p?token=abc&team=ops';
  const view = redactAddress(stored);
  assert.equal(restoreAddress(view, stored), stored);
  assert.equal(restoreAddress(view.replaceAll('<', '%3C').replaceAll('>', '%3E'), stored), stored);
  assert.equal(restoreAddress(view.replaceAll('<', '%3c').replaceAll('>', '%3e'), stored), stored);
  assert.equal(restoreAddress(view.replace('/p', '/q'), stored), null, 'another path is another address');
  assert.equal(restoreAddress(stored, stored), null, 'the full address is not a view');
  assert.equal(restoreAddress('http://host/', 'http://host/'), null, 'an address without secrets has no view to restore');
  assert.equal(hasMarker(view), true);
  assert.equal(hasMarker('http://h/?t=%3CREDACTED%3E'), true);
  assert.equal(hasMarker(stored), false);
});

test('addressSecrets and headerSecrets list what must not come back', () => {
  assert.deepEqual(addressSecrets('http://u:p%40ss@h/?token=t%2B1&x=2'), ['p%40ss', 'p@ss', 't%2B1', 't+1']);
  assert.deepEqual(addressSecrets('https://TOK@h/'), ['TOK', 'TOK']);
  const basic = `Basic ${Buffer.from('user:s3cret').toString('base64')}`;
  const headers = { authorization: basic, 'x-api-key': 'k', 'content-type': 'application/json' };
  const redacted = { authorization: '<redacted>', 'x-api-key': '<redacted>', 'content-type': 'application/json' };
  assert.deepEqual(headerSecrets(headers, redacted), [basic, Buffer.from('user:s3cret').toString('base64'), 's3cret', 'k']);
});

test('scrubSecrets replaces raw, JSON-escaped and percent-encoded forms, and a cut tail', () => {
  const secret = 'Bearer a"b\\c/d e';
  const text = `raw=${secret} json=${JSON.stringify(secret)} url=${encodeURIComponent(secret)} other`;
  const out = scrubSecrets(text, [secret]);
  assert.equal(out, 'raw=<redacted> json="<redacted>" url=<redacted> other');
  assert.equal(scrubSecrets('x=abc', ['abc']), 'x=abc', 'secrets under 4 characters are not searched for');
  assert.equal(scrubSecrets('value: TOPSEC', ['TOPSECRET'], true), 'value: <redacted>', 'a secret cut by the limit');
  assert.equal(scrubSecrets('value: TOPSEC', ['TOPSECRET'], false), 'value: TOPSEC', 'only a cut body has a cut secret');
  assert.equal(scrubSecrets('nothing here', ['TOPSECRET'], true), 'nothing here');
  assert.equal(scrubSecrets('longer-secret and secret', ['secret', 'longer-secret']), '<redacted> and <redacted>');
});

test('scrubSecrets merges overlapping occurrences into one marker', () => {
  assert.equal(scrubSecrets('xx abcdefgh yy', ['abcdef', 'defgh']), 'xx <redacted> yy');
  assert.equal(scrubSecrets('abcdabcd', ['abcd']), '<redacted>');
  assert.equal(scrubSecrets('TOPS', ['TOPSECRET'], true), '<redacted>', 'a cut text that is all the beginning of a secret');
});

// A project admin sets 50 header values of thousands of characters and its receiver answers a
// cut body that each of them nearly ends: the cut-tail search used to try every length of every
// form (quadratic in the body, ~150 ms here); it is now one automaton pass per form.
test('scrubSecrets on adversarial secrets and bodies: nothing wrongly kept or removed', () => {
  const secrets = Array.from({ length: 50 }, (_, i) => `${'a'.repeat(4095)}${String.fromCharCode(98 + (i % 20))}`);
  const body = `${'a'.repeat(4095)}z`;
  assert.equal(scrubSecrets(body, secrets, false), body);
  assert.equal(scrubSecrets(body.slice(0, 4095), secrets, true), '<redacted>');
  const long = Array.from({ length: 50 }, (_, i) => 'a'.repeat(4000 + i));
  assert.equal(scrubSecrets(`${'a'.repeat(3000)}c`, long, true), `${'a'.repeat(3000)}c`);
  assert.equal(scrubSecrets(`c${'a'.repeat(3000)}`, long, true), 'c<redacted>');
});
