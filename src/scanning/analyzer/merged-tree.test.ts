import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MergedTree, normalizePath } from './merged-tree.ts';

function paths(tree: MergedTree): string[] {
  return [...tree.walk()].map(([p, n]) => `${p}:${n.kind}`).sort();
}

test('normalizePath returns names that are already normal as they are, and agrees with splitting on every short name', () => {
  const slow = (name: string) => name.split('/').filter((p) => p !== '' && p !== '.').join('/');
  // Every name of up to 6 pieces over these: all the ways of writing `.`, `..`, `//` and plain parts.
  const pieces = ['a', '.', '/', '..', '.wh.', 'b.c'];
  let names = [''];
  for (let n = 0; n < 6; n++) names = names.flatMap((name) => pieces.map((p) => name + p));
  for (const name of names) assert.equal(normalizePath(name), slow(name), JSON.stringify(name));
  const normal = 'usr/lib/python3/dist-packages/x.dist-info/METADATA';
  assert.equal(normalizePath(normal), normal);
});

test('normalizePath strips ./, leading and doubled slashes and the trailing slash', () => {
  assert.equal(normalizePath('./etc/os-release'), 'etc/os-release');
  assert.equal(normalizePath('/usr//lib/'), 'usr/lib');
  assert.equal(normalizePath('./'), '');
  assert.equal(normalizePath('a/../b'), 'a/../b');
});

test('a whiteout removes the lower path and its subtree, but not what its own layer wrote', () => {
  const t = new MergedTree();
  t.set('etc/ssl/certs/a.pem', 0, { kind: 'file' });
  t.set('etc/ssl/openssl.cnf', 0, { kind: 'file' });
  t.set('etc/hosts', 0, { kind: 'file' });
  t.whiteout('etc/ssl', 1);
  t.whiteout('etc/missing', 1);
  assert.deepEqual(paths(t), ['etc/hosts:file', 'etc:dir']);

  t.set('etc/new', 2, { kind: 'file' });
  t.whiteout('etc/new', 2); // same layer: stays
  t.whiteout('etc', 2); // removes lower entries only: hosts goes, new stays
  assert.deepEqual(paths(t), ['etc/new:file', 'etc:dir']);
});

test('an opaque directory drops everything lower layers wrote below it, at any depth', () => {
  const t = new MergedTree();
  t.set('opt/app/bin/run', 0, { kind: 'file' });
  t.set('opt/app/lib/x.so', 0, { kind: 'file' });
  t.set('opt/other', 0, { kind: 'file' });
  t.set('opt/app/lib/y.so', 1, { kind: 'file' });
  t.opaque('opt/app', 1);
  assert.deepEqual(paths(t), ['opt/app/lib/y.so:file', 'opt/app/lib:dir', 'opt/app:dir', 'opt/other:file', 'opt:dir']);
});

test('an upper file replaces a lower one, and a file replaces a directory', () => {
  const t = new MergedTree();
  const lower = t.set('a/b', 0, { kind: 'file', size: 1 });
  lower.results = new Map([[1, 'lower']]);
  const upper = t.set('a/b', 1, { kind: 'file', size: 2 });
  assert.equal(t.get('a/b'), upper);
  assert.equal(upper.results, undefined);
  t.set('d/e', 0, { kind: 'file' });
  t.set('d', 1, { kind: 'file' });
  assert.deepEqual(paths(t), ['a/b:file', 'a:dir', 'd:file']);
});

test('resolve follows relative, absolute, directory and hard links, and `..` stops at the root', () => {
  const t = new MergedTree();
  t.set('usr/lib/os-release', 0, { kind: 'file', size: 7 });
  t.set('etc/os-release', 0, { kind: 'symlink', target: '../usr/lib/os-release' });
  t.set('lib', 0, { kind: 'symlink', target: 'usr/lib' });
  t.set('abs', 0, { kind: 'symlink', target: '/etc/os-release' });
  t.set('up', 0, { kind: 'symlink', target: '../../../../usr/lib/os-release' });
  t.set('hard', 0, { kind: 'hardlink', target: 'usr/lib/os-release' });
  for (const p of ['etc/os-release', 'lib/os-release', 'abs', 'up', 'hard', 'usr/lib/os-release', 'usr/./lib/../lib/os-release']) {
    assert.equal(t.resolve(p)?.path, 'usr/lib/os-release', p);
    assert.equal(t.resolve(p)?.node.size, 7, p);
  }
  assert.equal(t.resolve('lib')?.path, 'usr/lib');
  assert.equal(t.resolve('etc/os-release/x'), null);
  assert.equal(t.resolve('nope'), null);
});

test('resolve gives up after 40 links: loops and over-long chains', () => {
  const t = new MergedTree();
  t.set('a', 0, { kind: 'symlink', target: 'b' });
  t.set('b', 0, { kind: 'symlink', target: 'a' });
  assert.equal(t.resolve('a'), null);
  t.set('f', 0, { kind: 'file' });
  t.set('l0', 0, { kind: 'symlink', target: 'f' });
  for (let i = 1; i <= 40; i++) t.set(`l${i}`, 0, { kind: 'symlink', target: `l${i - 1}` });
  assert.equal(t.resolve('l39')?.path, 'f'); // 40 hops
  assert.equal(t.resolve('l40'), null); // 41 hops
});

test('an entry below a directory symlink lands in the link\'s target; a whiteout there too', () => {
  const t = new MergedTree();
  t.set('usr/lib/os-release', 0, { kind: 'file' });
  t.set('lib', 0, { kind: 'symlink', target: 'usr/lib' });
  const node = t.set('lib/apk/db/installed', 1, { kind: 'file', size: 5 });
  assert.equal(t.get('usr/lib/apk/db/installed'), node);
  assert.equal(t.get('lib')?.kind, 'symlink');
  t.whiteout('lib/os-release', 2);
  assert.equal(t.get('usr/lib/os-release'), undefined);
  // A link to nothing is replaced by a directory.
  t.set('dangling', 0, { kind: 'symlink', target: 'nowhere' });
  t.set('dangling/file', 1, { kind: 'file' });
  assert.equal(t.get('dangling')?.kind, 'dir');
  assert.equal(t.get('dangling/file')?.kind, 'file');
});
