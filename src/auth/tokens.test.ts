import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScope } from './tokens.ts';
import { isDomainError } from '../domain/index.ts';

test('parseScope reads type, name and actions', () => {
  assert.deepEqual(parseScope('repository:library/alpine:pull,push'), { type: 'repository', name: 'library/alpine', actions: ['pull', 'push'] });
  assert.deepEqual(parseScope('repository(plugin):a/b:pull'), { type: 'repository', name: 'a/b', actions: ['pull'] });
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.deepEqual(parseScope('repository:a/b:'), { type: 'repository', name: 'a/b', actions: [] });
});

test('parseScope refuses malformed scopes', () => {
  for (const bad of ['nonsense', 'repository:pull', ':a/b:pull', 'repository::pull']) {
    assert.throws(() => parseScope(bad), (e) => isDomainError(e, 'BAD_REQUEST'), bad);
  }
});

test('parseScope refuses repository names /v2 refuses, with the same parser', () => {
  for (const name of ['private/../p2/app', 'a/./b', 'A/b', 'a/b/', '/a/b', 'a//b', 'a/%2e%2e/b', 'alpine', `a/${'x'.repeat(300)}`]) {
    assert.throws(
      () => parseScope(`repository:${name}:pull`),
      (e) => isDomainError(e, 'BAD_REQUEST') && e.message.includes('invalid repository name'),
      name,
    );
  }
  // Other resource types keep their own names.
  assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  assert.deepEqual(parseScope('repository(plugin):a/b.c_d/e-f:pull'), { type: 'repository', name: 'a/b.c_d/e-f', actions: ['pull'] });
});
