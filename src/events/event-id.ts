/**
 * Event ids: UUIDv7 (RFC 9562), a millisecond timestamp then random bits, instead of random v4
 * ids. The outbox's unique index on `events.id` and the audit log's on `event_id` then grow at
 * their right edge: a batch of pull events touches a few index pages instead of one random page
 * per event (issue 10: every manifest GET writes an event and, through the audit writer, an
 * audit entry). Still 74 random bits per millisecond, and still a UUID to every reader.
 */
import { randomUUID } from 'node:crypto';

/** A new UUIDv7 (the random part taken from a v4, whose generator Node pools). */
export function eventId(now: number = Date.now()): string {
  const r = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; from index 15 on: xxx-Vxxx-xxxxxxxxxxxx
  const ts = now.toString(16).padStart(12, '0');
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${r.slice(15)}`;
}
