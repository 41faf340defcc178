import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, formatTime, pullCommand, quotaBytes, shortDigest } from './format.ts';
import { cookieValue, errorMessage, query, repoPath } from './api.ts';

test('formatSize: bytes, KiB, MiB, GiB; nothing for unknown sizes', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(1536), '1.50 KiB');
  assert.equal(formatSize(200 * 2 ** 20), '200.0 MiB');
  assert.equal(formatSize(3 * 2 ** 30), '3.00 GiB');
  assert.equal(formatSize(-1), '');
  assert.equal(formatSize(null), '');
});

test('formatTime: Go’s zero time and garbage show nothing', () => {
  assert.equal(formatTime('0001-01-01T00:00:00.000Z'), '');
  assert.equal(formatTime('not a time'), '');
  assert.notEqual(formatTime('2026-12-06T12:00:00.000Z'), '');
});

test('digests, pull commands, quotas', () => {
  assert.equal(shortDigest('sha256:0123456789abcdef0123'), 'sha256:0123456789ab');
  assert.equal(pullCommand('h:5000', 'library/alpine', '3.20', 'sha256:x'), 'docker pull h:5000/library/alpine:3.20');
  assert.equal(pullCommand('h:5000', 'library/alpine', null, 'sha256:x', 'podman'), 'podman pull h:5000/library/alpine@sha256:x');
  assert.equal(quotaBytes(2, 'GiB'), 2 * 2 ** 30);
  assert.equal(quotaBytes(-1, 'GiB'), -1);
});

test('api helpers: cookies, Harbor error bodies, repository paths, queries', () => {
  assert.equal(cookieValue('a=1; __csrf=tok%3D; b=2', '__csrf'), 'tok=');
  assert.equal(cookieValue('a=1', '__csrf'), '');
  assert.deepEqual(errorMessage(404, { errors: [{ code: 'NOT_FOUND', message: 'project 9 not found' }] }, 'x'), { code: 'NOT_FOUND', message: 'project 9 not found' });
  assert.deepEqual(errorMessage(502, 'gateway', 'Bad Gateway'), { code: '502', message: 'Bad Gateway' });
  assert.equal(repoPath('team/app'), 'team%252Fapp');
  assert.equal(query({ page: 1, q: 'name=~a', sort: undefined }), '?page=1&q=name%3D%7Ea');
});
