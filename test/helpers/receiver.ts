/**
 * A real webhook receiver for tests and benchmarks: a node:http server on 127.0.0.1 that records
 * every request (method, url, headers, raw body, arrival time) and answers as each path is told to
 * (a status sequence, Retry-After, a delay, holding requests until released, or never answering).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** One request the receiver got. */
export interface ReceivedRequest {
  /** Order of arrival, from 0. */
  seq: number;
  method: string;
  /** Path and query as sent. */
  url: string;
  /** Path without the query. */
  path: string;
  /** Lower-cased header names (node:http). */
  headers: IncomingHttpHeaders;
  /** The body exactly as received. */
  body: Buffer;
  /** Wall-clock arrival time of the complete body, ms since epoch. */
  receivedAt: number;
  /** High-resolution arrival time of the complete body (`performance.now()` of this process). */
  receivedAtHr: number;
  /** The status the receiver answered with; null when it never answered. */
  status: number | null;
}

/** How one path answers. */
export interface ResponsePlan {
  /** Statuses for successive requests to the path; the last one repeats. Default [200]. */
  statuses?: number[];
  /** `Retry-After` header value sent with every answer of this plan. */
  retryAfter?: string;
  /** Wait this long before answering, ms. */
  delayMs?: number;
  /** Accept the request and never answer (the connection stays open until close()). */
  never?: boolean;
  /** Accept the request and answer only when `release(path)` is called (then as the rest of the plan says). */
  hold?: boolean;
  /** Response body; default `ok`. */
  body?: string;
}

/** A running receiver. */
export interface Receiver {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Every request so far, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Requests to `path` (exact path, query ignored). */
  on(path: string): ReceivedRequest[];
  /** Sets how `path` answers from now on (the status sequence restarts). */
  respond(path: string, plan: ResponsePlan): void;
  /** Answers the requests held on `path` (plan `hold`) and stops holding new ones; returns how many it answered. */
  release(path: string): number;
  /** Requests held right now, not yet answered. */
  readonly heldCount: number;
  /** Resolves with the matching requests once at least `n` have arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs: number, filter?: RequestFilter): Promise<ReceivedRequest[]>;
  /** Called for every request once its body is complete (benchmarks use it for timing). */
  onRequest(listener: (r: ReceivedRequest) => void): void;
  /** Forgets recorded requests (plans stay). */
  clear(): void;
  /** Stops listening and drops every open connection, answered or not. */
  close(): Promise<void>;
}

/** Selects requests: a path, or a predicate. */
export type RequestFilter = string | ((r: ReceivedRequest) => boolean);

/** Parses a recorded body as JSON (throws with the body in the message when it is not JSON). */
export function jsonBody(r: ReceivedRequest): unknown {
  const text = r.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`body of ${r.method} ${r.url} is not JSON: ${String(e)}\n${text.slice(0, 500)}`);
  }
}

/** The digest of the PUSH_ARTIFACT event a Default-format delivery carries (null for anything else, or a body that is not JSON). */
export function pushDigest(r: ReceivedRequest): string | null {
  try {
    const b = jsonBody(r);
    if (typeof b !== 'object' || b === null || !('type' in b) || b.type !== 'PUSH_ARTIFACT') return null;
    // Parsed Default JSON; every level is read optionally.
    const ed = 'event_data' in b ? (b.event_data as { resources?: Array<{ digest?: string }> }) : {};
    return ed.resources?.[0]?.digest ?? null;
  } catch {
    return null;
  }
}

/** A single header value (first one when repeated); undefined when absent. */
export function header(r: ReceivedRequest, name: string): string | undefined {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Starts a receiver on 127.0.0.1 with an ephemeral port (or `port`). */
export async function startReceiver(opts: { port?: number } = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const plans = new Map<string, { plan: ResponsePlan; served: number }>();
  const listeners: Array<(r: ReceivedRequest) => void> = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  const held = new Map<string, Array<{ res: ServerResponse; answer: () => void }>>();
  let seq = 0;

  const matches = (f: RequestFilter | undefined) => (r: ReceivedRequest) =>
    f === undefined ? true : typeof f === 'string' ? r.path === f : f(r);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const entry = plans.get(path);
      const plan = entry?.plan ?? {};
      const statuses = plan.statuses && plan.statuses.length > 0 ? plan.statuses : [200];
      const index = entry ? Math.min(entry.served, statuses.length - 1) : 0;
      if (entry) entry.served++;
      const planned = statuses[index] ?? 200;
      const holding = plan.hold === true && !plan.never;
      const status = plan.never || holding ? null : planned;
      const rec: ReceivedRequest = {
        seq: seq++,
        method: req.method ?? '',
        url,
        path,
        headers: req.headers,
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
        receivedAtHr: performance.now(),
        status,
      };
      requests.push(rec);
      for (const l of listeners) l(rec);
      for (const w of [...waiters]) w();
      const answer = () => {
        if (res.destroyed) return;
        rec.status = planned;
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (plan.retryAfter !== undefined) headers['retry-after'] = plan.retryAfter;
        res.writeHead(planned, headers);
        res.end(plan.body ?? 'ok');
      };
      if (holding) {
        const list = held.get(path) ?? [];
        list.push({ res, answer });
        held.set(path, list);
        return;
      }
      if (status === null) return; // never answer: the sender must time out
      if (plan.delayMs && plan.delayMs > 0) setTimeout(answer, plan.delayMs).unref();
      else answer();
    });
  };

  const server: Server = createServer({ keepAliveTimeout: 30_000 }, handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('receiver: no TCP address');
  const port = addr.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    on: (path) => requests.filter((r) => r.path === path),
    respond(path, plan) {
      plans.set(path, { plan, served: 0 });
    },
    release(path) {
      const entry = plans.get(path);
      if (entry) entry.plan = { ...entry.plan, hold: false };
      const list = held.get(path) ?? [];
      held.delete(path);
      const open = list.filter((h) => !h.res.destroyed);
      for (const h of open) h.answer();
      return open.length;
    },
    get heldCount() {
      let n = 0;
      for (const list of held.values()) n += list.filter((h) => !h.res.destroyed).length;
      return n;
    },
    waitFor(n, timeoutMs, filter) {
      const pick = () => requests.filter(matches(filter));
      return new Promise((resolve, reject) => {
        const check = () => {
          const got = pick();
          if (got.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(got);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = pick();
          const seen = requests.map((r) => `${r.method} ${r.url}`).slice(-20).join('\n  ');
          const what = typeof filter === 'string' ? ` on ${filter}` : filter ? ' (filtered)' : '';
          reject(new Error(`receiver: waited ${timeoutMs} ms for ${n} request(s)${what}, got ${got.length} matching of ${requests.length}; last:\n  ${seen}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    onRequest(listener) {
      listeners.push(listener);
    },
    clear() {
      requests.length = 0;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
}
