/**
 * Issue 8, item 6: connections cannot be held open. Real sockets (node:net) against a real
 * Wharf with small limits (src/api/connections.ts, the `server` config section): a slowloris
 * header sender, an idle connection and an idle keep-alive connection are closed; an anonymous
 * upload dribbling its body gets its 401 and the connection is closed; a stalled upload is cut;
 * an upload that keeps making progress is not, however long it takes; a client that stops reading
 * a blob it pulls is dropped; a buffered body (API JSON) that does not arrive within the body limit
 * is cut even while it trickles. A stopping server closes a keep-alive connection once the answer
 * it was sending has gone out, instead of waiting for the keep-alive limit (src/api/connections.ts).
 * The tests assert closed or not closed; the waits only bound how long they look.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import type { ConnectionError } from 'fastify';
import { clientErrorHandler, type ServerLimits } from '../../src/api/connections.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';

/** A raw client connection: what it received, and whether the server closed it. */
interface RawClient {
  socket: Socket;
  received(): string;
  closed(): boolean;
  /** Resolves true when the connection closes within `ms`, false otherwise. */
  closesWithin(ms: number): Promise<boolean>;
  /** Resolves once `text` has been received (or after `ms`). */
  waitFor(text: string | RegExp, ms: number): Promise<boolean>;
}

async function open(port: number): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let data = '';
  let isClosed = false;
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  // A reset after the server closed is still a close.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    isClosed = true;
    resolve();
  }));
  return {
    socket,
    received: () => data,
    closed: () => isClosed,
    closesWithin: async (ms) => Promise.race([closed.then(() => true), sleep(ms).then(() => false)]),
    waitFor: async (text, ms) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline && !isClosed) {
        if (typeof text === 'string' ? data.includes(text) : text.test(data)) return true;
        await sleep(20);
      }
      return typeof text === 'string' ? data.includes(text) : text.test(data);
    },
  };
}

/** Writes a byte every `everyMs` until `count` bytes are sent or the socket closes; resolves the number sent. */
async function dribble(c: RawClient, count: number, everyMs: number): Promise<number> {
  let sent = 0;
  while (sent < count && !c.closed()) {
    c.socket.write('a');
    sent++;
    await sleep(everyMs);
  }
  return sent;
}

describe('connection timeouts', () => {
  let w: TestWharf;
  let port: number;
  before(async () => {
    w = await startWharf({
      overrides: { server: { headers_timeout_seconds: 1, stall_timeout_seconds: 1, body_timeout_seconds: 2, keep_alive_timeout_seconds: 1 } },
    });
    port = Number(new URL(w.url).port);
  });
  after(async () => {
    await w.close();
  });

  /** Starts an upload as admin; its path. */
  async function startUpload(repo: string): Promise<string> {
    const r = await fetch(`${w.url}/v2/library/${repo}/blobs/uploads/`, { method: 'POST', headers: { authorization: adminAuth } });
    assert.equal(r.status, 202);
    const loc = r.headers.get('location');
    assert.ok(loc);
    return loc;
  }

  it('closes a connection that sends its headers a line at a time (slowloris), with a 408', async () => {
    const c = await open(port);
    c.socket.write('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const sender = (async () => {
      for (let i = 0; i < 40 && !c.closed(); i++) {
        c.socket.write(`X-Slow-${i}: y\r\n`);
        await sleep(200);
      }
    })();
    assert.equal(await c.closesWithin(8000), true, 'the server closed the slowloris connection');
    await sender;
    assert.match(c.received(), /^HTTP\/1\.1 408 /);
    assert.match(c.received(), /"code":"REQUEST_TIMEOUT"/);
  });

  it('closes a connection that never sends a request', async () => {
    const c = await open(port);
    assert.equal(await c.closesWithin(8000), true);
    assert.equal(c.received(), '');
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const c = await open(port);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    assert.ok(await c.waitFor('{"status":"ok"}', 5000));
    assert.match(c.received(), /Keep-Alive: timeout=1/);
    assert.equal(await c.closesWithin(8000), true);
  });

  it('answers an anonymous upload dribbling its body with 401 and closes the connection', async () => {
    const c = await open(port);
    c.socket.write('POST /v2/library/dribble/blobs/uploads/?digest=sha256:' + 'a'.repeat(64) + ' HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n');
    // A byte every 300 ms: never stalled long enough for the stall limit, so only the early answer can end it.
    const sender = dribble(c, 1000, 300);
    assert.ok(await c.waitFor(/^HTTP\/1\.1 401 /, 5000), `a 401: ${c.received()}`);
    assert.equal(await c.closesWithin(5000), true, 'the connection closed after the 401');
    assert.match(c.received(), /connection: close/i);
    assert.ok((await sender) < 1000);
  });

  // A client that writes its whole body before it reads (as simple clients do) must still read the
  // early answer. Closing the socket at once, with the body still arriving, makes the kernel answer
  // the rest with a reset: the client's writes fail (EPIPE/ECONNRESET) and the 401 it has not read
  // yet is lost. Wharf half-closes and reads the rest away for a moment first (lingering close).
  it('lets a client that writes its whole body before reading get the early 401', async () => {
    const body = Buffer.alloc(16 * 1024 * 1024, 0x61);
    const c = await open(port);
    c.socket.pause(); // read nothing until the body is written
    const written = await new Promise<boolean>((resolve) => {
      c.socket.once('error', () => resolve(false));
      c.socket.write(`POST /v2/library/linger/blobs/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n`);
      c.socket.write(body, (err) => resolve(!err));
    });
    c.socket.resume();
    assert.equal(written, true, 'the whole body was written (no reset while the client was still sending)');
    assert.ok(await c.waitFor(/^HTTP\/1\.1 401 /, 5000), `got the 401: ${c.received().slice(0, 80)}`);
    assert.match(c.received(), /connection: close/i);
    assert.equal(await c.closesWithin(8000), true, 'the connection is closed after the answer');
  });

  it('does not cut an authenticated upload that keeps making progress past the stall and body limits', async () => {
    const loc = await startUpload('slow-progress');
    const c = await open(port);
    const bytes = 12;
    c.socket.write(`PATCH ${loc} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adminAuth}\r\nContent-Length: ${bytes}\r\n\r\n`);
    // 12 bytes at one per 300 ms: about 3.6 s, longer than both the 1 s stall and the 2 s body limit.
    assert.equal(await dribble(c, bytes, 300), bytes, 'every byte was sent before any close');
    assert.ok(await c.waitFor(/^HTTP\/1\.1 202 /, 5000), `a 202: ${c.received()}`);
    assert.match(c.received(), /range: 0-11/i);
    assert.equal(c.closed(), false);
    c.socket.destroy();
  });

  it('cuts an authenticated upload whose body stalls, and keeps serving', async () => {
    const loc = await startUpload('stalled');
    const c = await open(port);
    c.socket.write(`PATCH ${loc} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adminAuth}\r\nContent-Length: 1000\r\n\r\n0123456789`);
    assert.equal(await c.closesWithin(8000), true, 'the stalled upload was cut');
    assert.doesNotMatch(c.received(), /^HTTP\/1\.1 2/);
    const ok = await fetch(`${w.url}/healthz`);
    assert.equal(ok.status, 200);
  });

  it('drops a client that stops reading a blob it is pulling', async () => {
    // Larger than what the loopback socket buffers and Node's stream buffers hold together.
    const blob = Buffer.alloc(48 * 1024 * 1024, 7);
    const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex');
    const put = await fetch(`${w.url}/v2/library/big-pull/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { authorization: adminAuth }, body: blob });
    assert.equal(put.status, 201);
    const c = await open(port);
    c.socket.write(`GET /v2/library/big-pull/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adminAuth}\r\n\r\n`);
    assert.ok(await c.waitFor(/^HTTP\/1\.1 200 /, 5000));
    let bytes = 0;
    c.socket.on('data', (d: Buffer) => (bytes += d.length));
    // A paused socket reads nothing, not even the server's close: look again once reading resumes.
    c.socket.pause();
    await sleep(4000);
    c.socket.resume();
    assert.equal(await c.closesWithin(10_000), true, 'the stalled reader was dropped');
    assert.ok(bytes < blob.length, `only part of the blob arrived (${bytes} of ${blob.length} bytes)`);
  });

  it('cuts a buffered API body that trickles past the body limit', async () => {
    const c = await open(port);
    const body = JSON.stringify({ project_name: 'trickle', metadata: { public: 'false' } });
    c.socket.write(`POST /api/v2.0/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adminAuth}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // One byte every 300 ms: progress enough for the stall limit, far too slow for the 2 s body limit.
    const sender = (async () => {
      for (const ch of body) {
        if (c.closed()) break;
        c.socket.write(ch);
        await sleep(300);
      }
    })();
    assert.equal(await c.closesWithin(8000), true, 'the trickling body was cut');
    await sender;
    assert.doesNotMatch(c.received(), /^HTTP\/1\.1 201 /);
  });
});

describe('stopping the server', () => {
  it('closes a keep-alive connection whose answer ends after the stop began, instead of waiting for its keep-alive limit', async () => {
    // A keep-alive limit far longer than the test may take: the stop must not wait for it.
    const w = await startWharf({ overrides: { server: { keep_alive_timeout_seconds: 600, stall_timeout_seconds: 60 } } });
    const port = Number(new URL(w.url).port);
    const blob = Buffer.alloc(16 * 1024 * 1024, 3);
    const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex');
    const put = await fetch(`${w.url}/v2/library/stop/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { authorization: adminAuth }, body: blob });
    assert.equal(put.status, 201);
    const c = await open(port);
    c.socket.write(`GET /v2/library/stop/blobs/${digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${adminAuth}\r\n\r\n`);
    assert.ok(await c.waitFor(/^HTTP\/1\.1 200 /, 5000));
    // The answer is still being sent when the stop begins: the connection is busy, not idle.
    c.socket.pause();
    let stopped = false;
    const stopping = w.close().then(() => (stopped = true));
    await sleep(300);
    assert.equal(stopped, false, 'the stop waits for the answer in flight');
    c.socket.resume();
    assert.equal(await c.closesWithin(15_000), true, 'the connection was closed once its answer was sent');
    const body = c.received().length - (c.received().indexOf('\r\n\r\n') + 4);
    assert.equal(body, blob.length, 'the whole blob arrived before the close');
    const done = await Promise.race([stopping.then(() => true), sleep(15_000).then(() => false)]);
    assert.equal(done, true, 'the server stopped without waiting for the keep-alive limit');
  });
});

describe('a request timeout from Node’s own headers check', () => {
  // Node's check counts from the connection's start, so on a connection that never sent a byte it
  // can run out just before the idle timer: the answer must not depend on which fires first.
  it('closes a connection that sent nothing without an answer, and answers one that sent part of its headers with the 408', async () => {
    const limits: ServerLimits = { headers_timeout_seconds: 1, stall_timeout_seconds: 1, body_timeout_seconds: 1, keep_alive_timeout_seconds: 1 };
    const handler = clientErrorHandler(limits, pino({ level: 'silent' }));
    // What Node's check hands the server's clientError listeners.
    const timeout: ConnectionError = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT', bytesParsed: 0, rawPacket: { type: 'Buffer', data: [] } });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const accepted = (): Promise<Socket> => new Promise((resolve) => server.once('connection', resolve));
    try {
      const silentSide = accepted();
      const silent = await open(port);
      handler(timeout, await silentSide);
      assert.equal(await silent.closesWithin(5000), true);
      assert.equal(silent.received(), '');

      const partialSide = accepted();
      const partial = await open(port);
      const serverSocket = await partialSide;
      const arrived = new Promise((resolve) => serverSocket.once('data', resolve));
      partial.socket.write('GET /v2/ HTTP/1.1\r\n');
      await arrived;
      handler(timeout, serverSocket);
      assert.equal(await partial.closesWithin(5000), true);
      assert.match(partial.received(), /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"REQUEST_TIMEOUT"/);
    } finally {
      server.close();
    }
  });
});
