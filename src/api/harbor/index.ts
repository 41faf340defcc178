/**
 * The /api/v2.0 plugin: Harbor's REST API for projects, repositories, artifacts, tags, system
 * info and gc, plus the webhook routes (./webhooks.ts). Thin adapters over the services; one error
 * table (./errors.ts); one paging helper (./paging.ts).
 *
 * Authentication: HTTP Basic, resolved on every request. Wrong credentials are a 401 on any
 * route (as Harbor); a request that changes something needs credentials (401 otherwise, with
 * `WWW-Authenticate: Basic realm="wharf"`); what an authenticated caller may do is the
 * authorizer's decision, asked by the services (403 when refused).
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { badCredentialsMessage, resolveActor } from '../credentials.ts';
import { harborErrorHandler, harborNotFound } from './errors.ts';
import { projectRoutes } from './projects.ts';
import { repositoryRoutes } from './repositories.ts';
import { artifactRoutes } from './artifacts.ts';
import { systemRoutes } from './system.ts';
import { tlsCertRoutes } from './tls-cert.ts';
import { discoveryRoutes } from './discovery.ts';
import { webhookRoutes } from './webhooks.ts';
import { eventFeedRoutes } from './events.ts';
import { cveExportRoutes } from './cve-export.ts';
import { configurationRoutes } from './configurations.ts';
import { quotaRoutes } from './quotas.ts';
import { auditRoutes } from './audit.ts';
import { userRoutes } from './users.ts';
import { permissionRoutes } from './permissions.ts';
import { memberRoutes } from './members.ts';
import { userGroupRoutes } from './usergroups.ts';
import { robotRoutes } from './robots.ts';
import { scannerRoutes } from './scanners.ts';
import { scanRoutes } from './scans.ts';
import { securityRoutes } from './security.ts';
import { immutableRuleRoutes } from './immutable-rules.ts';
import { labelRoutes } from './labels.ts';
import { retentionRoutes } from './retentions.ts';
import { registryEndpointRoutes } from './registries.ts';
import { replicationPolicyRoutes } from './replication.ts';
import { replicationExecutionRoutes } from './replication-executions.ts';
import { preheatRoutes } from './preheat.ts';
import { relayReceiverRoutes, relayRoutes, takesPathToken } from './relay.ts';
import { ldapRoutes } from './ldap.ts';

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when a string anywhere in `v` (keys included) holds a NUL character. */
function holdsNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\0');
  if (Array.isArray(v)) return v.some(holdsNul);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => k.includes('\0') || holdsNul(x));
  return false;
}

/**
 * Parses a JSON body; an empty body is `undefined`; bad JSON is a 400 in Harbor's format. Text
 * with a NUL character (`\u0000`) is refused too: no field means one, and PostgreSQL cannot store it.
 */
function parseJsonBody(body: string): unknown {
  if (body.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw fail('BAD_REQUEST', `invalid JSON body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (holdsNul(value)) throw fail('BAD_REQUEST', 'invalid JSON body: text must not contain NUL characters (\\u0000)');
  return value;
}

/** The /api/v2.0 plugin, registered by buildApp at prefix /api/v2.0. */
export function harborApi(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.setErrorHandler(harborErrorHandler);
    app.setNotFoundHandler(harborNotFound);

    // Harbor clients send JSON, not always with a JSON content type: parse every body as JSON.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (err) {
        done(err instanceof Error ? err : new Error(String(err)), undefined);
      }
    });

    // A relay's token in its path is its credential: its route skips both hooks, and the
    // Authorization header Harbor sends there is not Wharf's (./relay.ts).
    const resolve = resolveActor(deps, '/api/v2.0');
    app.addHook('onRequest', async (req) => (takesPathToken(req) ? undefined : resolve(req)));
    app.addHook('onRequest', async (req) => {
      if (takesPathToken(req)) return;
      if (req.badCredentials) throw fail('UNAUTHORIZED', badCredentialsMessage(req));
      // A NUL in the path or query (%00) names nothing and PostgreSQL cannot compare text with one.
      if (/%00/i.test(req.url)) throw fail('BAD_REQUEST', 'the URL must not contain NUL characters (%00)');
      if (!readMethods.has(req.method) && req.actor.username === '') {
        throw fail('UNAUTHORIZED', `authentication required to ${req.method} ${req.url.split('?')[0] ?? ''}`);
      }
    });

    await app.register(projectRoutes(deps));
    await app.register(repositoryRoutes(deps));
    await app.register(artifactRoutes(deps));
    await app.register(systemRoutes(deps));
    await app.register(tlsCertRoutes(deps));
    await app.register(discoveryRoutes(deps));
    await app.register(webhookRoutes(deps));
    await app.register(eventFeedRoutes(deps));
    await app.register(configurationRoutes(deps));
    await app.register(quotaRoutes(deps));
    await app.register(auditRoutes(deps));
    await app.register(userRoutes(deps));
    await app.register(permissionRoutes(deps));
    await app.register(memberRoutes(deps));
    await app.register(userGroupRoutes(deps));
    await app.register(robotRoutes(deps));
    await app.register(scannerRoutes(deps));
    await app.register(scanRoutes(deps));
    await app.register(securityRoutes(deps));
    await app.register(cveExportRoutes(deps));
    await app.register(immutableRuleRoutes(deps));
    await app.register(labelRoutes(deps));
    await app.register(retentionRoutes(deps));
    await app.register(registryEndpointRoutes(deps));
    await app.register(replicationPolicyRoutes(deps));
    await app.register(replicationExecutionRoutes(deps));
    await app.register(preheatRoutes(deps));
    await app.register(relayRoutes(deps));
    await app.register(relayReceiverRoutes(deps));
    await app.register(ldapRoutes(deps));
  };
}
