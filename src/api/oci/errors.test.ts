import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generalCodes, ociCodes, type ErrorCode } from '../../domain/index.ts';
import { ociErrorTable } from './errors.ts';

const allCodes: readonly ErrorCode[] = [...ociCodes, ...generalCodes];

/** The rows of the "## /v2" section of docs/errors.md: domain code -> [status, wire code]. */
function documentedRows(): Map<string, [number, string]> {
  const text = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const start = text.indexOf('\n## /v2\n');
  assert.ok(start >= 0, 'docs/errors.md has a "## /v2" section');
  const rest = text.slice(start + 1);
  const end = rest.slice(1).search(/\n## /);
  const section = end < 0 ? rest : rest.slice(0, end + 1);
  const rows = new Map<string, [number, string]>();
  for (const m of section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| `([A-Z_]+)` \|/gm)) {
    assert.ok(!rows.has(m[1] ?? ''), `${m[1]} is documented once`);
    rows.set(m[1] ?? '', [Number(m[2]), m[3] ?? '']);
  }
  return rows;
}

test('docs/errors.md lists every /v2 mapping exactly as the table has it', () => {
  const rows = documentedRows();
  for (const code of allCodes) {
    const entry = ociErrorTable[code];
    assert.deepEqual(rows.get(code), [entry.status, entry.code], `docs row for ${code}`);
  }
  assert.equal(rows.size, allCodes.length, 'the docs list no code the table lacks');
});

test('the spec-mandated statuses hold', () => {
  const status = (c: ErrorCode) => ociErrorTable[c].status;
  assert.equal(status('BLOB_UNKNOWN'), 404);
  assert.equal(status('BLOB_UPLOAD_UNKNOWN'), 404);
  assert.equal(status('MANIFEST_UNKNOWN'), 404);
  assert.equal(status('NAME_UNKNOWN'), 404);
  assert.equal(status('UNAUTHORIZED'), 401);
  assert.equal(status('DENIED'), 403);
  assert.equal(status('DIGEST_INVALID'), 400);
  assert.deepEqual([status('RANGE_INVALID'), ociErrorTable.RANGE_INVALID.code], [416, 'BLOB_UPLOAD_INVALID']);
  // Every OCI code keeps its own name on the wire.
  for (const c of ociCodes) assert.equal(ociErrorTable[c].code, c);
});
