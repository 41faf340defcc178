import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isJsonObject, storedObject, storedStringArray } from './json-values.ts';

test('stored JSON readers give empty values for text that is not what they expect', () => {
  assert.deepEqual(storedStringArray('["a",1,"b"]'), ['a', 'b']);
  assert.deepEqual(storedStringArray('{"a":1}'), []);
  assert.deepEqual(storedStringArray('not json'), []);
  assert.deepEqual(storedObject('{"a":1}'), { a: 1 });
  assert.deepEqual(storedObject('[1]'), {});
  assert.deepEqual(storedObject(''), {});
  assert.equal(isJsonObject(null), false);
  assert.equal(isJsonObject([]), false);
  assert.equal(isJsonObject({}), true);
});
