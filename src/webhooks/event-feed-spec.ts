/**
 * The event feed's request parameters, parsed at the edge (docs/event-feed.md): pure functions,
 * 400s with the parameter's name. The HTTP layer hands the raw query string values over; the
 * service (./event-feed.ts) takes only what these return.
 *
 *   consumer      a name (letters, digits, `.`, `_`, `-`; up to 128): a durable, server-side cursor
 *   cursor        a position from an earlier answer (`next_cursor`, an SSE `id`), or `latest`
 *   wait          seconds a long-poll may wait for new events, 0 to {@link maxWaitSeconds}
 *   limit         events per answer, 0 to {@link maxLimit} (0: only acknowledge the cursor)
 *   event_types   event types (repeated or comma-separated)
 *   repo_filters  repository globs (repeated: a glob may itself hold commas in `{a,b}`)
 *   tag_filters   tag globs (repeated)
 *   project       a project name or id (a number is an id unless `X-Is-Resource-Name: true`)
 */
import { fail, globLimits, globPatternProblem, storedObject } from '../domain/index.ts';
import { isEventType, systemEventTypes } from '../events/index.ts';

/** The longest a long-poll waits, seconds. */
export const maxWaitSeconds = 60;
/** The most events one answer carries. */
export const maxLimit = 500;
/** Events per answer by default. */
export const defaultLimit = 100;

/** The filters of a feed (as policies have them). */
export interface FeedFilters {
  eventTypes: string[];
  repoFilters: string[];
  tagFilters: string[];
  /** A project (its name or id as given); null: every project the caller may see. */
  project: { nameOrId: string; isName: boolean } | null;
}

/** A parsed feed request. */
export interface FeedQuery {
  /** The named consumer; null: an anonymous cursor. */
  consumer: string | null;
  /** Where to read from: a seq, the present (`latest`), or null (the consumer's stored position, else the start). */
  cursor: number | 'latest' | null;
  /** Seconds a long-poll waits when there is nothing new. */
  waitSeconds: number;
  limit: number;
  /** The request's filters; null when it names none (a consumer's stored filters apply). */
  filters: FeedFilters | null;
}

/** Every value of a query parameter, in order (Fastify gives a string or an array of them). */
function values(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  return (Array.isArray(raw) ? raw : [raw]).map((v) => String(v));
}

/** The single value of a query parameter; a repeated one is a 400. */
function single(raw: unknown, name: string): string | undefined {
  const v = values(raw);
  if (v.length > 1) throw fail('BAD_REQUEST', `${name} must be given once`);
  return v[0];
}

/** An integer parameter in [min, max]. */
function intParam(raw: unknown, name: string, min: number, max: number, fallback: number): number {
  const v = single(raw, name);
  if (v === undefined || v === '') return fallback;
  if (!/^[0-9]{1,6}$/.test(v) || Number(v) < min || Number(v) > max) throw fail('BAD_REQUEST', `${name} must be an integer from ${min} to ${max}`);
  return Number(v);
}

/** A consumer name: letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 128 characters. */
export function parseConsumerName(v: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(v)) throw fail('BAD_REQUEST', 'consumer must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit');
  return v;
}

/** A cursor: a position from an earlier answer (a decimal seq), or `latest`. */
export function parseCursor(v: string, name = 'cursor'): number | 'latest' {
  if (v === 'latest') return 'latest';
  if (!/^[0-9]{1,15}$/.test(v) || !Number.isSafeInteger(Number(v))) throw fail('BAD_REQUEST', `${name} must be a cursor from an earlier answer (next_cursor, an event stream id) or "latest"`);
  return Number(v);
}

/** Event types: repeated or comma-separated; Wharf's catalog, and its operational types. */
function eventTypesParam(raw: unknown): string[] {
  const out: string[] = [];
  for (const part of values(raw).flatMap((v) => v.split(','))) {
    const t = part.trim();
    if (t === '') continue;
    if (!isEventType(t) && !(systemEventTypes as readonly string[]).includes(t)) throw fail('BAD_REQUEST', `unsupported event type ${t}`);
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** Glob filters: one pattern per value, checked as policies check theirs (src/domain/glob.ts). */
function globsParam(raw: unknown, name: string): string[] {
  const list = values(raw).map((v) => v.trim());
  if (list.length > globLimits.maxPatterns) throw fail('BAD_REQUEST', `${name}: at most ${globLimits.maxPatterns} patterns`);
  return list.map((p, i) => {
    if (p === '') throw fail('BAD_REQUEST', `${name}[${i}] must be a non-empty glob pattern`);
    const problem = globPatternProblem(p);
    if (problem !== null) throw fail('BAD_REQUEST', `${name}[${i}] ${problem}`);
    return p;
  });
}

/**
 * Parses a feed request's query. `lastEventId` is the SSE `Last-Event-ID` header (a reconnecting
 * stream), which takes the place of `cursor`; `isName` is `X-Is-Resource-Name: true`.
 */
export function parseFeedQuery(q: Record<string, unknown>, opts: { lastEventId?: string; isName: boolean }): FeedQuery {
  const consumerRaw = single(q['consumer'], 'consumer');
  const consumer = consumerRaw === undefined || consumerRaw === '' ? null : parseConsumerName(consumerRaw);
  const cursorRaw = opts.lastEventId !== undefined && opts.lastEventId !== '' ? opts.lastEventId : single(q['cursor'], 'cursor');
  const cursor = cursorRaw === undefined || cursorRaw === '' ? null : parseCursor(cursorRaw, opts.lastEventId ? 'Last-Event-ID' : 'cursor');
  const waitSeconds = intParam(q['wait'], 'wait', 0, maxWaitSeconds, 0);
  const limit = intParam(q['limit'], 'limit', 0, maxLimit, defaultLimit);
  const named = ['event_types', 'repo_filters', 'tag_filters', 'project'].some((k) => q[k] !== undefined);
  let filters: FeedFilters | null = null;
  if (named) {
    const project = single(q['project'], 'project');
    filters = {
      eventTypes: eventTypesParam(q['event_types']),
      repoFilters: globsParam(q['repo_filters'], 'repo_filters'),
      tagFilters: globsParam(q['tag_filters'], 'tag_filters'),
      project: project === undefined || project === '' ? null : { nameOrId: project, isName: opts.isName },
    };
  }
  return { consumer, cursor, waitSeconds, limit, filters };
}

/** The stored form of a consumer's filters (the project by id, resolved when stored). */
export interface StoredFeedFilters {
  event_types?: string[];
  repo_filters?: string[];
  tag_filters?: string[];
  project_id?: number;
}

/** A consumer's stored filters back as FeedFilters (a broken or empty value: none). */
export function storedFilters(json: string): FeedFilters | null {
  const rec = storedObject(json);
  const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
  const projectId = typeof rec['project_id'] === 'number' ? rec['project_id'] : null;
  const f: FeedFilters = {
    eventTypes: strings(rec['event_types']),
    repoFilters: strings(rec['repo_filters']),
    tagFilters: strings(rec['tag_filters']),
    project: projectId === null ? null : { nameOrId: String(projectId), isName: false },
  };
  return f.eventTypes.length + f.repoFilters.length + f.tagFilters.length === 0 && f.project === null ? null : f;
}
