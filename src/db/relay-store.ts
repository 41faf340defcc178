/**
 * The SQL of webhook relays (`webhook_relays`, `webhook_relay_receipts`, migration 0027): a
 * project's relay endpoints, found by the hash of their token, and the receipts that keep a
 * redelivered source event from being recorded twice. Written by src/webhooks/relay/. Plain SQL
 * that runs on SQLite and PostgreSQL.
 */
import type { WebhookRelaysTable } from './schema.ts';
import { isUniqueViolation } from './dialect.ts';
import { query, run, type Executor } from './sql.ts';

/** A relay row. */
export type WebhookRelayRow = Omit<WebhookRelaysTable, 'id'> & { id: number };

/** What creating a relay stores. */
export type NewWebhookRelay = Omit<WebhookRelayRow, 'id' | 'last_received_at'>;

const columns = 'id, project_id, name, description, token_hash, creator, creation_time, last_received_at';

/** PostgreSQL returns bigint columns as strings: numbers again. */
function relayRow(r: WebhookRelayRow): WebhookRelayRow {
  return {
    ...r,
    id: Number(r.id),
    project_id: Number(r.project_id),
    creation_time: Number(r.creation_time),
    last_received_at: r.last_received_at === null ? null : Number(r.last_received_at),
  };
}

export const relayStore = {
  /** Stores a relay; returns its id, or null when the project already has a relay of that name. */
  async insert(db: Executor, r: NewWebhookRelay): Promise<number | null> {
    try {
      const [row] = await query<{ id: number }>(
        db,
        `INSERT INTO webhook_relays (project_id, name, description, token_hash, creator, creation_time) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
        [r.project_id, r.name, r.description, r.token_hash, r.creator, r.creation_time],
      );
      if (!row) throw new Error('relay-store: no id returned');
      return Number(row.id);
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  },

  /** The relays of a project, by id. */
  async listOfProject(db: Executor, projectId: number): Promise<WebhookRelayRow[]> {
    const rows = await query<WebhookRelayRow>(db, `SELECT ${columns} FROM webhook_relays WHERE project_id = ? ORDER BY id`, [projectId]);
    return rows.map(relayRow);
  },

  /** One relay of a project, or undefined. */
  async getInProject(db: Executor, projectId: number, id: number): Promise<WebhookRelayRow | undefined> {
    const [r] = await query<WebhookRelayRow>(db, `SELECT ${columns} FROM webhook_relays WHERE project_id = ? AND id = ?`, [projectId, id]);
    return r ? relayRow(r) : undefined;
  },

  /** The relay whose token hashes to `tokenHash` and its project, or undefined (no such relay, or its project is gone). */
  async byTokenHash(db: Executor, tokenHash: string): Promise<{ relay: WebhookRelayRow; project: { id: number; name: string; public: boolean } } | undefined> {
    const [r] = await query<WebhookRelayRow & { project_name: string; project_public: number }>(
      db,
      `SELECT r.id, r.project_id, r.name, r.description, r.token_hash, r.creator, r.creation_time, r.last_received_at, p.name AS project_name, p.public AS project_public
         FROM webhook_relays r JOIN projects p ON p.id = r.project_id WHERE r.token_hash = ?`,
      [tokenHash],
    );
    if (!r) return undefined;
    const { project_name, project_public, ...relay } = r;
    const row = relayRow(relay);
    return { relay: row, project: { id: row.project_id, name: project_name, public: Number(project_public) === 1 } };
  },

  /** Deletes a relay and its receipts. Returns whether it existed. */
  async delete(db: Executor, id: number): Promise<boolean> {
    await run(db, `DELETE FROM webhook_relay_receipts WHERE relay_id = ?`, [id]);
    return (await run(db, `DELETE FROM webhook_relays WHERE id = ?`, [id])) > 0;
  },

  /** Deletes every relay of a project and their receipts (the project is gone). Returns how many relays. */
  async deleteOfProject(db: Executor, projectId: number): Promise<number> {
    await run(db, `DELETE FROM webhook_relay_receipts WHERE relay_id IN (SELECT id FROM webhook_relays WHERE project_id = ?)`, [projectId]);
    return run(db, `DELETE FROM webhook_relays WHERE project_id = ?`, [projectId]);
  },

  /** Records that the relay got a payload at `at` (ms). */
  async touch(db: Executor, id: number, at: number): Promise<void> {
    await run(db, `UPDATE webhook_relays SET last_received_at = ? WHERE id = ?`, [at, id]);
  },

  /**
   * Records a receipt for `sourceKey`; false when the relay already has one (a redelivery). Run it
   * in the transaction that writes the event, so that a rolled-back event leaves no receipt.
   */
  async claim(db: Executor, relayId: number, sourceKey: string, at: number): Promise<boolean> {
    const n = await run(db, `INSERT INTO webhook_relay_receipts (relay_id, source_key, received_at) VALUES (?, ?, ?) ON CONFLICT (relay_id, source_key) DO NOTHING`, [relayId, sourceKey, at]);
    return n > 0;
  },

  /** Forgets a relay's receipts older than `before` (ms). Returns how many. */
  pruneReceipts(db: Executor, relayId: number, before: number): Promise<number> {
    return run(db, `DELETE FROM webhook_relay_receipts WHERE relay_id = ? AND received_at < ?`, [relayId, before]);
  },
};
