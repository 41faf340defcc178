/**
 * A closed-loop HTTP/1.1 load generator over plain keep-alive sockets (node:net), for GET and HEAD.
 *
 * Why not undici or autocannon for HEAD: undici closes the connection after every HEAD request
 * (lib/dispatcher/client-h1.js sets `socket[kReset]` for HEAD, "to interop with misbehaving
 * servers"), so an undici HEAD loop measures a TCP connect per request; autocannon 8 waits for a
 * body after a HEAD answer that carries Content-Length and stalls. Real registry clients (Go's
 * net/http in docker, containerd, skopeo) keep the connection open after a HEAD. This loop does too:
 * each of `connections` sockets sends one request, reads the status line and headers, skips
 * `Content-Length` bytes of body for a GET (none for a HEAD), and sends the next.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** The Accept header of a manifest GET or HEAD: every manifest type Wharf and the CNCF registry serve. */
export const manifestAccept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface KeepAliveResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** Connections opened (one per worker unless the server closed some). */
  connects: number;
}

/** Percentile `p` (0..100) of sorted `xs`. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const headerEnd = Buffer.from('\r\n\r\n');

/** Runs the loop against `url` (http://host:port) for `seconds` with `connections` sockets. */
export async function keepAliveLoop(opts: { url: string; method: 'GET' | 'HEAD'; path: string; headers?: Record<string, string>; connections: number; seconds: number }): Promise<KeepAliveResult> {
  const u = new URL(opts.url);
  const port = Number(u.port || 80);
  const extra = Object.entries(opts.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.from(`${opts.method} ${opts.path} HTTP/1.1\r\nhost: ${u.host}\r\n${extra}\r\n`);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let connects = 0;
  const end = performance.now() + opts.seconds * 1000;

  const worker = () =>
    new Promise<void>((resolve) => {
      let socket: Socket;
      let buf: Buffer = Buffer.alloc(0);
      let bodyLeft = -1; // -1: reading headers
      let sentAt = 0;
      const open = () => {
        connects++;
        buf = Buffer.alloc(0);
        bodyLeft = -1;
        socket = connect(port, u.hostname, send);
        socket.setNoDelay(true);
        socket.on('data', onData);
        socket.on('error', () => errors++);
        socket.on('close', () => {
          if (performance.now() < end) open();
          else resolve();
        });
      };
      const send = () => {
        if (performance.now() >= end) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        socket.write(request);
      };
      const done = (status: number, close: boolean) => {
        latencies.push(performance.now() - sentAt);
        if (status < 200 || status > 299) non2xx++;
        if (close) socket.end();
        else send();
      };
      let status = 0;
      let closeAfter = false;
      const onData = (chunk: Buffer) => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        for (;;) {
          if (bodyLeft < 0) {
            const i = buf.indexOf(headerEnd);
            if (i < 0) return;
            const head = buf.subarray(0, i).toString('latin1');
            buf = buf.subarray(i + 4);
            status = Number(head.slice(9, 12));
            const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
            closeAfter = /\r\nconnection:\s*close/i.test(head);
            bodyLeft = opts.method === 'HEAD' ? 0 : Number(cl?.[1] ?? 0);
          }
          if (buf.length < bodyLeft) return;
          buf = buf.subarray(bodyLeft);
          bodyLeft = -1;
          done(status, closeAfter);
          if (buf.length === 0) return;
        }
      };
      open();
    });

  const started = performance.now();
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number, d: number) => Math.round(n * 10 ** d) / 10 ** d;
  return {
    requestsPerSecond: round(latencies.length / elapsed, 0),
    latencyP50Ms: round(percentile(latencies, 50), 1),
    latencyP99Ms: round(percentile(latencies, 99), 1),
    requests: latencies.length,
    non2xx,
    errors,
    connects,
  };
}
