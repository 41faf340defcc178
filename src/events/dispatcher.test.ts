import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventRepository, eventTag, policyMatches } from './dispatcher.ts';
import type { WharfEvent } from './catalog.ts';

const project = { id: 1, name: 'library', public: true };
const push = (repo: string, tag: string | null): WharfEvent => ({
  type: 'PUSH_ARTIFACT',
  id: 'e1',
  occurAt: 0,
  operator: 'admin',
  project,
  repository: { id: 1, name: repo, creationTime: null },
  artifact: { digest: `sha256:${'c'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag, tags: tag ? [tag] : [], artifactType: null },
});
const projectEvent: WharfEvent = { type: 'CREATE_PROJECT', id: 'e2', occurAt: 0, operator: 'admin', project };

const pol = (eventTypes: string[], repo: string[] = [], tag: string[] = []) => ({
  event_types: JSON.stringify(eventTypes),
  repo_filters: JSON.stringify(repo),
  tag_filters: JSON.stringify(tag),
});

test('repository and tag of an event', () => {
  assert.equal(eventRepository(push('library/a', 'v1')), 'library/a');
  assert.equal(eventTag(push('library/a', 'v1')), 'v1');
  assert.equal(eventTag(push('library/a', null)), null);
  assert.equal(eventRepository(projectEvent), null);
  assert.equal(eventTag(projectEvent), null);
});

test('event types must be subscribed', () => {
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT']), push('library/a', 'v1')), true);
  assert.equal(policyMatches(pol(['PULL_ARTIFACT']), push('library/a', 'v1')), false);
  assert.equal(policyMatches(pol([]), push('library/a', 'v1')), false);
});

test('repository globs match the full name; tag globs the event tag', () => {
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], ['library/*']), push('library/a', 'v1')), true);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], ['team/**']), push('library/a', 'v1')), false);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], ['team/**']), push('team/x/y', 'v1')), true);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], ['v*']), push('library/a', 'v1')), true);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], ['v*']), push('library/a', 'latest')), false);
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], ['v*']), push('library/a', null)), false, 'no tag: only empty tag filters match');
  assert.equal(policyMatches(pol(['PUSH_ARTIFACT'], [], []), push('library/a', null)), true);
});

test('events without a repository match only empty repository filters', () => {
  assert.equal(policyMatches(pol(['CREATE_PROJECT']), projectEvent), true);
  assert.equal(policyMatches(pol(['CREATE_PROJECT'], ['library/**']), projectEvent), false);
});

test('corrupt JSON columns match nothing rather than everything', () => {
  assert.equal(policyMatches({ event_types: 'not json', repo_filters: '[]', tag_filters: '[]' }, push('library/a', 'v1')), false);
});
