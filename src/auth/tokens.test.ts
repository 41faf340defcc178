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
