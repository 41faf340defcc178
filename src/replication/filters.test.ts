import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destinationRepository, matchesArtifact, matchesRepository, type ArtifactFacts, type ReplicationFilter } from './filters.ts';

const name = (value: string): ReplicationFilter => ({ type: 'name', value });
const tag = (value: string, decoration: 'matches' | 'excludes' = 'matches'): ReplicationFilter => ({ type: 'tag', value, decoration });
const label = (value: string[], decoration: 'matches' | 'excludes' = 'matches'): ReplicationFilter => ({ type: 'label', value, decoration });
const resource = (value: 'image' | 'artifact'): ReplicationFilter => ({ type: 'resource', value });
const art = (tags: string[], labels: string[] = [], kind = 'IMAGE'): ArtifactFacts => ({ tags, labels, kind });

test('matchesRepository: name filters over the full path, all of them, an empty pattern selects all', () => {
  const cases: Array<[ReplicationFilter[], string, boolean]> = [
    [[], 'library/alpine', true],
    [[name('library/**')], 'library/alpine', true],
    [[name('library/**')], 'library/a/b', true],
    [[name('library/**')], 'other/alpine', false],
    // The project is part of the path: a pattern without it matches nothing in a project.
    [[name('alpine')], 'library/alpine', false],
    [[name('*/alpine')], 'library/alpine', true],
    [[name('{library,team}/*')], 'team/web', true],
    [[name('{library,team}/*')], 'ops/web', false],
    [[name('')], 'anything/here', true],
    [[name('library/**'), name('**/alpine')], 'library/alpine', true],
    [[name('library/**'), name('**/alpine')], 'library/busybox', false],
    // Other filter types do not judge repositories.
    [[tag('v*'), label(['x']), resource('image')], 'library/alpine', true],
  ];
  for (const [filters, repo, want] of cases) assert.equal(matchesRepository(filters, repo), want, `${JSON.stringify(filters)} ${repo}`);
});

test('matchesArtifact: tag decorations per tag, only the kept tags are copied', () => {
  const cases: Array<[ReplicationFilter[], string[], string[] | null]> = [
    [[], ['a', 'b'], ['a', 'b']],
    [[tag('v*')], ['v1', 'latest', 'v2'], ['v1', 'v2']],
    [[tag('v*')], ['latest'], null],
    [[tag('v*', 'excludes')], ['v1', 'latest'], ['latest']],
    // "excludes latest" still copies the other tags of an artifact that also has latest.
    [[tag('latest', 'excludes')], ['latest', '1.2'], ['1.2']],
    [[tag('latest', 'excludes')], ['latest'], null],
    [[tag('{1.2,1.3}')], ['1.2', '1.3', '1.4'], ['1.2', '1.3']],
    // An empty pattern selects everything, whatever the decoration.
    [[tag('')], ['x'], ['x']],
    [[tag('', 'excludes')], ['x'], ['x']],
    // Several tag filters narrow in turn.
    [[tag('v*'), tag('v1*', 'excludes')], ['v1', 'v1.1', 'v2', 'latest'], ['v2']],
    [[tag('v*'), tag('v*', 'excludes')], ['v1'], null],
  ];
  for (const [filters, tags, want] of cases) {
    assert.deepEqual(matchesArtifact(filters, art(tags)), want === null ? null : { tags: want }, `${JSON.stringify(filters)} ${tags.join(',')}`);
  }
});

test('matchesArtifact: an untagged artifact is tested as the empty string', () => {
  const cases: Array<[ReplicationFilter[], boolean]> = [
    [[], true],
    [[tag('**')], true],
    [[tag('*')], true],
    [[tag('v*')], false],
    [[tag('**', 'excludes')], false],
    [[tag('*', 'excludes')], false],
    [[tag('v*', 'excludes')], true],
    [[tag('')], true],
    [[tag('', 'excludes')], true],
    [[tag('**'), tag('v*', 'excludes')], true],
    [[tag('**'), tag('v*')], false],
  ];
  for (const [filters, want] of cases) {
    assert.deepEqual(matchesArtifact(filters, art([])), want ? { tags: [] } : null, JSON.stringify(filters));
  }
});

test('matchesArtifact: label filters need every named label; excludes inverts', () => {
  const cases: Array<[ReplicationFilter[], string[], boolean]> = [
    [[label(['prod'])], ['prod', 'x'], true],
    [[label(['prod'])], ['x'], false],
    [[label(['prod'])], [], false],
    [[label(['prod', 'qa'])], ['prod'], false],
    [[label(['prod', 'qa'])], ['qa', 'prod'], true],
    [[label(['prod'], 'excludes')], ['prod'], false],
    [[label(['prod'], 'excludes')], [], true],
    [[label(['prod', 'qa'], 'excludes')], ['prod'], true],
    [[label(['prod', 'qa'], 'excludes')], ['prod', 'qa'], false],
    [[label([])], [], true],
    [[label([], 'excludes')], ['prod'], true],
    [[label(['prod']), label(['qa'], 'excludes')], ['prod'], true],
    [[label(['prod']), label(['qa'], 'excludes')], ['prod', 'qa'], false],
  ];
  for (const [filters, labels, want] of cases) {
    assert.deepEqual(matchesArtifact(filters, art(['v1'], labels)), want ? { tags: ['v1'] } : null, `${JSON.stringify(filters)} ${labels.join(',')}`);
  }
});

test('matchesArtifact: resource image keeps images only, artifact keeps every kind', () => {
  const cases: Array<[ReplicationFilter[], string, boolean]> = [
    [[resource('image')], 'IMAGE', true],
    [[resource('image')], 'CHART', false],
    [[resource('image')], 'UNKNOWN', false],
    [[resource('artifact')], 'IMAGE', true],
    [[resource('artifact')], 'CHART', true],
    [[resource('artifact')], 'SBOM', true],
    [[], 'CHART', true],
  ];
  for (const [filters, kind, want] of cases) {
    assert.deepEqual(matchesArtifact(filters, art(['1.0'], [], kind)), want ? { tags: ['1.0'] } : null, `${JSON.stringify(filters)} ${kind}`);
  }
});

test('matchesArtifact: all filters together', () => {
  const filters = [tag('v*'), label(['prod']), resource('image')];
  assert.deepEqual(matchesArtifact(filters, art(['v1', 'dev'], ['prod'])), { tags: ['v1'] });
  assert.equal(matchesArtifact(filters, art(['v1'], [])), null);
  assert.equal(matchesArtifact(filters, art(['v1'], ['prod'], 'CHART')), null);
  assert.equal(matchesArtifact(filters, art(['dev'], ['prod'])), null);
});

test('matchesArtifact: an accessory is judged by its subject and copied with its own tags', () => {
  const subject = { tags: ['v1', 'dev'], labels: ['prod'], kind: 'IMAGE' };
  const signature: ArtifactFacts = { tags: [], labels: [], kind: 'UNKNOWN', subject };
  const tagged: ArtifactFacts = { tags: ['sha256-abc.sig'], labels: [], kind: 'UNKNOWN', subject };
  assert.deepEqual(matchesArtifact([tag('v*'), label(['prod']), resource('image')], signature), { tags: [] });
  assert.deepEqual(matchesArtifact([tag('v*')], tagged), { tags: ['sha256-abc.sig'] });
  assert.equal(matchesArtifact([tag('release-*')], signature), null);
  assert.equal(matchesArtifact([label(['qa'])], signature), null);
  assert.equal(matchesArtifact([resource('image')], { ...signature, subject: { ...subject, kind: 'CHART' } }), null);
  // An accessory of an untagged subject follows the untagged rule.
  assert.deepEqual(matchesArtifact([tag('**')], { ...signature, subject: { ...subject, tags: [] } }), { tags: [] });
  assert.equal(matchesArtifact([tag('v*')], { ...signature, subject: { ...subject, tags: [] } }), null);
});

test('destinationRepository: the flattening table of dest_namespace_replace_count', () => {
  const cases: Array<[string, string, number, string]> = [
    // harbor-lifecycle.md §4.3: source a/b/c/img, namespace n.
    ['a/b/c/img', 'n', -1, 'n/img'],
    ['a/b/c/img', 'n', 0, 'n/a/b/c/img'],
    ['a/b/c/img', 'n', 1, 'n/b/c/img'],
    ['a/b/c/img', 'n', 2, 'n/c/img'],
    ['a/b/c/img', 'n', 3, 'n/img'],
    // Any negative count is the legacy mode.
    ['a/b/c/img', 'n', -7, 'n/img'],
    // An empty namespace keeps the path, whatever the count.
    ['a/b/c/img', '', -1, 'a/b/c/img'],
    ['a/b/c/img', '', 3, 'a/b/c/img'],
    ['a/b/c/img', '', 9, 'a/b/c/img'],
    ['library/alpine', 'mirror', -1, 'mirror/alpine'],
    ['library/alpine', 'mirror', 0, 'mirror/library/alpine'],
    ['library/alpine', 'mirror', 1, 'mirror/alpine'],
    ['alpine', 'mirror', -1, 'mirror/alpine'],
    ['alpine', 'mirror', 0, 'mirror/alpine'],
    // A namespace may have several components.
    ['a/b/c/img', 'x/y', 1, 'x/y/b/c/img'],
    ['a/b/c/img', 'x/y', -1, 'x/y/img'],
  ];
  for (const [src, ns, count, want] of cases) assert.equal(destinationRepository(src, ns, count), want, `${src} ${ns} ${count}`);
});

test('destinationRepository: a count beyond the source path, and the destination path rules', () => {
  const bad = (f: () => string, message: string) => assert.throws(f, { code: 'BAD_REQUEST', message });
  bad(() => destinationRepository('a/b/c/img', 'n', 4), 'dest_namespace_replace_count 4 is larger than the 3 path component(s) before the last one in the source repository "a/b/c/img"');
  bad(() => destinationRepository('library/alpine', 'n', 2), 'dest_namespace_replace_count 2 is larger than the 1 path component(s) before the last one in the source repository "library/alpine"');
  bad(() => destinationRepository('alpine', 'n', 1), 'dest_namespace_replace_count 1 is larger than the 0 path component(s) before the last one in the source repository "alpine"');
  // only-two (Docker Hub style).
  assert.equal(destinationRepository('a/b/c/img', 'n', -1, 'only-two'), 'n/img');
  assert.equal(destinationRepository('library/alpine', '', -1, 'only-two'), 'library/alpine');
  bad(() => destinationRepository('a/b/c/img', 'n', 1, 'only-two'), 'the destination repository "n/b/c/img" has 4 path components; the destination registry takes exactly 2');
  bad(() => destinationRepository('alpine', '', -1, 'only-two'), 'the destination repository "alpine" has 1 path component; the destination registry takes exactly 2');
  // at-least-two (Harbor style), checked with an empty namespace too.
  assert.equal(destinationRepository('a/b/c/img', 'n', 0, 'at-least-two'), 'n/a/b/c/img');
  assert.equal(destinationRepository('alpine', 'n', -1, 'at-least-two'), 'n/alpine');
  bad(() => destinationRepository('alpine', '', -1, 'at-least-two'), 'the destination repository "alpine" has 1 path component; the destination registry needs at least 2');
  // any checks nothing.
  assert.equal(destinationRepository('alpine', '', -1, 'any'), 'alpine');
});
