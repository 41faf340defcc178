import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxCopySourceLength, parseCopySource } from './artifact-copy.ts';
import { isDomainError } from '../domain/index.ts';

const digest = `sha256:${'a'.repeat(64)}`;

test('from names a repository with a tag or a digest', () => {
  assert.deepEqual(parseCopySource('lib/app:v1'), { repository: 'lib/app', reference: { kind: 'tag', tag: 'v1' } });
  assert.deepEqual(parseCopySource('lib/a/b:1.0_rc'), { repository: 'lib/a/b', reference: { kind: 'tag', tag: '1.0_rc' } });
  assert.deepEqual(parseCopySource(`lib/a/b@${digest}`), { repository: 'lib/a/b', reference: { kind: 'digest', digest } });
});

test('anything else is BAD_REQUEST naming the accepted forms', () => {
  const bad = ['lib/app', 'app:v1', 'lib/app@v1', 'lib/App:v1', 'lib/app:', 'lib/app:-x', `lib/app:v1@${digest}`, 'lib:x/app', `lib/app@sha256:${'a'.repeat(63)}`, `lib/app@md5:${'a'.repeat(32)}`, 'l'.repeat(maxCopySourceLength + 1)];
  for (const from of bad) {
    assert.throws(
      () => parseCopySource(from),
      (e) => isDomainError(e, 'BAD_REQUEST') && e.message.endsWith('use <project>/<repository>:<tag> or <project>/<repository>@<digest>') && e.message.startsWith('invalid from "'),
      from,
    );
  }
  for (const from of [undefined, '', 7, ['lib/app:v1']]) {
    assert.throws(() => parseCopySource(from), (e) => isDomainError(e, 'BAD_REQUEST') && e.message.startsWith('from is required'), String(from));
  }
});

test('a long from is refused in linear time and shown cut', () => {
  const from = `${'a/'.repeat(200_000)}x`;
  const t = Date.now();
  assert.throws(() => parseCopySource(from), (e) => isDomainError(e, 'BAD_REQUEST') && e.message.includes('...'));
  assert.ok(Date.now() - t < 1000);
});
