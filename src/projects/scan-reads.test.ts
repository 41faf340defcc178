import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAcceptVulnerabilities } from './scan-reads.ts';

const v11 = 'application/vnd.security.vulnerability.report; version=1.1';
const v10 = 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0';

test('X-Accept-Vulnerabilities: absent means 1.1 then 1.0; order kept; unknown types dropped; none known means 1.0', () => {
  assert.deepEqual(parseAcceptVulnerabilities(undefined), [v11, v10]);
  assert.deepEqual(parseAcceptVulnerabilities(`${v10}, ${v11}`), [v10, v11]);
  assert.deepEqual(parseAcceptVulnerabilities(`application/json,${v11}`), [v11]);
  assert.deepEqual(parseAcceptVulnerabilities('application/json'), [v10]);
  assert.deepEqual(parseAcceptVulnerabilities('application/vnd.security.vulnerability.report;version=1.1'), [v11]);
});
