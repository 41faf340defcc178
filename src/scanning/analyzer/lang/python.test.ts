import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isPythonMetadata, parseHeaders, pep503, pypiPurl, pythonAnalyzer } from './python.ts';
import { runAnalyzer } from './run-analyzer.ts';

const DIST = '/usr/lib/python3/dist-packages';
const FIXTURES = 'test/fixtures/scanning/lang';

test('which files are metadata', () => {
  assert.equal(isPythonMetadata('usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA'), true);
  assert.equal(isPythonMetadata('usr/lib/python3/dist-packages/PyJWT-2.6.0.egg-info/PKG-INFO'), true);
  assert.equal(isPythonMetadata('usr/lib/python2.7/wsgiref.egg-info'), true);
  assert.equal(isPythonMetadata('usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/RECORD'), false);
  assert.equal(isPythonMetadata('usr/lib/python3/dist-packages/x/METADATA'), false);
  assert.equal(isPythonMetadata('usr/lib/python3/dist-packages/x/PKG-INFO'), false);
});

test('PEP 503 names in purls, names kept as written', () => {
  assert.equal(pep503('PyYAML'), 'pyyaml');
  assert.equal(pep503('lazr.restfulclient'), 'lazr-restfulclient');
  assert.equal(pep503('Foo__Bar-.baz'), 'foo-bar-baz');
  assert.equal(pypiPurl('charset_normalizer', '3.0.1'), 'pkg:pypi/charset-normalizer@3.0.1');
});

test('continuation lines and a stop at the blank line', () => {
  const h = parseHeaders('Name: x\nLicense: first\n        second\nVersion: 1\n\nName: not-a-header');
  assert.deepEqual([...h], [
    ['name', ['x']],
    ['license', ['first\nsecond']],
    ['version', ['1']],
  ]);
});

const REAL = [
  {
    file: `${DIST}/PyYAML-6.0.dist-info/METADATA`,
    debian: 'python3-yaml',
    expected: { name: 'PyYAML', version: '6.0', licenses: ['MIT'], purl: 'pkg:pypi/pyyaml@6.0' },
  },
  {
    file: `${DIST}/PyJWT-2.6.0.egg-info/PKG-INFO`,
    debian: 'python3-jwt',
    expected: { name: 'PyJWT', version: '2.6.0', licenses: ['MIT'], purl: 'pkg:pypi/pyjwt@2.6.0' },
  },
];

for (const { file, debian, expected } of REAL) {
  test(`real metadata from this machine: ${expected.name} ${expected.version}`, async (t) => {
    if (!existsSync(file)) {
      t.skip(`${file} is absent (${debian} is not installed at that version)`);
      return;
    }
    const { packages } = await runAnalyzer(pythonAnalyzer(), [{ path: file.slice(1), source: file }]);
    assert.deepEqual(packages, [{ type: 'pypi', ...expected, path: file.slice(1) }]);
  });
}

test('every distribution in dist-packages, as Python itself reads them', async (t) => {
  if (!existsSync('/usr/bin/python3') || !existsSync(DIST)) {
    t.skip('/usr/bin/python3 or its dist-packages is absent');
    return;
  }
  const files = readdirSync(DIST)
    .flatMap((d) => [`${DIST}/${d}/METADATA`, `${DIST}/${d}/PKG-INFO`, `${DIST}/${d}`])
    .filter((f) => isPythonMetadata(f.slice(1)) && existsSync(f) && !f.endsWith('.egg-info'));
  const { packages } = await runAnalyzer(pythonAnalyzer(), files.map((f) => ({ path: f.slice(1), source: f })));
  const python = spawnSync(
    '/usr/bin/python3',
    ['-c', `import importlib.metadata as m\nfor d in m.distributions(path=['${DIST}']): print(d.metadata['Name'] + '\\t' + d.version)`],
    { encoding: 'utf8' },
  );
  assert.equal(python.status, 0, python.stderr);
  const expected = python.stdout.trim().split('\n').sort();
  assert.ok(expected.length >= 2);
  assert.deepEqual(packages.map((p) => `${p.name}\t${p.version}`).sort(), expected);
});

test('License-Expression wins; a single-file egg-info; CRLF split across chunks', async () => {
  const urllib3 = `${FIXTURES}/urllib3-2.7.0.dist-info/METADATA`;
  const crlf = Buffer.from('Metadata-Version: 2.1\r\nName: ruamel.yaml\r\nVersion: 0.17.21\r\nLicense: UNKNOWN\r\nClassifier: License :: OSI Approved :: MIT License\r\n\r\nVersion: 9\r\n');
  const { packages } = await runAnalyzer(pythonAnalyzer(), [
    { path: 'site-packages/urllib3-2.7.0.dist-info/METADATA', source: readFileSync(urllib3), chunkSize: 100 },
    { path: 'usr/lib/python2.7/wsgiref.egg-info', source: `${FIXTURES}/wsgiref.egg-info` },
    { path: 'site-packages/ruamel.yaml-0.17.21.dist-info/METADATA', source: crlf, chunkSize: 3 },
  ]);
  assert.deepEqual(
    packages.map((p) => [p.name, p.version, p.licenses, p.purl]),
    [
      ['urllib3', '2.7.0', ['MIT'], 'pkg:pypi/urllib3@2.7.0'],
      ['wsgiref', '0.1.2', ['PSF or ZPL'], 'pkg:pypi/wsgiref@0.1.2'],
      ['ruamel.yaml', '0.17.21', ['MIT License'], 'pkg:pypi/ruamel-yaml@0.17.21'],
    ],
  );
});

test('metadata without a version is nothing', async () => {
  const { results } = await runAnalyzer(pythonAnalyzer(), [
    { path: 'x/a-1.dist-info/METADATA', source: Buffer.from('Name: a\n\nVersion: 1\n') },
  ]);
  assert.equal(results.size, 0);
});
