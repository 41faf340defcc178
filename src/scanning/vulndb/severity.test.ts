import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findingSeverity, ratingOf, scoreVector, severityFromWord } from './severity.ts';
import type { CompactAdvisory, CompactAffected } from './osv.ts';

const advisory = (over: Partial<CompactAdvisory> = {}): CompactAdvisory => ({ id: 'X-1', summary: '', details: '', aliases: [], upstream: [], severity: [], links: [], dbSeverity: '', cwe_ids: [], ...over });
const entry = (over: Partial<CompactAffected> = {}): CompactAffected => ({ ecosystem: 'Debian:12', name: 'zlib', purl: '', ranges: [], versions: [], severity: [], severityWord: '', ...over });

test('severity words: Debian urgencies, Ubuntu priorities, GitHub and Red Hat ratings', () => {
  assert.equal(severityFromWord('unimportant'), 'Low');
  assert.equal(severityFromWord('low**'), 'Low');
  assert.equal(severityFromWord('medium*'), 'Medium');
  assert.equal(severityFromWord('high'), 'High');
  assert.equal(severityFromWord('negligible'), 'Low');
  assert.equal(severityFromWord('MODERATE'), 'Medium');
  assert.equal(severityFromWord('Important'), 'High');
  assert.equal(severityFromWord('CRITICAL'), 'Critical');
  assert.equal(severityFromWord('not yet assigned'), null);
  assert.equal(severityFromWord('end-of-life'), null);
  assert.equal(severityFromWord('untriaged'), null);
  assert.equal(severityFromWord(''), null);
});

test('CVSS vectors are scored by version and rated by FIRST bands', () => {
  assert.deepEqual(scoreVector('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), { version: 3, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 });
  assert.equal(scoreVector('CVSS:3.0/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H')?.score, 7.2);
  assert.deepEqual(scoreVector('AV:N/AC:L/Au:N/C:P/I:P/A:P'), { version: 2, vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P', score: 7.5 });
  assert.equal(scoreVector('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')?.score, 9.3);
  assert.equal(scoreVector('CVSS:3.1/AV:N'), null);
  assert.equal(scoreVector('garbage'), null);
  assert.equal(ratingOf({ version: 3, vector: '', score: 3.9 }), 'Low');
  assert.equal(ratingOf({ version: 3, vector: '', score: 4 }), 'Medium');
  assert.equal(ratingOf({ version: 3, vector: '', score: 7 }), 'High');
  assert.equal(ratingOf({ version: 3, vector: '', score: 9 }), 'Critical');
  assert.equal(ratingOf({ version: 3, vector: '', score: 0 }), 'None');
  assert.equal(ratingOf({ version: 2, vector: '', score: 9.3 }), 'High');
  assert.equal(ratingOf({ version: 2, vector: '', score: 6.9 }), 'Medium');
});

test('severity order: distro word, per-package CVSS, advisory CVSS, database word, Unknown', () => {
  const v3 = { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' };
  const v3low = { type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N' };
  const v2 = { type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' };
  // The distro's own word wins over a critical vector; the vectors still fill preferred_cvss.
  assert.deepEqual(findingSeverity(advisory({ severity: [v3, v2] }), entry({ severityWord: 'low' })), {
    severity: 'Low',
    preferred_cvss: { score_v3: 9.8, vector_v3: v3.score, score_v2: 7.5, vector_v2: v2.score },
  });
  // A word that rates nothing falls through to the vector.
  assert.equal(findingSeverity(advisory({ severity: [v3] }), entry({ severityWord: 'not yet assigned' })).severity, 'Critical');
  // Ubuntu's rating in the advisory's severity[] is the distro's own.
  assert.equal(findingSeverity(advisory({ severity: [v3, { type: 'Ubuntu', score: 'medium' }] }), entry({ ecosystem: 'Ubuntu:22.04:LTS' })).severity, 'Medium');
  assert.equal(findingSeverity(advisory({ severity: [{ type: 'Ubuntu', score: 'medium' }] }), entry({ ecosystem: 'Debian:12' })).severity, 'Unknown');
  // The package's vector before the advisory's.
  assert.equal(findingSeverity(advisory({ severity: [v3] }), entry({ severity: [v3low] })).severity, 'Low');
  // v3 before v2.
  assert.equal(findingSeverity(advisory({ severity: [v2, v3] }), entry()).severity, 'Critical');
  assert.equal(findingSeverity(advisory({ severity: [v2] }), entry()).severity, 'High');
  assert.equal(findingSeverity(advisory({ dbSeverity: 'MODERATE' }), entry()).severity, 'Medium');
  assert.deepEqual(findingSeverity(advisory(), entry()), { severity: 'Unknown', preferred_cvss: { score_v3: null, vector_v3: '', score_v2: null, vector_v2: '' } });
});
