import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conjoin, licenseRefId, resolveLicense } from './licenses.ts';

function expr(raw: string): string | null {
  const l = resolveLicense(raw);
  return l === null ? null : l.kind === 'spdx' ? l.expression : `text:${l.text}`;
}

test('licenses: valid expressions are kept, with upper-case operators and parentheses where operators nest', () => {
  assert.equal(expr('MIT'), 'MIT');
  assert.equal(expr('Apache-2.0 OR MIT'), 'Apache-2.0 OR MIT');
  assert.equal(expr('MIT or Apache-2.0'), 'MIT OR Apache-2.0');
  assert.equal(expr('(MIT OR Apache-2.0) AND BSD-3-Clause'), '(MIT OR Apache-2.0) AND BSD-3-Clause');
  assert.equal(expr('(MIT AND Zlib) OR ISC'), '(MIT AND Zlib) OR ISC');
  assert.equal(expr('MIT AND (Zlib AND ISC)'), 'MIT AND Zlib AND ISC');
  assert.equal(expr('GPL-2.0-only WITH Classpath-exception-2.0'), 'GPL-2.0-only WITH Classpath-exception-2.0');
  assert.equal(expr('Apache-2.0+'), 'Apache-2.0+');
  assert.equal(expr('LicenseRef-acme'), 'LicenseRef-acme');
});

test('licenses: deprecated ids and common spellings are corrected', () => {
  assert.equal(expr('GPL-2.0+'), 'GPL-2.0-or-later');
  assert.equal(expr('GPL-2.0'), 'GPL-2.0-only');
  assert.equal(expr('LGPL-2.1+ OR MIT'), 'LGPL-2.1-or-later OR MIT');
  assert.equal(expr('GPL-2+'), 'GPL-2.0-or-later');
  assert.equal(expr('GPLv2+'), 'GPL-2.0-or-later');
  assert.equal(expr('Apache 2.0'), 'Apache-2.0');
  assert.equal(expr('BSD-3-clause'), 'BSD-3-Clause');
  assert.equal(expr('Apache 2.0 or BSD-3-clause'), 'Apache-2.0 OR BSD-3-Clause');
});

test('licenses: text that is no license name stays text; empty and NOASSERTION are nothing', () => {
  assert.equal(expr('Some custom text'), 'text:Some custom text');
  assert.equal(expr('public-domain'), 'text:public-domain');
  assert.equal(expr('MIT and (see COPYING'), 'text:MIT and (see COPYING');
  assert.equal(expr('Apache 2.0 and MIT or BSD'), 'text:Apache 2.0 and MIT or BSD');
  assert.equal(expr('  '), null);
  assert.equal(expr('NOASSERTION'), null);
  assert.equal(expr('x'.repeat(100_000)), `text:${'x'.repeat(100_000)}`);
});

test('licenses: LicenseRef ids hold only [A-Za-z0-9.-] and at most 64 characters after the prefix', () => {
  assert.equal(licenseRefId('Some custom text'), 'LicenseRef-Some-custom-text');
  assert.equal(licenseRefId('  (c) ACME, Inc. 2024 / all rights reserved  '), 'LicenseRef-c-ACME-Inc.-2024-all-rights-reserved');
  assert.equal(licenseRefId('§§§'), 'LicenseRef-unknown');
  assert.equal(licenseRefId('a'.repeat(70)), `LicenseRef-${'a'.repeat(64)}`);
});

test('licenses: conjoin puts an OR inside AND in parentheses', () => {
  const a = resolveLicense('MIT OR Apache-2.0');
  const b = resolveLicense('Zlib');
  assert.ok(a?.kind === 'spdx' && b?.kind === 'spdx');
  assert.equal(conjoin([a.node, b.node]), '(MIT OR Apache-2.0) AND Zlib');
  assert.equal(conjoin([]), '');
});

test('licenses: ids in the wrong case, Fedora names, and exceptions spdx-correct would drop', () => {
  assert.equal(expr('BSD-4-clause-UC'), 'BSD-4-Clause-UC');
  assert.equal(expr('ASL 2.0'), 'Apache-2.0');
  assert.equal(expr('ASL 2.0 and MIT'), 'Apache-2.0 AND MIT');
  assert.equal(expr('GPL-2+ with OpenSSL exception'), 'text:GPL-2+ with OpenSSL exception');
});

test('licenses: long hostile texts cost linear time', () => {
  const started = performance.now();
  const dashes = `a${'-'.repeat(200_000)}b`;
  assert.equal(licenseRefId(dashes), `LicenseRef-a`);
  assert.equal(expr(dashes), `text:${dashes}`);
  assert.equal(expr(`MIT ${'OR '.repeat(50_000)}`)?.startsWith('text:'), true);
  assert.ok(performance.now() - started < 2000);
});
