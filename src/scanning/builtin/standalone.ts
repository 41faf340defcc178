/**
 * `wharf scanner`: the built-in scanner served alone, on its own port, by a Fastify instance of
 * its own (no registry, no Harbor API): the adapter API at `/api/v1`. main.ts wires the database.
 */
import Fastify, { type FastifyBaseLogger } from 'fastify';
import { builtinScanner, type BuiltinScannerDeps } from './scanner.ts';

/** A listening standalone scanner. */
export interface StandaloneScanner {
  /** `http://host:port`, the base URL to register. */
  url: string;
  /** Stops accepting requests, stops the scans in flight. */
  close(): Promise<void>;
}

/** Starts the built-in scanner alone on `host:port` (port 0 picks a free one). */
export async function startStandaloneScanner(opts: { host: string; port: number; deps: BuiltinScannerDeps }): Promise<StandaloneScanner> {
  // pino's Logger is a FastifyBaseLogger; the cast keeps Fastify's default generic so the plugin type-checks.
  const app = Fastify({ loggerInstance: opts.deps.logger as FastifyBaseLogger, bodyLimit: 1024 * 1024, return503OnClosing: false });
  await app.register(builtinScanner({ ...opts.deps, prefix: '' }));
  await app.listen({ host: opts.host, port: opts.port });
  const a = app.server.address();
  const port = typeof a === 'object' && a ? a.port : opts.port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
