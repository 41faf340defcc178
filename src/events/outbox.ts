/**
 * The outbox: events are rows written in the same transaction as the change they describe, so a
 * committed change always has its event and a rolled-back one never does. Consumers
 * (./consumers.ts: the webhook dispatcher, the audit writer) read the rows after their cursors.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Kysely, Transaction } from 'kysely';
import type { Database, EventRow } from '../db/index.ts';
import type { NewEvent, WharfEvent } from './catalog.ts';

/** A Kysely handle or an open transaction on it. */
export type DbOrTrx = Kysely<Database> | Transaction<Database>;

/** Writes events to the outbox and tells the dispatcher that there is work. */
export class Outbox {
  /** Emits 'appended' after an append (the row may not be committed yet; readers poll too). */
  readonly signal = new EventEmitter();

  /**
   * Records `event` using `trx`, which should be the transaction of the change it describes.
   * Returns the event with its id and time.
   */
  async append(trx: DbOrTrx, event: NewEvent): Promise<WharfEvent> {
    const full = { ...event, id: randomUUID(), occurAt: event.occurAt ?? Date.now() } as WharfEvent;
    const projectId = 'project' in full && full.project ? full.project.id : null;
    await trx
      .insertInto('events')
      .values({
        id: full.id,
        type: full.type,
        occur_at: full.occurAt,
        operator: full.operator,
        project_id: projectId,
        data: JSON.stringify(full),
        dispatched_at: null,
      })
      .execute();
    setImmediate(() => this.signal.emit('appended'));
    return full;
  }
}

/** Decodes an outbox row back into its event. */
export function eventFromRow(row: EventRow): WharfEvent {
  return JSON.parse(row.data) as WharfEvent;
}
