import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { strToU8, zipSync } from 'fflate';
import { isJavaArchive, javaAnalyzer, manifestCoordinates, mavenPurl, parsePomProperties, readJavaArchive } from './java.ts';
import { runAnalyzer } from './run-analyzer.ts';

const JAVA = '/usr/share/java';
const COMMONS_IO = `${JAVA}/commons-io-2.11.0.jar`;
// The main section of commons-io 2.11.0's META-INF/MANIFEST.MF, as Apache ships it.
const COMMONS_IO_MANIFEST = [
  'Manifest-Version: 1.0',
  'Created-By: Apache Maven Bundle Plugin',
  'Build-Jdk: 11.0.13',
  'Specification-Title: Apache Commons IO',
  'Specification-Version: 2.11',
  'Implementation-Title: Apache Commons IO',
  'Implementation-Version: 2.11.0',
  'Implementation-Vendor-Id: commons-io',
  'Implementation-URL: https://commons.apache.org/proper/commons-io/',
  'Automatic-Module-Name: org.apache.commons.io',
  'Bundle-Description: The Apache Commons IO library contains utility class',
  ' es, stream implementations, file filters,file comparators, endian trans',
  ' formation classes, and much more.',
  'Bundle-SymbolicName: org.apache.commons.io',
  'Bundle-Version: 2.11.0',
  '',
  '',
].join('\r\n');

const pom = (g: string, a: string, v: string): Uint8Array => strToU8(`#Created by Apache Maven 3.8.6\ngroupId=${g}\nartifactId=${a}\nversion=${v}\n`);

test('archives and purls', () => {
  assert.equal(isJavaArchive('app/lib/x-1.0.jar'), true);
  assert.equal(isJavaArchive('opt/jboss/app.ear'), true);
  assert.equal(isJavaArchive('webapps/ROOT.WAR'), true);
  assert.equal(isJavaArchive('app/x.jar.sha1'), false);
  assert.equal(mavenPurl({ groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.14.1' }), 'pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1');
  assert.deepEqual(parsePomProperties('#c\nversion = 1.0\ngroupId=g\r\nartifactId:a\n'), { groupId: 'g', artifactId: 'a', version: '1.0' });
  assert.equal(parsePomProperties('groupId=g\nartifactId=a\n'), null);
});

test('a manifest names a package only when group, artifact and version are certain', () => {
  assert.deepEqual(manifestCoordinates(COMMONS_IO_MANIFEST, 'commons-io-2.11.0.jar'), { groupId: 'commons-io', artifactId: 'commons-io', version: '2.11.0' });
  assert.equal(manifestCoordinates(COMMONS_IO_MANIFEST, 'commons-io.jar'), null);
  assert.equal(manifestCoordinates(COMMONS_IO_MANIFEST, 'commons-io-2.10.0.jar'), null);
  assert.equal(manifestCoordinates(COMMONS_IO_MANIFEST.replace('Implementation-Vendor-Id: commons-io\r\n', ''), 'commons-io-2.11.0.jar'), null);
});

test('real jar from this machine: commons-io 2.11.0', async (t) => {
  if (!existsSync(COMMONS_IO)) {
    t.skip(`${COMMONS_IO} is absent (apt-get install libcommons-io-java)`);
    return;
  }
  const { packages } = await runAnalyzer(javaAnalyzer(), [{ path: 'usr/share/java/commons-io-2.11.0.jar', source: COMMONS_IO }]);
  assert.deepEqual(packages, [
    {
      type: 'maven',
      name: 'commons-io:commons-io',
      version: '2.11.0',
      licenses: [],
      path: 'usr/share/java/commons-io-2.11.0.jar',
      purl: 'pkg:maven/commons-io/commons-io@2.11.0',
    },
  ]);
});

test('every jar in /usr/share/java, against unzip\'s reading of its pom.properties', async (t) => {
  if (!existsSync(JAVA) || spawnSync('unzip', ['-v']).status !== 0) {
    t.skip(`${JAVA} or unzip is absent`);
    return;
  }
  // Each real archive once (Debian links name.jar to name-version.jar).
  const jars = [...new Set(readdirSync(JAVA).filter((n) => n.endsWith('.jar')).map((n) => realpathSync(`${JAVA}/${n}`)))].sort();
  let found = 0;
  for (const jar of jars) {
    const listing = spawnSync('unzip', ['-Z1', jar], { encoding: 'utf8' });
    const props = listing.stdout.split('\n').filter((n) => /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(n));
    const want = props
      .map((p) => parsePomText(spawnSync('unzip', ['-p', jar, p], { encoding: 'utf8' }).stdout))
      .filter((c) => c !== null)
      .sort();
    const { packages } = await runAnalyzer(javaAnalyzer(), [{ path: jar.slice(1), source: jar }]);
    const fromPoms = packages.map((p) => `${p.name}@${p.version}`).sort();
    if (want.length > 0) assert.deepEqual(fromPoms, [...new Set(want)], jar);
    else {
      // Without pom.properties only the manifest can name it, with its Implementation-Vendor-Id.
      const manifest = spawnSync('unzip', ['-p', jar, 'META-INF/MANIFEST.MF'], { encoding: 'utf8' }).stdout;
      for (const p of packages) assert.ok(manifest.includes(`Implementation-Vendor-Id: ${p.name.split(':')[0]}`), jar);
    }
    found += fromPoms.length;
  }
  assert.ok(found > 0);
});

/** pom.properties as `g:a@v`, read with a plain line split (a second reading). */
function parsePomText(text: string): string | null {
  const kv = new Map(text.split('\n').filter((l) => l.includes('=') && !l.startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]));
  const [g, a, v] = [kv.get('groupId'), kv.get('artifactId'), kv.get('version')];
  return g && a && v ? `${g}:${a}@${v}` : null;
}

test('a Spring Boot jar, a war and an ear: nested jars in BOOT-INF/lib, WEB-INF/lib and ear modules', async () => {
  const inner = zipSync({
    'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\n'),
    'META-INF/maven/org.yaml/snakeyaml/pom.properties': pom('org.yaml', 'snakeyaml', '1.33'),
    'org/yaml/snakeyaml/Yaml.class': new Uint8Array([0xca, 0xfe, 0xba, 0xbe]),
  });
  const manifestOnly = zipSync({ 'META-INF/MANIFEST.MF': strToU8(COMMONS_IO_MANIFEST) });
  const boot = zipSync(
    {
      'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\nMain-Class: org.springframework.boot.loader.JarLauncher\n'),
      'META-INF/maven/com.example/demo/pom.properties': pom('com.example', 'demo', '0.0.1-SNAPSHOT'),
      'BOOT-INF/lib/snakeyaml-1.33.jar': inner,
      'BOOT-INF/lib/commons-io-2.11.0.jar': manifestOnly,
      'BOOT-INF/lib/broken.jar': strToU8('not a zip'),
      'BOOT-INF/classes/lib/ignored.jar': inner,
    },
    { level: 0 },
  );
  const war = zipSync({ 'WEB-INF/lib/snakeyaml-1.33.jar': inner, 'index.html': strToU8('<p>') });
  const ear = zipSync({ 'web.war': war, 'lib/snakeyaml-1.33.jar': inner });
  const { packages } = await runAnalyzer(javaAnalyzer(), [
    { path: 'app/app.jar', source: boot, chunkSize: 1000 },
    { path: 'usr/local/tomcat/webapps/shop.war', source: war },
    { path: 'opt/app.ear', source: ear },
    { path: 'opt/not-a-zip.jar', source: strToU8('PK but not really') },
  ]);
  assert.deepEqual(
    packages.map((p) => [p.path, p.name, p.version, p.purl]),
    [
      ['app/app.jar', 'com.example:demo', '0.0.1-SNAPSHOT', 'pkg:maven/com.example/demo@0.0.1-SNAPSHOT'],
      ['app/app.jar', 'org.yaml:snakeyaml', '1.33', 'pkg:maven/org.yaml/snakeyaml@1.33'],
      ['app/app.jar', 'commons-io:commons-io', '2.11.0', 'pkg:maven/commons-io/commons-io@2.11.0'],
      ['usr/local/tomcat/webapps/shop.war', 'org.yaml:snakeyaml', '1.33', 'pkg:maven/org.yaml/snakeyaml@1.33'],
      ['opt/app.ear', 'org.yaml:snakeyaml', '1.33', 'pkg:maven/org.yaml/snakeyaml@1.33'],
    ],
  );
});

test('the real commons-io jar nested in a fat jar', async (t) => {
  if (!existsSync(COMMONS_IO)) {
    t.skip(`${COMMONS_IO} is absent`);
    return;
  }
  const fat = zipSync({ 'BOOT-INF/lib/commons-io-2.11.0.jar': readFileSync(COMMONS_IO) }, { level: 0 });
  const { packages } = await runAnalyzer(javaAnalyzer(), [{ path: 'app.jar', source: fat }]);
  assert.deepEqual(packages.map((p) => p.purl), ['pkg:maven/commons-io/commons-io@2.11.0']);
});

test('one inflate budget for an archive and everything inside it', () => {
  const innerPom = pom('org.yaml', 'snakeyaml', '1.33');
  const inner = zipSync({ 'META-INF/maven/org.yaml/snakeyaml/pom.properties': innerPom });
  const outerPom = pom('com.example', 'demo', '1.0');
  const outer = zipSync({
    'META-INF/maven/com.example/demo/pom.properties': outerPom,
    'BOOT-INF/lib/snakeyaml-1.33.jar': inner,
  });
  const names = (left: number): string[] => readJavaArchive(outer, 'demo.jar', 0, { left }).map((c) => c.artifactId);
  const all = outerPom.length + inner.length + innerPom.length;
  assert.deepEqual(names(all), ['demo', 'snakeyaml']);
  // One byte short: the nested jar is inflated but its pom.properties no longer fits.
  assert.deepEqual(names(all - 1), ['demo']);
  assert.deepEqual(names(outerPom.length + inner.length - 1), ['demo']);
  assert.deepEqual(names(outerPom.length - 1), []);
});
