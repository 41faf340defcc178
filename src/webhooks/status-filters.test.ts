import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import type { WharfEvent } from '../events/index.ts';
import { noStatusFilters, parseStatusFilters, readStatusFilters, statusFiltersMatch, statusWord, warningPercent, type StatusFilters } from './status-filters.ts';

const project = { id: 1, name: 'library', public: true };
const repository = { id: 1, name: 'library/a', creationTime: null };
const artifact = { digest: `sha256:${'c'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag: 'v1', tags: ['v1'], artifactType: null };
const base = { id: 'e', occurAt: 0, operator: 'admin', project };
const scan = (type: 'SCANNING_COMPLETED' | 'SCANNING_FAILED' | 'SCANNING_STOPPED'): WharfEvent => ({ ...base, type, repository, artifact, scanType: 'vulnerability', overview: {} });
const replication = (job_status: unknown): WharfEvent => ({ ...base, type: 'REPLICATION', replication: { job_status } });
const retention = (result: unknown): WharfEvent => ({ ...base, type: 'TAG_RETENTION', retention: { total: 2, retained: 1, result } });
const quota = (type: 'QUOTA_WARNING' | 'QUOTA_EXCEED', details: string): WharfEvent => ({ ...base, type, repository, artifact, details });
const push: WharfEvent = { ...base, type: 'PUSH_ARTIFACT', repository, artifact };

function badRequest(v: unknown, message: RegExp): void {
  assert.throws(
    () => parseStatusFilters(v),
    (e: unknown) => isDomainError(e, 'BAD_REQUEST') && message.test(e.message),
  );
}

test('parse: absent, null and {} are no filter; empty lists are left out', () => {
  assert.deepEqual(parseStatusFilters(undefined), {});
  assert.deepEqual(parseStatusFilters(null), {});
  assert.deepEqual(parseStatusFilters({ scan_status: [], replication_status: null }), {});
  assert.equal(noStatusFilters(parseStatusFilters({})), true);
  assert.equal(noStatusFilters(parseStatusFilters({ quota_min_percent: 90 })), false);
});

test("parse: status words in any case, Harbor's spellings normalised, duplicates dropped", () => {
  assert.deepEqual(parseStatusFilters({ scan_status: ['error', 'Failed', 'STOPPED'], replication_status: ['InProgress', 'Succeed', 'failed'], retention_status: ['SUCCESS'], quota_min_percent: 90 }), {
    scan_status: ['Error', 'Stopped'],
    replication_status: ['Running', 'Success', 'Error'],
    retention_status: ['Success'],
    quota_min_percent: 90,
  });
  assert.equal(statusWord('Pending'), 'Running');
  assert.equal(statusWord('nope'), null);
  assert.equal(statusWord(3), null);
});

test('parse: 400s name the field and the accepted values', () => {
  badRequest('x', /^status_filters must be an object/);
  badRequest([], /^status_filters must be an object/);
  badRequest({ scan_state: ['Error'] }, /^status_filters: unknown filter scan_state \(use scan_status, replication_status, retention_status, quota_min_percent\)$/);
  badRequest({ scan_status: 'Error' }, /^status_filters\.scan_status must be an array of statuses \(use Success, Error or Stopped;/);
  badRequest({ scan_status: ['Error', 'Running'] }, /^status_filters\.scan_status\[1\]: unsupported status "Running" \(use Success, Error or Stopped;/);
  badRequest({ replication_status: [7] }, /^status_filters\.replication_status\[0\]: unsupported status 7 \(use Running, Success, Error or Stopped;/);
  badRequest({ retention_status: new Array(17).fill('Error') }, /at most 16 statuses/);
  for (const q of [0, 101, 90.5, '90', true]) badRequest({ quota_min_percent: q }, /^status_filters\.quota_min_percent must be an integer from 1 to 100$/);
});

test('stored column: read back, unreadable is null and matches nothing', () => {
  assert.deepEqual(readStatusFilters('{"scan_status":["Error"]}'), { scan_status: ['Error'] });
  assert.deepEqual(readStatusFilters('{}'), {});
  assert.equal(readStatusFilters('not json'), null);
  assert.equal(readStatusFilters('[]'), null);
  assert.equal(readStatusFilters('{"scan_status":"x"}'), null);
  assert.equal(statusFiltersMatch(null, push), false);
});

test('scan_status: SCANNING_COMPLETED is Success, SCANNING_FAILED Error, SCANNING_STOPPED Stopped', () => {
  const f: StatusFilters = { scan_status: ['Error'] };
  assert.equal(statusFiltersMatch(f, scan('SCANNING_FAILED')), true);
  assert.equal(statusFiltersMatch(f, scan('SCANNING_COMPLETED')), false);
  assert.equal(statusFiltersMatch(f, scan('SCANNING_STOPPED')), false);
  assert.equal(statusFiltersMatch({ scan_status: ['Success', 'Stopped'] }, scan('SCANNING_STOPPED')), true);
  assert.equal(statusFiltersMatch({}, scan('SCANNING_COMPLETED')), true);
});

test('replication_status reads job_status (Harbor spellings too); an unknown status matches no list', () => {
  const f: StatusFilters = { replication_status: ['Error'] };
  assert.equal(statusFiltersMatch(f, replication('Error')), true);
  assert.equal(statusFiltersMatch(f, replication('Failed')), true);
  assert.equal(statusFiltersMatch(f, replication('Running')), false);
  assert.equal(statusFiltersMatch(f, replication('Success')), false);
  assert.equal(statusFiltersMatch(f, replication(undefined)), false);
  assert.equal(statusFiltersMatch({}, replication(undefined)), true);
  assert.equal(statusFiltersMatch({ replication_status: ['Running'] }, replication('Pending')), true);
});

test("retention_status reads result (Harbor's SUCCESS)", () => {
  assert.equal(statusFiltersMatch({ retention_status: ['Success'] }, retention('SUCCESS')), true);
  assert.equal(statusFiltersMatch({ retention_status: ['Error'] }, retention('SUCCESS')), false);
  assert.equal(statusFiltersMatch({ retention_status: ['Error'] }, retention('FAILED')), true);
});

test('quota_min_percent: a warning by its usage; an exceed always; unreadable text passes', () => {
  const warning = (d: string) => quota('QUOTA_WARNING', d);
  assert.equal(warningPercent({ details: 'quota usage reach 85%: resource storage used 12.6 MiB of 14.0 MiB' }), 90);
  assert.equal(warningPercent({ details: 'quota usage reach 85%: resource storage used 900 B of 1.0 KiB' })?.toFixed(2), '87.89');
  assert.equal(warningPercent({ details: 'quota usage reach 85%' }), 85);
  assert.equal(warningPercent({ details: 'something else' }), null);
  const f: StatusFilters = { quota_min_percent: 90 };
  assert.equal(statusFiltersMatch(f, warning('quota usage reach 85%: resource storage used 12.6 MiB of 14.0 MiB')), true);
  assert.equal(statusFiltersMatch(f, warning('quota usage reach 85%: resource storage used 12.0 MiB of 14.0 MiB')), false);
  assert.equal(statusFiltersMatch(f, warning('quota usage reach 85%: resource storage used 9.5 GiB of 10.0 GiB')), true);
  assert.equal(statusFiltersMatch(f, warning('quota usage reach 85%')), false, 'the threshold itself is the level when no sizes are given');
  assert.equal(statusFiltersMatch(f, warning('?')), true, 'unreadable: passes');
  assert.equal(statusFiltersMatch(f, quota('QUOTA_EXCEED', 'adding 2.1 MiB of storage resource, which when updated to current usage of 8.3 MiB will exceed the configured upper limit of 10.0 MiB.')), true);
  assert.equal(statusFiltersMatch({ quota_min_percent: 100 }, warning('quota usage reach 85%: resource storage used 12.6 MiB of 14.0 MiB')), false);
  assert.equal(statusFiltersMatch({ scan_status: ['Error'] }, warning('quota usage reach 85%: resource storage used 1 B of 1.0 KiB')), true, 'other filters do not apply');
});

test('a filter lets every event type it does not apply to through', () => {
  const all: StatusFilters = { scan_status: ['Error'], replication_status: ['Error'], retention_status: ['Error'], quota_min_percent: 100 };
  assert.equal(statusFiltersMatch(all, push), true);
  assert.equal(statusFiltersMatch({ replication_status: ['Error'] }, scan('SCANNING_COMPLETED')), true);
  assert.equal(statusFiltersMatch({ scan_status: ['Error'] }, replication('Success')), true);
});
