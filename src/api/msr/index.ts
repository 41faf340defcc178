/**
 * The /api/v0 plugin: Mirantis Secure Registry's (MSR 2/3, formerly DTR) webhook API on Wharf's
 * webhook engine (./webhooks.ts), in MSR's error format (./errors.ts).
 *
 * Authentication as on /api/v2.0 (../credentials.ts): HTTP Basic for users and robots, bearer
 * tokens from /service/token; wrong credentials are a 401 on any route, and every route needs a
 * signed-in caller (MSR has no anonymous webhook API).
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { badCredentialsMessage, resolveActor } from '../credentials.ts';
import { msrErrorHandler, msrNotFound } from './errors.ts';
import { msrWebhookRoutes } from './webhooks.ts';

export { msrErrors, msrErrorHandler, msrNotFound } from './errors.ts';

/** Parses a JSON body (any content type, as MSR's curl examples vary); '' is undefined; NUL characters are refused. */
function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw fail('BAD_REQUEST', `invalid JSON body: ${err instanceof Error ? err.message : String(err)}`, { msrCode: 'INVALID_JSON' });
  }
  // PostgreSQL cannot store NUL in text; no MSR field means one.
  if (JSON.stringify(value).includes('\\u0000')) throw fail('BAD_REQUEST', 'invalid JSON body: text must not contain NUL characters', { msrCode: 'INVALID_JSON' });
  return value;
}

/** The /api/v0 plugin, registered by buildApp at prefix /api/v0. */
export function msrApi(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.setErrorHandler(msrErrorHandler);
    app.setNotFoundHandler(msrNotFound);
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, parseBody(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)), undefined);
      }
    });
    app.addHook('onRequest', resolveActor(deps, '/api/v0'));
    app.addHook('onRequest', async (req) => {
      if (req.badCredentials) throw fail('UNAUTHORIZED', badCredentialsMessage(req));
      if (/%00/i.test(req.url)) throw fail('BAD_REQUEST', 'the URL must not contain NUL characters (%00)');
      if (req.actor.username === '') throw fail('UNAUTHORIZED', `authentication required to ${req.method} ${req.url.split('?')[0] ?? ''}`);
    });
    await app.register(msrWebhookRoutes(deps));
  };
}
