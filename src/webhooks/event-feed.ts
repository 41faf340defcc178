/**
 * The event feed (docs/event-feed.md): what a webhook would push, pulled by a consumer that cannot
 * receive webhooks. The outbox's events (`events`, read only, in seq order) that the caller may see,
 * filtered as policies filter (event types, repository and tag globs, a project), rendered as the
 * CloudEvents format renders them (./formats/cloudevents.ts), served as long-polled pages
 * (`read`) or as a server-sent stream (`stream`).
 *
 * Positions. A position is an outbox seq: the answer holds the events after it and `next_cursor`,
 * the position after them (past events the caller does not see, too). It never passes an event
 * that may still commit: reads stop at the committed maximum (src/db/event-feed-store.ts).
 *
 * Named consumers and acknowledgement (at least once). A request may name a consumer, kept per
 * caller (user or robot) in `event_feed_cursors`. Its stored position moves ONLY when the client
 * asks with a cursor (`cursor=…`, or a stream's `Last-Event-ID`): asking with a cursor says "I
 * have handled everything up to it". A request without one reads from the stored position. So a
 * client that crashes before handling an answer gets the same events again, and a server that
 * dies (kill -9) has stored nothing the client did not acknowledge: nothing is skipped; events
 * may come twice. `limit=0` acknowledges without reading.
 *
 * Visibility. Non-admins see the events of the projects where they may read webhook policies
 * (`list-webhooks`: project admins, maintainers, robots with notification-policy list/read),
 * decided when the request is made; operational events (WEBHOOK_TARGET_DISABLED) and events of
 * deleted projects only system admins. Anonymous callers get 401, registry tokens 403; a `project`
 * filter the caller may not read 403, an unknown one 404 (as the webhook API).
 *
 * Wake-ups. Waiting long-polls and streams share one listener on the outbox's `appended` signal,
 * which fires on this instance's appends and, on PostgreSQL, on every instance's commits
 * (main.ts forwards `wharf_outbox` notifications to it); one read of `max(seq)` per wake-up
 * decides whom to wake, and a poll covers a lost wake-up. At most `maxClients` long-polls and
 * streams wait at once per instance (429 beyond).
 */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { eventFeedStore, type Database, type EventRow } from '../db/index.ts';
import type { Actor, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { fail, filterMatches, storedObject } from '../domain/index.ts';
import { eventFromRow, systemEventTypes, type Outbox, type WharfEvent } from '../events/index.ts';
import { harborStructuredBody, toCloudEvent } from './formats/cloudevents.ts';
import { eventRepository, eventTag } from './dispatcher.ts';
import { resolveScope, type WebhookCallContext } from './policy-scope.ts';
import { parseConsumerName, storedFilters, type FeedFilters, type FeedQuery, type StoredFeedFilters } from './event-feed-spec.ts';

/** What the feed needs. */
export interface EventFeedDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** `external_url` (resource URLs in the events), read at each rendering. */
  config: Config;
  /** Its `appended` signal wakes waiting clients. */
  outbox: Outbox;
  logger: Logger;
  /** Long-polls and streams waiting at once on this instance (default 256). */
  maxClients?: number;
  /** Named consumers per user or robot (default 100). */
  maxConsumers?: number;
  /** How often waiting clients check for events when no wake-up came, ms (default 500). */
  pollMs?: number;
  /** A stream's heartbeat comment after this much silence, ms (default 15 000). */
  heartbeatMs?: number;
  /** A stream ends after this long so that changed permissions apply; clients reconnect (default 15 min). */
  streamMaxMs?: number;
  /** Seqs one database read covers at most (default 10 000). */
  windowSize?: number;
}

/** One answer of the long-poll: the events, rendered, and the position after them. */
export interface FeedPage {
  /** CloudEvents JSON (structured mode, as the CloudEvents format sends it), oldest first. */
  events: string[];
  /** The cursor to ask with next (and that acknowledges these events for a named consumer). */
  nextCursor: string;
}

/** Where a stream writes: the route implements it over the HTTP response. */
export interface FeedSink {
  /** Called once, when the checks passed: send the headers. Errors before it are ordinary answers. */
  open(): void;
  /** Writes a chunk of the event stream; resolves when the client can take more. */
  write(chunk: string): Promise<void>;
  /** Aborted when the client went away. */
  signal: AbortSignal;
}

/** Which events a caller sees. */
interface Visibility {
  /** null: every project's (and project-less) events. */
  projectIds: number[] | null;
  excludeTypes: string[];
}

/** A request's resolved state: where it reads from, with which filters, seeing what. */
interface Start {
  pos: number;
  filters: FeedFilters | null;
  visibility: Visibility;
}

/** Windows one collect() reads at most before answering (the answer may then be empty, with a later cursor). */
const maxWindows = 20;

/** Shared wake-ups of the waiting clients; see the module comment. */
class FeedWaiters {
  private readonly waiting = new Set<{ after: number; done: (woke: boolean) => void }>();
  private checking = false;
  private again = false;
  private poll: NodeJS.Timeout | null = null;
  private recheck: NodeJS.Timeout | null = null;
  private readonly onAppended = () => {
    this.kick();
    // The in-process signal may come before its transaction commits: look once more shortly after.
    if (!this.recheck && this.waiting.size > 0) {
      this.recheck = setTimeout(() => {
        this.recheck = null;
        this.kick();
      }, 25);
      this.recheck.unref();
    }
  };

  constructor(
    private readonly db: Kysely<Database>,
    private readonly outbox: Outbox,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {
    outbox.signal.on('appended', this.onAppended);
  }

  /** Resolves true once an event after `after` is committed, false after `ms` or when `signal` aborts. */
  wait(after: number, ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const w = {
        after,
        done: (woke: boolean) => {
          if (!this.waiting.delete(w)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (this.waiting.size === 0 && this.poll) {
            clearInterval(this.poll);
            this.poll = null;
          }
          resolve(woke);
        },
      };
      const onAbort = () => w.done(false);
      if (signal?.aborted) return resolve(false);
      this.waiting.add(w);
      timer = setTimeout(() => w.done(false), Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.poll) {
        this.poll = setInterval(() => this.kick(), this.pollMs);
        this.poll.unref();
      }
    });
  }

  private kick(): void {
    if (this.waiting.size === 0) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    void this.check();
  }

  private async check(): Promise<void> {
    try {
      const hi = await eventFeedStore.maxSeq(this.db);
      for (const w of [...this.waiting]) if (hi > w.after) w.done(true);
    } catch (err) {
      this.logger.warn({ err }, 'event feed: could not read the outbox position; waiting clients retry at the next poll');
    } finally {
      this.checking = false;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    }
  }

  /** Ends every wait and stops listening. */
  close(): void {
    this.outbox.signal.off('appended', this.onAppended);
    for (const w of [...this.waiting]) w.done(false);
    if (this.poll) clearInterval(this.poll);
    if (this.recheck) clearTimeout(this.recheck);
    this.poll = null;
    this.recheck = null;
  }
}

/** The owner key of a caller's named consumers, or null when it has none (only users and robots). */
function ownerOf(actor: Actor): string | null {
  if (actor.kind === 'robot' && actor.robot) return `r:${actor.robot.id}`;
  if (actor.kind === 'user' && actor.userId !== null) return `u:${actor.userId}`;
  return null;
}

/** The CloudEvents `source` of a feed event: no policy sent it, so its project's (or the system's) event feed. */
export function feedSource(projectId: number | null): string {
  return projectId === null ? '/system/events' : `/projects/${projectId}/events`;
}

/**
 * An event as the CloudEvents format's structured mode renders it (the same attributes, data,
 * extensions and layout), with the feed's `source`. Throws what the format throws (an event without an id).
 */
export function renderFeedEvent(event: WharfEvent, projectId: number | null, externalUrl: string): string {
  const ce = toCloudEvent(event, { externalUrl, policy: { id: 0, name: '', projectId }, target: { type: 'http', payloadFormat: 'CloudEvents', options: {} } });
  return harborStructuredBody(ce.cloneWith({ source: feedSource(projectId) }), event.occurAt);
}

/** A named consumer as `GET /events/consumers` shows it. */
export interface FeedConsumerView {
  name: string;
  /** The acknowledged position: reads without a cursor return the events after it. */
  cursor: string;
  /** The stored filters (`event_types`, `repo_filters`, `tag_filters`, `project_id`); {} for none. */
  filters: Record<string, unknown>;
  creation_time: string;
  update_time: string;
}

/** The event feed; see the module comment. */
export class EventFeed {
  private readonly waiters: FeedWaiters;
  private clients = 0;
  private closed = false;
  private readonly streams = new Set<AbortController>();

  constructor(private readonly deps: EventFeedDeps) {
    this.waiters = new FeedWaiters(deps.db, deps.outbox, deps.pollMs ?? 500, deps.logger);
  }

  /**
   * One long-poll: acknowledges `q.cursor` for a named consumer, then answers the events after the
   * position at once, or waits up to `q.waitSeconds` for some. `signal`: the client went away.
   */
  async read(ctx: WebhookCallContext, q: FeedQuery, signal?: AbortSignal): Promise<FeedPage> {
    const start = await this.start(ctx, q);
    let pos = start.pos;
    if (q.limit === 0) return { events: [], nextCursor: String(pos) };
    const deadline = Date.now() + q.waitSeconds * 1000;
    let holding = false;
    try {
      for (;;) {
        const hi = await eventFeedStore.maxSeq(this.deps.db);
        const got = await this.collect(pos, hi, start, q.limit);
        pos = got.pos;
        const events = this.renderAll(got.rows);
        if (events.length > 0 || pos < hi || Date.now() >= deadline || this.closed || signal?.aborted) return { events, nextCursor: String(pos) };
        if (!holding) {
          this.acquire();
          holding = true;
        }
        await this.waiters.wait(hi, deadline - Date.now(), signal);
      }
    } finally {
      if (holding) this.release();
    }
  }

  /**
   * A server-sent event stream: each event as `id: <cursor>` and `data: <CloudEvent JSON>`, a
   * comment as heartbeat, until the client goes away, the feed closes or `streamMaxMs` passed.
   * Checks (and errors) come before `sink.open()`.
   */
  async stream(ctx: WebhookCallContext, q: FeedQuery, sink: FeedSink): Promise<void> {
    const start = await this.start(ctx, q);
    this.acquire();
    const stop = new AbortController();
    const onClientGone = () => stop.abort();
    sink.signal.addEventListener('abort', onClientGone, { once: true });
    this.streams.add(stop);
    try {
      sink.open();
      await sink.write(`retry: 2000\n: wharf event feed, from cursor ${start.pos}\n\n`);
      const endAt = Date.now() + (this.deps.streamMaxMs ?? 15 * 60_000);
      const heartbeatMs = this.deps.heartbeatMs ?? 15_000;
      const limit = Math.max(1, q.limit);
      let pos = start.pos;
      while (!stop.signal.aborted && !this.closed && Date.now() < endAt) {
        const hi = await eventFeedStore.maxSeq(this.deps.db);
        const got = await this.collect(pos, hi, start, limit);
        for (const row of got.rows) {
          const body = this.renderRow(row);
          if (body !== null) await sink.write(`id: ${row.seq}\ndata: ${body}\n\n`);
          if (stop.signal.aborted) return;
        }
        pos = got.pos;
        if (pos < hi) continue;
        const woke = await this.waiters.wait(hi, Math.min(heartbeatMs, endAt - Date.now()), stop.signal);
        if (!woke && !stop.signal.aborted && !this.closed) await sink.write(': keep-alive\n\n');
      }
    } finally {
      sink.signal.removeEventListener('abort', onClientGone);
      this.streams.delete(stop);
      this.release();
    }
  }

  /** Ends waiting long-polls (they answer what they have) and open streams; no new waits start. */
  close(): void {
    this.closed = true;
    for (const s of this.streams) s.abort();
    this.waiters.close();
  }

  private acquire(): void {
    const max = this.deps.maxClients ?? 256;
    if (this.closed) throw fail('UNAVAILABLE', 'the server is shutting down; retry on another instance or later');
    if (this.clients >= max) throw fail('TOOMANYREQUESTS', `${max} event feed clients are already waiting on this instance; retry later`);
    this.clients++;
  }

  private release(): void {
    this.clients--;
  }

  /** The caller's named consumers (`GET /events/consumers`): name, acknowledged cursor, stored filters, times. */
  async consumers(ctx: WebhookCallContext): Promise<FeedConsumerView[]> {
    const owner = this.consumerOwner(ctx);
    return (await eventFeedStore.consumersOf(this.deps.db, owner)).map((r) => ({
      name: r.name,
      cursor: String(r.seq),
      filters: storedObject(r.filters),
      creation_time: new Date(r.creation_time).toISOString(),
      update_time: new Date(r.update_time).toISOString(),
    }));
  }

  /** Deletes one of the caller's named consumers (`DELETE /events/consumers/{name}`): its position is forgotten. */
  async deleteConsumer(ctx: WebhookCallContext, name: string): Promise<void> {
    const owner = this.consumerOwner(ctx);
    const consumer = parseConsumerName(name);
    if (!(await eventFeedStore.deleteConsumer(this.deps.db, owner, consumer))) throw fail('NOT_FOUND', `event feed consumer ${consumer} not found`);
  }

  /** 401 for anonymous callers; a registry token on the API may do repository actions only (the authorizer's rule 1), so it gets the authorizer's 403. */
  private admit(ctx: WebhookCallContext, purpose: string): void {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', `authentication required to ${purpose}`);
    if (ctx.actor.kind === 'token') this.deps.authorizer.check(ctx.actor, 'list-webhooks');
  }

  /** The owner key of the caller's consumers; 401 for anonymous callers, 400 for callers that cannot have any. */
  private consumerOwner(ctx: WebhookCallContext): string {
    this.admit(ctx, 'manage event feed consumers');
    const owner = ownerOf(ctx.actor);
    if (owner === null) throw fail('BAD_REQUEST', 'named consumers belong to a user or robot account');
    return owner;
  }

  /** Checks the caller, resolves filters and visibility, the consumer and its acknowledgement: where the request reads from. */
  private async start(ctx: WebhookCallContext, q: FeedQuery): Promise<Start> {
    const { db } = this.deps;
    const actor = ctx.actor;
    this.admit(ctx, 'read the event feed');
    const owner = q.consumer === null ? null : ownerOf(actor);
    if (q.consumer !== null && owner === null) throw fail('BAD_REQUEST', 'a named consumer needs a user or robot account');
    const row = owner !== null && q.consumer !== null ? await eventFeedStore.consumer(db, owner, q.consumer) : undefined;
    const filters = q.filters ?? (row ? storedFilters(row.filters) : null);
    const visibility = await this.visibility(ctx, filters);
    const hi = await eventFeedStore.maxSeq(db);
    let cursor: number | null = null;
    if (q.cursor === 'latest') cursor = hi;
    else if (q.cursor !== null) {
      if (q.cursor > hi) throw fail('BAD_REQUEST', `cursor ${q.cursor} is ahead of this registry's events (${hi}): it comes from another registry or a restored backup`);
      cursor = q.cursor;
    }
    const pos = cursor ?? row?.seq ?? 0;
    if (owner !== null && q.consumer !== null) {
      const now = Date.now();
      const stored = JSON.stringify(storedForm(filters, visibility));
      if (!row) {
        const max = this.deps.maxConsumers ?? 100;
        if ((await eventFeedStore.consumerCount(db, owner)) >= max) throw fail('BAD_REQUEST', `${actor.username} has ${max} event feed consumers already; reuse one (cursor=latest moves it to the present)`);
        await eventFeedStore.createConsumer(db, owner, q.consumer, pos, stored, now);
        // A concurrent first request created it first: take its position unless this one names a cursor.
        if (cursor !== null) await eventFeedStore.storeConsumer(db, owner, q.consumer, pos, stored, now);
      } else if (cursor !== null || q.filters !== null) {
        await eventFeedStore.storeConsumer(db, owner, q.consumer, pos, stored, now);
      }
    }
    return { pos, filters, visibility };
  }

  /** Which events the caller sees, narrowed to `filters.project`; 401/403/404 as the webhook API. */
  private async visibility(ctx: WebhookCallContext, filters: FeedFilters | null): Promise<Visibility> {
    const { db, authorizer } = this.deps;
    const actor = ctx.actor;
    const excludeTypes: string[] = actor.sysadmin ? [] : [...systemEventTypes];
    if (filters?.project) {
      const p = await resolveScope({ db, authorizer }, ctx, { kind: 'project', ...filters.project }, 'read-settings');
      if (!p) throw fail('NOT_FOUND', `project ${filters.project.nameOrId} not found`);
      return { projectIds: [p.id], excludeTypes };
    }
    if (actor.sysadmin) return { projectIds: null, excludeTypes };
    const grants = actor.robot?.permissions ?? [];
    const candidates =
      actor.kind === 'robot'
        ? grants.some((g) => g.namespace === '*')
          ? await eventFeedStore.allProjects(db)
          : await eventFeedStore.projectsNamed(db, [...new Set(grants.map((g) => g.namespace))])
        : await eventFeedStore.projectsNamed(db, [...(actor.roles?.keys() ?? [])]);
    return { projectIds: candidates.filter((p) => authorizer.allows(actor, 'list-webhooks', { name: p.name, public: p.public === 1 })).map((p) => p.id), excludeTypes };
  }

  /**
   * The visible, matching events after `from`, at most `limit`, reading windows up to `hi` (the
   * committed maximum): the rows and the position after what was read.
   */
  private async collect(from: number, hi: number, start: Start, limit: number): Promise<{ rows: EventRow[]; pos: number }> {
    const { visibility, filters } = start;
    const windowSize = this.deps.windowSize ?? 10_000;
    const out: EventRow[] = [];
    let pos = from;
    if (visibility.projectIds !== null && visibility.projectIds.length === 0) return { rows: out, pos: Math.max(pos, hi) };
    for (let n = 0; pos < hi && out.length < limit && n < maxWindows; n++) {
      const upTo = Math.min(pos + windowSize, hi);
      const want = limit - out.length;
      const rows = await eventFeedStore.eventsIn(this.deps.db, {
        after: pos,
        upTo,
        limit: want,
        projectIds: visibility.projectIds,
        excludeTypes: visibility.excludeTypes,
        types: filters && filters.eventTypes.length > 0 ? filters.eventTypes : null,
      });
      for (const row of rows) if (this.matches(row, filters)) out.push(row);
      const last = rows[rows.length - 1];
      pos = rows.length === want && last ? Number(last.seq) : upTo;
    }
    return { rows: out, pos };
  }

  /** The repository and tag globs (event types and projects are matched in SQL). */
  private matches(row: EventRow, filters: FeedFilters | null): boolean {
    if (!filters || (filters.repoFilters.length === 0 && filters.tagFilters.length === 0)) return true;
    let event: WharfEvent;
    try {
      event = eventFromRow(row);
    } catch {
      return false;
    }
    return filterMatches(filters.repoFilters, eventRepository(event)) && filterMatches(filters.tagFilters, eventTag(event));
  }

  private renderAll(rows: readonly EventRow[]): string[] {
    const out: string[] = [];
    for (const row of rows) {
      const body = this.renderRow(row);
      if (body !== null) out.push(body);
    }
    return out;
  }

  /** The row's CloudEvent, or null (logged) when its data cannot be read or rendered. */
  private renderRow(row: EventRow): string | null {
    try {
      return renderFeedEvent(eventFromRow(row), row.project_id, this.deps.config.external_url);
    } catch (err) {
      this.deps.logger.error({ err, event_seq: row.seq, event_id: row.id }, 'event feed: an outbox event cannot be rendered; passing it over');
      return null;
    }
  }
}

/** A consumer's filters as stored: the project by id (the request may have named it). */
function storedForm(filters: FeedFilters | null, visibility: Visibility): StoredFeedFilters {
  if (!filters) return {};
  const out: StoredFeedFilters = {};
  if (filters.eventTypes.length > 0) out.event_types = filters.eventTypes;
  if (filters.repoFilters.length > 0) out.repo_filters = filters.repoFilters;
  if (filters.tagFilters.length > 0) out.tag_filters = filters.tagFilters;
  const projectId = filters.project ? visibility.projectIds?.[0] : undefined;
  if (projectId !== undefined) out.project_id = projectId;
  return out;
}
