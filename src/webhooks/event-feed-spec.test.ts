/** The event feed's parameters (./event-feed-spec.ts): what is accepted, and the 400s. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../domain/index.ts';
import { defaultLimit, parseFeedQuery, storedFilters } from './event-feed-spec.ts';

const parse = (q: Record<string, unknown>, lastEventId?: string) => parseFeedQuery(q, { isName: false, ...(lastEventId === undefined ? {} : { lastEventId }) });

function badRequest(f: () => unknown, message: RegExp): void {
  assert.throws(f, (err: unknown) => err instanceof DomainError && err.code === 'BAD_REQUEST' && message.test(err.message));
}

test('defaults: no consumer, no cursor, no wait, the default limit, no filters', () => {
  assert.deepEqual(parse({}), { consumer: null, cursor: null, waitSeconds: 0, limit: defaultLimit, filters: null });
});

test('cursors: a seq, latest, and Last-Event-ID in place of cursor', () => {
  assert.equal(parse({ cursor: '42' }).cursor, 42);
  assert.equal(parse({ cursor: 'latest' }).cursor, 'latest');
  assert.equal(parse({ cursor: '1' }, '7').cursor, 7);
  assert.equal(parse({ cursor: '1' }, '').cursor, 1);
  badRequest(() => parse({ cursor: '-1' }), /^cursor must be/);
  badRequest(() => parse({ cursor: 'abc' }), /^cursor must be/);
  badRequest(() => parse({}, 'x'), /^Last-Event-ID must be/);
  badRequest(() => parse({ cursor: ['1', '2'] }), /cursor must be given once/);
});

test('wait and limit are bounded integers', () => {
  assert.equal(parse({ wait: '60', limit: '0' }).waitSeconds, 60);
  assert.equal(parse({ limit: '0' }).limit, 0);
  badRequest(() => parse({ wait: '61' }), /wait must be an integer from 0 to 60/);
  badRequest(() => parse({ limit: '501' }), /limit must be an integer from 0 to 500/);
  badRequest(() => parse({ wait: '1.5' }), /wait/);
});

test('consumer names', () => {
  assert.equal(parse({ consumer: 'ci-bot.v2_x' }).consumer, 'ci-bot.v2_x');
  badRequest(() => parse({ consumer: '-x' }), /consumer must be/);
  badRequest(() => parse({ consumer: 'a b' }), /consumer must be/);
  badRequest(() => parse({ consumer: 'a'.repeat(129) }), /consumer must be/);
});

test('filters: types repeated or comma-separated, globs one per value, a project', () => {
  const q = parse({ event_types: ['PUSH_ARTIFACT,DELETE_ARTIFACT', 'PUSH_ARTIFACT'], repo_filters: ['lib/{a,b}', 'team/**'], tag_filters: 'v*', project: '7' });
  assert.deepEqual(q.filters, { eventTypes: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT'], repoFilters: ['lib/{a,b}', 'team/**'], tagFilters: ['v*'], project: { nameOrId: '7', isName: false } });
  assert.deepEqual(parseFeedQuery({ project: '7' }, { isName: true }).filters?.project, { nameOrId: '7', isName: true });
  assert.deepEqual(parse({ event_types: 'WEBHOOK_TARGET_DISABLED' }).filters?.eventTypes, ['WEBHOOK_TARGET_DISABLED']);
  badRequest(() => parse({ event_types: 'PUSH' }), /^unsupported event type PUSH$/);
  badRequest(() => parse({ tag_filters: ['v*', ''] }), /^tag_filters\[1\] must be a non-empty glob pattern$/);
  badRequest(() => parse({ repo_filters: 'x'.repeat(257) }), /^repo_filters\[0\] is longer than 256 characters$/);
  badRequest(() => parse({ repo_filters: Array.from({ length: 33 }, (_, i) => `r${i}`) }), /at most 32 patterns/);
});

test('stored filters read back; broken or empty ones are none', () => {
  assert.deepEqual(storedFilters('{"event_types":["PUSH_ARTIFACT"],"repo_filters":["a/*"],"project_id":3}'), {
    eventTypes: ['PUSH_ARTIFACT'],
    repoFilters: ['a/*'],
    tagFilters: [],
    project: { nameOrId: '3', isName: false },
  });
  assert.equal(storedFilters('{}'), null);
  assert.equal(storedFilters('not json'), null);
  assert.equal(storedFilters('[1]'), null);
});
