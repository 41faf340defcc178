/**
 * Wake-ups between the processes that share one PostgreSQL database: a transaction that writes work
 * for others (an outbox event, a delivery task, a job task) sends `pg_notify(channel)` inside
 * itself, which PostgreSQL delivers when (and only if) it commits, once per channel per
 * transaction; every process LISTENs on one dedicated connection and wakes the loop that does that
 * work. A notification is only a hint: loops still poll, so one lost while a connection is being
 * re-established costs at most a poll interval.
 */
import type pg from 'pg';
import { sql } from 'kysely';
import type { DbLogger } from './checkpointer.ts';
import type { Executor } from './sql.ts';
import { isPostgres } from './dialect.ts';

/** The channels Wharf uses. */
export type Channel = 'wharf_outbox' | 'wharf_deliveries' | 'wharf_jobs';

/**
 * Sends a wake-up on `channel` with `db`, delivered to every listening process when its transaction
 * commits (at once outside a transaction). Nothing on SQLite: one process, in-process signals.
 */
export async function notify(db: Executor, channel: Channel): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`SELECT pg_notify(${channel}, '')`.execute(db);
}

/** The channels every process listens on from the start. */
const listenedAtConnect: readonly Channel[] = ['wharf_outbox', 'wharf_deliveries', 'wharf_jobs'];

/** The listening connection of one process. */
export class Notifications {
  private client: pg.Client | null = null;
  private readonly handlers = new Map<Channel, Set<() => void>>();
  private stopped = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly url: string,
    private readonly logger: DbLogger,
  ) {}

  /** Calls `handler` on each notification on `channel`; returns a function that stops it. */
  on(channel: Channel, handler: () => void): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      // connect() listens on every channel of `Channel` already; a query here, while another runs
      // on the client, is what pg deprecates (pg@9 refuses it).
      if (!listenedAtConnect.includes(channel)) void this.client?.query(`LISTEN ${channel}`).catch(() => undefined);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Connects and listens; a failure is logged and retried in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { default: pgLib } = await import('pg');
    if (this.stopped) return;
    const client = new pgLib.Client({ connectionString: this.url, application_name: 'wharf-listen' });
    client.on('notification', (n) => {
      for (const h of this.handlers.get(n.channel as Channel) ?? []) h();
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'PostgreSQL: the notification connection failed; reconnecting');
      this.reconnectSoon(client);
    });
    client.on('end', () => this.reconnectSoon(client));
    try {
      await client.connect();
      for (const ch of new Set([...listenedAtConnect, ...this.handlers.keys()])) await client.query(`LISTEN ${ch}`);
      this.client = client;
      // Work may have been written while nobody listened: wake everyone once.
      for (const set of this.handlers.values()) for (const h of set) h();
    } catch (err) {
      this.logger.warn({ err }, 'PostgreSQL: could not listen for notifications; retrying in 1 s');
      this.reconnectSoon(client);
    }
  }

  private reconnectSoon(client: pg.Client): void {
    if (this.client === client) this.client = null;
    void client.end().catch(() => undefined);
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, 1000);
    this.retry.unref();
  }

  /** Stops listening and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}
