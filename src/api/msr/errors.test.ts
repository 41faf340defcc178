import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generalCodes, ociCodes, type ErrorCode } from '../../domain/index.ts';
import { msrErrors } from './errors.ts';

const codes: readonly ErrorCode[] = [...ociCodes, ...generalCodes];

/** The rows of the "## Errors" section of docs/msr-api.md: domain code -> [status, MSR code]. */
function documented(): Map<string, [number, string]> {
  const text = readFileSync(new URL('../../../docs/msr-api.md', import.meta.url), 'utf8');
  const start = text.indexOf('## Errors');
  assert.ok(start >= 0, 'docs/msr-api.md has an "## Errors" section');
  const rest = text.slice(start + 1);
  const end = rest.search(/\n## /);
  const rows = new Map<string, [number, string]>();
  for (const m of (end < 0 ? rest : rest.slice(0, end)).matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| `([A-Z_]+)` \|$/gm)) rows.set(m[1] ?? '', [Number(m[2]), m[3] ?? '']);
  return rows;
}

test('docs/msr-api.md lists every /api/v0 mapping exactly as the table has it', () => {
  const rows = documented();
  for (const code of codes) assert.deepEqual(rows.get(code), [msrErrors[code].status, msrErrors[code].code], `docs row for ${code}`);
  assert.equal(rows.size, codes.length);
});
