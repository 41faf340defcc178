import { test } from 'node:test';
import assert from 'node:assert/strict';
import { externalHost, goJson, imageReference, inStructOrder, repoShortName, rfc3339Nano, rfc3339Seconds, truncate, urlOrigin } from './common.ts';

test('common: goJson escapes like Go encoding/json and keeps insertion order', () => {
  assert.equal(goJson({ b: '<a href="x">&</a>', a: 1, u: undefined }), '{"b":"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e","a":1}');
  assert.equal(goJson({ s: '\u2028\u2029\n\t\u0001' }), '{"s":"\\u2028\\u2029\\n\\t\\u0001"}');
  assert.equal(goJson({ a: [1, {}], b: {} }, '   '), '{\n   "a": [\n      1,\n      {}\n   ],\n   "b": {}\n}');
});

test('common: timestamps in the layouts Go prints', () => {
  assert.equal(rfc3339Seconds(1680501893999), '2023-04-03T06:04:53Z');
  assert.equal(rfc3339Nano(1680501893000), '2023-04-03T06:04:53Z');
  assert.equal(rfc3339Nano(1680501893500), '2023-04-03T06:04:53.5Z');
  assert.equal(rfc3339Nano(1680501893050), '2023-04-03T06:04:53.05Z');
  assert.equal(rfc3339Nano(1680501893123), '2023-04-03T06:04:53.123Z');
});

test('common: external host without scheme, image references, repository names', () => {
  assert.equal(externalHost('https://harbor.example.com'), 'harbor.example.com');
  assert.equal(externalHost('http://HARBOR.example.com:8080/'), 'harbor.example.com:8080');
  assert.equal(externalHost('https://example.com/registry/'), 'example.com/registry');
  assert.equal(imageReference('https://h.example', 'p/r', 'v1'), 'h.example/p/r:v1');
  assert.equal(imageReference('https://h.example', 'p/r', 'sha256:ab'), 'h.example/p/r@sha256:ab');
  assert.equal(repoShortName('library/a/b'), 'a/b');
  assert.equal(repoShortName('single'), 'single');
  assert.equal(urlOrigin('https://user:pw@hooks.example.com:8443/services/T/B/SECRET?token=x'), 'https://hooks.example.com:8443');
  assert.equal(urlOrigin('not a url'), '');
});

test('common: inStructOrder reorders, applies omitempty and keeps unknown keys last', () => {
  const out = inStructOrder({ z: 1, b: '', a: false, c: [] , d: 0 }, [['a', true], ['b', false], ['c', true], ['d', false]]);
  assert.equal(JSON.stringify(out), '{"b":"","d":0,"z":1}');
});

test('common: truncate never exceeds the limit nor splits a surrogate pair', () => {
  assert.equal(truncate('abcdef', 6), 'abcdef');
  assert.equal(truncate('abcdef', 4), 'abc…');
  assert.equal(truncate('ab😀cd', 4), 'ab…');
  assert.equal(truncate('abc', 0), '');
});
