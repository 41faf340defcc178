import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generalCodes, ociCodes, type ErrorCode } from '../../domain/index.ts';
import { harborErrors } from './errors.ts';

const errorCodeList: readonly ErrorCode[] = [...ociCodes, ...generalCodes];

/** The rows of the "## /api/v2.0" section of docs/errors.md: domain code -> [status, Harbor code]. */
function documentedRows(): Map<string, [number, string]> {
  const text = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const start = text.indexOf('## /api/v2.0');
  assert.ok(start >= 0, 'docs/errors.md has a "## /api/v2.0" section');
  const rest = text.slice(start + 1);
  const end = rest.search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end);
  const rows = new Map<string, [number, string]>();
  for (const m of section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| `([A-Z_]+)` \|/gm)) {
    rows.set(m[1] ?? '', [Number(m[2]), m[3] ?? '']);
  }
  return rows;
}

test('docs/errors.md lists every /api/v2.0 mapping exactly as the table has it', () => {
  const rows = documentedRows();
  for (const code of errorCodeList) {
    const spec = harborErrors[code];
    assert.deepEqual(rows.get(code), [spec.status, spec.code], `docs row for ${code}`);
  }
  assert.equal(rows.size, errorCodeList.length, 'no documented code is missing from the table');
});

test('UNAUTHORIZED is 401, DENIED 403, PRECONDITION_FAILED 412 with Harbor codes', () => {
  assert.deepEqual(harborErrors.UNAUTHORIZED, { status: 401, code: 'UNAUTHORIZED' });
  assert.deepEqual(harborErrors.DENIED, { status: 403, code: 'FORBIDDEN' });
  assert.deepEqual(harborErrors.PRECONDITION_FAILED, { status: 412, code: 'PRECONDITION' });
});
