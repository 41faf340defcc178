/**
 * HTTPS for the app (docs/tls.md): the Fastify server options for the `tls` section, and the
 * plain-HTTP redirect listener (`tls.redirect_port`). The certificate itself (files or generated,
 * renewal, reloads) is the platform's CertificateManager; this file hands it to the server.
 *
 * HTTP/1.1 over TLS keeps every connection limit of ./connections.ts: Node's https server is an
 * http server on TLS sockets. With `tls.http2` the server is Node's HTTP/2 server answering
 * HTTP/1.1 too (ALPN); on HTTP/2 streams the per-phase socket timers do not apply (a stream has no
 * socket of its own): an idle session is closed after keep_alive_timeout_seconds instead. This is
 * why HTTP/2 is opt-in.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ServerOptions } from 'node:https';
import type { Config } from '../config/index.ts';
import type { CertificateManager, SecureContextTarget } from '../platform/index.ts';
import { serverOptions } from './connections.ts';

/** The parts of the configuration the TLS server reads. */
export type TlsServerConfig = Pick<Config, 'tls' | 'server'>;

/** The certificate source buildApp needs: what to serve, and where to send later changes. */
export type ServedCertificate = Pick<CertificateManager, 'secureContextOptions' | 'watch' | 'caCertificate' | 'caPath'>;

/**
 * Options for Node's secure server: the certificate pair plus the `http` options the plain server
 * gets (header timeouts), and a TLS handshake bounded by the same headers limit (a connection
 * that never finishes its handshake is closed like one that never sends a request).
 */
export function secureServerOptions(config: TlsServerConfig, cert: ServedCertificate, http: ServerOptions): ServerOptions & { allowHTTP1?: boolean } {
  return {
    ...http,
    ...cert.secureContextOptions(),
    handshakeTimeout: config.server.headers_timeout_seconds * 1000,
    ...(config.tls.http2 ? { allowHTTP1: true } : {}),
  };
}

/**
 * The Fastify options that make the server HTTPS (and HTTP/2 with `tls.http2`); none without a
 * certificate. Typed as adding nothing on purpose: Fastify types its instance by these options,
 * and buildApp's plugins are written against the default (http.Server) instance, whose API the
 * secure servers share (listen, address, close, on).
 */
export function tlsServerOptions(config: TlsServerConfig, cert: ServedCertificate | undefined): Record<never, never> {
  if (!cert) return {};
  const https = secureServerOptions(config, cert, serverOptions(config.server).http);
  if (!config.tls.http2) return { https };
  // An HTTP/2 session idle this long is closed; on close, open sessions are closed too (Node 20's close() waits for them).
  return { http2: true, https, http2SessionTimeout: config.server.keep_alive_timeout_seconds * 1000, forceCloseConnections: true };
}

/** Hands later certificate changes to the listening server (https.Server and Http2SecureServer both take them). */
export function followCertificate(server: unknown, cert: ServedCertificate): void {
  // Fastify types app.server as http.Server; with `https` or `http2` it is a tls.Server subclass.
  cert.watch(server as SecureContextTarget);
}

/** The answer of the redirect port: 308 to the same path and query on `externalUrl`. */
export function redirectHandler(externalUrl: string) {
  const base = externalUrl.replace(/\/+$/, '');
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').startsWith('/') ? (req.url ?? '/') : '/';
    res.writeHead(308, { location: `${base}${path}`, 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end(`${base}${path}\n`);
  };
}

/** Listens on `port` for plain HTTP and redirects every request to `externalUrl` (tls.redirect_port). */
export async function startRedirectServer(host: string, port: number, externalUrl: string, headersTimeoutSeconds: number): Promise<Server> {
  const server = createServer({ headersTimeout: headersTimeoutSeconds * 1000, requestTimeout: headersTimeoutSeconds * 1000 }, redirectHandler(externalUrl));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
