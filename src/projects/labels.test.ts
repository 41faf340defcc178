/** Unit tests of the pure parts of src/projects/labels.ts: the `labels` condition and the Label view. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError, type TypedCondition } from '../domain/index.ts';
import { labelView, parseLabelsCondition } from './labels.ts';

const message = 'the value of "labels" query can only be integer list with intersetion relationship';

describe('parseLabelsCondition', () => {
  it('reads an AND list of integers', () => {
    assert.deepEqual(parseLabelsCondition({ kind: 'and', values: ['4', '7'] }), [4, 7]);
    assert.deepEqual(parseLabelsCondition({ kind: 'and', values: ['12'] }), [12]);
  });

  it('refuses every other form with Harbor’s message', () => {
    const cases: TypedCondition[] = [
      { kind: 'exact', value: '4' },
      { kind: 'or', values: ['4', '7'] },
      { kind: 'fuzzy', value: '4' },
      { kind: 'and', values: ['4', 'x'] },
      { kind: 'and', values: ['-1'] },
      { kind: 'and', values: ['1234567890123456'] },
    ];
    for (const c of cases) {
      assert.throws(() => parseLabelsCondition(c), (e: unknown) => isDomainError(e, 'BAD_REQUEST') && e.message === message, JSON.stringify(c));
    }
  });
});

describe('labelView', () => {
  it('shows a row as Harbor’s Label', () => {
    const row = { id: 4, name: 'prod', description: 'QA passed', color: '#61717D', scope: 'p', project_id: 3, creation_time: 0, update_time: 1000 };
    assert.deepEqual(labelView(row), {
      id: 4,
      name: 'prod',
      description: 'QA passed',
      color: '#61717D',
      scope: 'p',
      project_id: 3,
      creation_time: '1970-01-01T00:00:00.000Z',
      update_time: '1970-01-01T00:00:01.000Z',
    });
  });
});
