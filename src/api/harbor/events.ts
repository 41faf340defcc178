/**
 * Wharf's event feed under /api/v2.0 (a Wharf extension; docs/event-feed.md):
 *
 *   GET /events?consumer=&cursor=&wait=&limit=&event_types=&repo_filters=&tag_filters=&project=
 *       200 {"events":[CloudEvent…],"next_cursor":"…"}: at once when there are events, else after
 *       up to `wait` seconds (a long-poll)
 *   GET /events/stream?… (the same parameters; `Last-Event-ID` resumes; `Accept: text/event-stream` required)
 *       200 text/event-stream: `id: <cursor>` and `data: <CloudEvent>` per event, heartbeat comments
 *   GET /events/consumers          200 [{"name","cursor","filters","creation_time","update_time"}]: the caller's named consumers
 *   DELETE /events/consumers/{name}  200; 404 when the caller has no such consumer
 *
 * One service call per route (src/webhooks/event-feed.ts decides who sees what and where a
 * consumer stands); this file parses the query and speaks HTTP, including the stream's framing.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { parseFeedQuery, type EventFeed, type FeedQuery } from '../../webhooks/index.ts';
import { callContext } from './context.ts';

type Query = Record<string, unknown>;

function feedQuery(req: FastifyRequest<{ Querystring: Query }>, stream: boolean): FeedQuery {
  const h = req.headers['x-is-resource-name'];
  const last = req.headers['last-event-id'];
  return parseFeedQuery(req.query, { isName: typeof h === 'string' && h.toLowerCase() === 'true', ...(stream && typeof last === 'string' ? { lastEventId: last.trim() } : {}) });
}

/** An AbortSignal that fires when the response closes: the client went away (or the answer ended). */
function clientGone(reply: FastifyReply): AbortSignal {
  const ac = new AbortController();
  reply.raw.once('close', () => ac.abort());
  return ac.signal;
}

/** The event feed routes; absent `deps.eventFeed`: none. */
export function eventFeedRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const feed: EventFeed | undefined = deps.eventFeed;
    if (!feed) return;
    // Waiting long-polls answer and streams end before the server waits for its connections.
    app.addHook('preClose', async () => feed.close());

    app.get<{ Querystring: Query }>('/events', async (req, reply) => {
      const page = await feed.read(callContext(req), feedQuery(req, false), clientGone(reply));
      // The events are sent as the CloudEvents format lays them out, byte for byte.
      return reply.type('application/json; charset=utf-8').header('cache-control', 'no-store').send(`{"events":[${page.events.join(',')}],"next_cursor":${JSON.stringify(page.nextCursor)}}`);
    });

    app.get('/events/consumers', async (req, reply) => reply.header('cache-control', 'no-store').send(await feed.consumers(callContext(req))));

    app.delete<{ Params: { name: string } }>('/events/consumers/:name', async (req, reply) => {
      await feed.deleteConsumer(callContext(req), req.params.name);
      return reply.code(200).send();
    });

    app.get<{ Querystring: Query }>('/events/stream', async (req, reply) => {
      const res = reply.raw;
      const gone = clientGone(reply);
      let opened = false;
      try {
        await feed.stream(callContext(req), feedQuery(req, true), {
          signal: gone,
          open() {
            // A client that did not ask for a stream (a crawler, a generic GET) gets an error, not an endless answer.
            if (!/text\/event-stream/i.test(req.headers.accept ?? '')) throw fail('BAD_REQUEST', 'GET /events/stream answers server-sent events: send "Accept: text/event-stream" (or use GET /events)');
            opened = true;
            reply.hijack();
            res.writeHead(200, {
              'content-type': 'text/event-stream; charset=utf-8',
              'cache-control': 'no-store',
              'x-accel-buffering': 'no',
              'x-request-id': req.id,
            });
            res.flushHeaders();
          },
          write(chunk) {
            if (res.destroyed || res.writableEnded) return Promise.resolve();
            if (res.write(chunk)) return Promise.resolve();
            // A client that stops reading is dropped after the server's stall limit, as any answer's reader is.
            return new Promise((resolve) => {
              const stalled = setTimeout(() => res.destroy(), deps.config.server.stall_timeout_seconds * 1000);
              const done = () => {
                clearTimeout(stalled);
                res.off('drain', done);
                res.off('close', done);
                resolve();
              };
              res.once('drain', done);
              res.once('close', done);
            });
          },
        });
      } catch (err) {
        // Before the stream opened: an ordinary error answer. After: the stream ends (logged).
        if (!opened) throw err;
        req.log.error({ err }, 'event feed: the stream failed');
      }
      if (!opened) throw fail('UNAVAILABLE', 'the event stream could not start');
      res.end();
      return reply;
    });
  };
}
