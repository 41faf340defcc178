/**
 * How long Wharf waits for a client, and what a client that sends broken HTTP gets back. Every
 * limit comes from the `server` section of the configuration (docs/config.md); docs/security.md
 * ("Timeouts and malformed requests") states the guarantees.
 *
 *   phase                          limit                        on expiry
 *   connection open, no request    headers_timeout_seconds      closed (socket idle timer)
 *   request line and headers       headers_timeout_seconds      408 JSON, closed (Node's headersTimeout)
 *   request body, any              stall_timeout_seconds        closed: no byte arrived for that long
 *   request body Wharf buffers     body_timeout_seconds         closed: the whole body did not arrive in time
 *   response body                  stall_timeout_seconds        closed: the client read nothing for that long
 *   between requests (keep-alive)  keep_alive_timeout_seconds   closed (Node's keepAliveTimeout)
 *
 * Blob uploads stream and have no total limit: a 5 GiB layer over a slow link goes through as
 * long as bytes keep coming. While Wharf itself works (between the end of the body and the first
 * byte of the response) no timer runs. An answer sent before the request body has fully arrived
 * (a 401 to an anonymous upload, any early error) carries `Connection: close`; the connection
 * then reads and drops the rest of the body for at most {@link lingerMs} (lingering close, so the
 * client can read the answer) and is closed, so a client dribbling a body cannot hold it open.
 */
import { STATUS_CODES, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import diagnostics from 'node:diagnostics_channel';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';
import type { ConnectionError, FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';

/** The `server` configuration section. */
export interface ServerLimits {
  headers_timeout_seconds: number;
  stall_timeout_seconds: number;
  body_timeout_seconds: number;
  keep_alive_timeout_seconds: number;
}

/** The Fastify constructor options that carry the limits to Node's HTTP server. */
export function serverOptions(limits: ServerLimits): { http: ServerOptions; keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number } {
  const headersMs = limits.headers_timeout_seconds * 1000;
  return {
    http: {
      headersTimeout: headersMs,
      // Node checks headersTimeout on this interval (default 30 s); check often enough to honour a short limit.
      connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(headersMs / 4))),
      // No total request limit: it would cut long uploads that are still making progress.
      requestTimeout: 0,
    },
    keepAliveTimeout: limits.keep_alive_timeout_seconds * 1000,
    requestTimeout: 0,
    // No server-wide socket timeout: the hooks below set one per phase.
    connectionTimeout: 0,
  };
}

/** True when the request announces a body (a non-zero Content-Length or a Transfer-Encoding). */
export function announcesBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * Stops `app` the graceful way: requests in flight finish, and each keep-alive connection closes
 * once its last answer has been sent. Node closes only the connections idle at the moment of
 * close(); a connection whose answer ends a moment later would otherwise stay open, and hold the
 * stop, for its whole keep-alive limit (`keep_alive_timeout_seconds`, 65 s by default). So while
 * the server stops, each answer it finishes ends its connection (Node's `http.server.response.finish`
 * channel tells when an answer has been handed to the connection in full). HTTP/2 servers close
 * their sessions themselves (src/api/tls.ts).
 */
export async function closeGracefully(app: FastifyInstance): Promise<void> {
  const onFinish = (message: unknown): void => {
    const { server, socket } = message as { server?: unknown; socket?: Socket };
    if (server === app.server) socket?.end();
  };
  diagnostics.subscribe('http.server.response.finish', onFinish);
  try {
    await app.close();
  } finally {
    diagnostics.unsubscribe('http.server.response.finish', onFinish);
  }
}

/**
 * Installs the per-phase timers on `app` (call before registering plugins so that every surface
 * inherits the hooks). `streamsBody(method, url)` names the requests whose body is streamed to
 * storage (blob uploads): they get the stall limit only, never the total one.
 */
export function applyConnectionLimits(app: FastifyInstance, limits: ServerLimits, streamsBody: (method: string, url: string) => boolean): void {
  const headersMs = limits.headers_timeout_seconds * 1000;
  const stallMs = limits.stall_timeout_seconds * 1000;
  const bodyMs = limits.body_timeout_seconds * 1000;

  // A connection that never sends a request: closed when it has been silent for the headers limit.
  // Node's own headers check may get there first; clientErrorHandler then closes it without an
  // answer too, so the outcome does not depend on which timer fires first. Over TLS the timer starts
  // once the handshake is done (the handshake has the same limit: src/api/tls.ts); an HTTP/2
  // session keeps its own idle limit.
  app.server.on(app.server instanceof TlsServer ? 'secureConnection' : 'connection', (socket: Socket) => {
    if ((socket as Partial<TLSSocket>).alpnProtocol !== 'h2') socket.setTimeout(headersMs);
  });

  app.addHook('onRequest', async (req, reply) => {
    const socket = timedTransport(req);
    if (!announcesBody(req) || req.raw.complete) {
      socket.setTimeout(0); // Wharf's turn: no timer while it works
      return;
    }
    // Node destroys a socket whose timeout fires when nobody listens for 'timeout' on the request,
    // the response or the server; nothing in Wharf does.
    socket.setTimeout(stallMs);
    let deadline: NodeJS.Timeout | undefined;
    if (!streamsBody(req.method, req.url)) {
      deadline = setTimeout(() => {
        req.log.info({ limit_seconds: limits.body_timeout_seconds }, 'request body did not arrive in time: closing the connection');
        socket.destroy();
      }, bodyMs);
      deadline.unref();
    }
    const bodyDone = () => {
      clearTimeout(deadline);
      // Once the answer has started, its own timer (onSend) or Node's keep-alive timer applies.
      if (!reply.raw.headersSent && !socket.destroyed) socket.setTimeout(0);
    };
    req.raw.once('end', bodyDone);
    req.raw.once('close', () => clearTimeout(deadline));
  });

  app.addHook('onSend', async (req, reply, payload) => {
    // Answering before the body arrived (a 401, any early error): do not read the rest. (HTTP/2 has
    // no Connection header: ending the response resets the stream's rest, not the connection.)
    if (announcesBody(req) && !req.raw.complete && req.raw.httpVersionMajor !== 2) {
      reply.header('connection', 'close');
      lingerBeforeClose(req.raw.socket, Math.min(lingerMs, stallMs));
    }
    // A client that stops reading the answer is dropped after the stall limit.
    timedTransport(req).setTimeout(stallMs);
    return payload;
  });
}

/** What the per-phase timers act on: a request's socket (HTTP/1.1) or stream (HTTP/2). */
interface TimedTransport {
  setTimeout(ms: number): unknown;
  destroy(): unknown;
  readonly destroyed: boolean;
}

const http2Streams = new WeakMap<ServerHttp2Stream, TimedTransport>();

/**
 * The request's socket, or with HTTP/2 (tls.http2) its stream: there `req.raw.socket` is Node's
 * stand-in whose timer is the whole session's, so the timers act on the stream, and a stream whose
 * timer fires is closed (RST_STREAM CANCEL) while the session and its other streams go on.
 */
function timedTransport(req: FastifyRequest): TimedTransport {
  // With tls.http2 an HTTP/2 raw request is an Http2ServerRequest (Fastify types it as http's IncomingMessage).
  const stream = req.raw.httpVersionMajor === 2 ? (req.raw as unknown as { stream?: ServerHttp2Stream }).stream : undefined;
  if (!stream) return req.raw.socket;
  let t = http2Streams.get(stream);
  if (!t) {
    const close = () => stream.close(http2Constants.NGHTTP2_CANCEL);
    stream.on('timeout', close);
    t = { setTimeout: (ms) => stream.setTimeout(ms), destroy: close, get destroyed() { return stream.destroyed || stream.closed; } };
    http2Streams.set(stream, t);
  }
  return t;
}

/** How long the connection of an early answer keeps reading (and dropping) the rest of the body before it is closed. */
export const lingerMs = 2000;

/**
 * Lingering close for an answer sent before its request body arrived. Node ends a
 * `Connection: close` answer with `socket.destroySoon()`: a FIN, then the socket is closed the
 * moment the answer is written. A client still sending then meets a TCP reset, which fails its
 * writes and can destroy the answer before it reads it (a client that writes its whole body before
 * reading never sees its 401). This socket's `destroySoon` instead sends the FIN, lets Node's
 * parser keep reading and dropping the body, and closes when the client closes its side or after
 * `ms` — what web servers call a lingering close. The stall limit still applies meanwhile.
 */
function lingerBeforeClose(socket: Socket, ms: number): void {
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), ms);
    timer.unref();
    this.once('end', () => this.destroy());
    this.once('close', () => clearTimeout(timer));
  };
}

/** The code and status for a connection-level error Node's parser raised. */
function describeClientError(err: ConnectionError, limits: ServerLimits): { status: number; code: string; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'REQUEST_HEADER_FIELDS_TOO_LARGE', message: 'the request line and headers are larger than the server accepts' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'REQUEST_TIMEOUT', message: `the request headers did not arrive within ${limits.headers_timeout_seconds} s` };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { status: 400, code: 'BAD_REQUEST', message: 'malformed HTTP request: unsupported Transfer-Encoding (only chunked is accepted, as the last coding)' };
    default:
      return { status: 400, code: 'BAD_REQUEST', message: `malformed HTTP request${typeof err.code === 'string' ? ` (${err.code})` : ''}` };
  }
}

/**
 * Fastify's `clientErrorHandler`: a request Node could not parse (bad framing, headers too large,
 * headers too slow) gets `{"errors":[{"code","message"}]}`, the shape both /v2 and /api/v2.0 use,
 * with `Connection: close`, and the connection is closed once that is written.
 */
export function clientErrorHandler(limits: ServerLimits, log: FastifyBaseLogger) {
  return (err: ConnectionError, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    // A connection that never sent a byte is closed without an answer, as its idle timer does
    // (both run out at the headers limit: Node's check counts from the connection's start too).
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0) {
      socket.destroy();
      return;
    }
    const { status, code, message } = describeClientError(err, limits);
    log.debug({ err, status }, 'client error: closing the connection');
    // Node's own check: never write over a response that has already started on this socket.
    // `_httpMessage` is Node's (undocumented) current response of the socket.
    const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || current?.headersSent === true) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ errors: [{ code, message }] });
    const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'Content-Type: application/json; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
  };
}

