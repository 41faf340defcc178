/**
 * The web console's server side (issue 14, docs/console.md): Harbor's browser sign-in and
 * sign-out (`POST /c/login`, `GET /c/log_out`, sessions in src/auth/sessions.ts) and the built
 * console (`console.dir`, `npm run build`) as static files under /harbor/:
 * - a file that exists is sent as is; hashed files under /harbor/assets/ are cached for a year,
 *   anything else must be revalidated (`no-cache`);
 * - every other /harbor path is the console's own route: index.html (the app routes in the
 *   browser); a missing asset is a 404;
 * - without an index.html in the folder, /harbor answers 503 saying how to build the console;
 * - `GET /` redirects to /harbor/projects.
 * Nothing here touches /v2, /api, /service, /metrics or the health routes; with
 * `console.enabled: false` the plugin registers nothing.
 */
import { existsSync, statSync } from 'node:fs';
import { join, normalize, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clearSessionCookies, consoleSessions, parseCookies, sessionCookie, sessionSetCookies } from '../auth/index.ts';
import { fail } from '../domain/index.ts';
import type { AppDeps } from './deps.ts';
import { authenticateBasic } from './credentials.ts';
import { harborErrorBody, harborErrorHandler, harborNotFound } from './harbor/errors.ts';

/** Where the console lives (Harbor's portal path). */
export const consoleBase = '/harbor';

/** Sign-in bodies are small. */
const loginBodyLimit = 16 * 1024;

function secureRequest(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

function field(body: unknown, name: string): string {
  if (!body || typeof body !== 'object') return '';
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : '';
}

/** A 401 without a Basic challenge (a browser must not open its own password dialog for the console). */
function refuse(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(401).type('application/json; charset=utf-8').send(harborErrorBody('UNAUTHORIZED', message));
}

/**
 * An app-wide onSend hook: a 401 to the console's own calls (they send `X-Requested-With:
 * XMLHttpRequest`) carries no `WWW-Authenticate`, so the browser does not open its password dialog
 * over the console (the console sends the visitor to its sign-in page instead). Registry and API
 * clients, which never send that header, keep the challenge.
 */
export function consoleChallengeHook(req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  if (reply.statusCode === 401 && req.headers['x-requested-with'] === 'XMLHttpRequest') reply.removeHeader('www-authenticate');
  done(null, payload);
}

/** The console plugin (registered by buildApp at the root). */
export function consoleApi(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const c = deps.config.console;
    if (!c.enabled) return;
    const sessions = consoleSessions(deps.db, c.session_timeout_minutes);
    const root = resolve(c.dir);

    app.setErrorHandler(harborErrorHandler);
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: loginBodyLimit }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
    });

    app.post('/c/login', { bodyLimit: loginBodyLimit }, async (req, reply) => {
      const principal = field(req.body, 'principal');
      const password = field(req.body, 'password');
      if (principal === '' || password === '') throw fail('BAD_REQUEST', 'principal and password are required');
      // Robots use their secret with the API and the registry; they have no console.
      if (await deps.authenticator.isRobotName(principal)) return refuse(reply, 'robot accounts cannot sign in to the console');
      const actor = await authenticateBasic(deps, principal, password, req.ip, '/c/login');
      if (!actor || actor.kind !== 'user' || actor.userId === null) return refuse(reply, 'invalid username or password');
      const s = await sessions.create(actor.userId);
      reply.header('set-cookie', sessionSetCookies(s, secureRequest(req)));
      reply.header('cache-control', 'no-store');
      return reply.code(200).send();
    });

    app.get('/c/log_out', async (req, reply) => {
      const id = parseCookies(req.headers.cookie).get(sessionCookie);
      if (id) await sessions.destroy(id);
      reply.header('set-cookie', clearSessionCookies(secureRequest(req)));
      reply.header('cache-control', 'no-store');
      return reply.code(200).send();
    });

    app.get('/', async (_req, reply) => reply.redirect(`${consoleBase}/projects`, 302));

    // reply.sendFile only: the routes below decide what is a file and what is the app.
    await app.register(fastifyStatic, { root, serve: false, decorateReply: true });

    const indexHtml = join(root, 'index.html');
    const sendIndex = (reply: FastifyReply) => {
      if (!existsSync(indexHtml)) {
        return reply
          .code(503)
          .header('cache-control', 'no-store')
          .type('text/plain; charset=utf-8')
          .send(`The web console is not built: ${root} has no index.html.\nRun \`npm run build\` (or \`npm run console:build\`) in Wharf's folder, or set console.dir to the folder of a build.\n`);
      }
      reply.header('cache-control', 'no-cache');
      return reply.sendFile('index.html', root, { cacheControl: false });
    };

    const serve = async (req: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => {
      const rest = req.params['*'] ?? '';
      const rel = normalize(rest).replace(/^([/\\])+/, '');
      const full = resolve(root, rel);
      if (rel !== '' && rel !== '.' && full.startsWith(root + sep) && !rel.split(/[/\\]/).some((p) => p.startsWith('.'))) {
        let isFile = false;
        try {
          isFile = statSync(full).isFile();
        } catch {
          /* not a file: the app's route */
        }
        if (isFile) {
          if (rel === 'index.html') return sendIndex(reply);
          if (rel.startsWith(`assets${sep}`) || rel.startsWith('assets/')) return reply.sendFile(rel, root, { cacheControl: true, maxAge: 365 * 24 * 3600 * 1000, immutable: true });
          reply.header('cache-control', 'no-cache');
          return reply.sendFile(rel, root, { cacheControl: false });
        }
      }
      // Hashed files are never routes: a missing one is a 404, not the app.
      if (rest.startsWith('assets/')) return harborNotFound(req, reply);
      return sendIndex(reply);
    };
    app.get(consoleBase, serve);
    app.get(`${consoleBase}/*`, serve);
  };
}
