import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventId } from './event-id.ts';

test('event ids are UUIDv7: version 7, RFC variant, the time first, unique', () => {
  const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const ids = Array.from({ length: 10_000 }, () => eventId(1_700_000_000_000));
  for (const id of ids.slice(0, 100)) assert.match(id, v7);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(eventId(0x0123_4567_89ab).slice(0, 13), '01234567-89ab');
  assert.ok(eventId(1_700_000_000_000) < eventId(1_700_000_000_001), 'later ids sort after earlier ones');
});
