/**
 * Harbor's user endpoints (adapters over the UserService):
 *   GET    /users                    list (system admin; Harbor's q, sort and paging: q=username=~x,email=~y)
 *   POST   /users                    create (system admin) -> 201, Location: /api/v2.0/users/<id>
 *   GET    /users/current            the logged-in user
 *   GET    /users/search?username=x  id and name of matching users (any logged-in user)
 *   GET    /users/{user_id}          one user (the user or the system admin)
 *   PUT    /users/{user_id}          email, realname, comment; Wharf's `disabled` (system admin)
 *   PUT    /users/{user_id}/password {old_password, new_password} (old required for one's own)
 *   PUT    /users/{user_id}/sysadmin {sysadmin_flag}
 *   DELETE /users/{user_id}          (system admin)
 *   PUT    /users/{user_id}/cli_secret  412: Harbor sets CLI secrets only in OIDC auth mode and
 *                                    Wharf has only db_auth, so it answers as Harbor does there
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { listQuery, parsePaging, queryParam, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;
type UserParams = { user_id: string };

function userId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `user id "${raw}" is not a positive integer`);
  const n = Number(raw);
  if (n < 1) throw fail('BAD_REQUEST', `user id "${raw}" is not a positive integer`);
  return n;
}

/** Routes for /users. */
export function userRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/users', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.users.list(req.actor, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post('/users', async (req, reply) => {
      const id = await deps.users.create(req.actor, req.body);
      return reply.code(201).header('location', `/api/v2.0/users/${id}`).send();
    });

    app.get('/users/current', async (req) => deps.users.current(req.actor));

    app.get<{ Querystring: Query }>('/users/search', async (req, reply) => {
      const page = parsePaging(req.query);
      const name = queryParam(req.query.username) ?? '';
      const result = await deps.users.search(req.actor, name, page);
      setPageHeaders(req, reply, result.total, page);
      return result.items;
    });

    app.get<{ Params: UserParams }>('/users/:user_id', async (req) => deps.users.get(req.actor, userId(req.params.user_id)));

    app.put<{ Params: UserParams }>('/users/:user_id', async (req, reply) => {
      await deps.users.update(req.actor, userId(req.params.user_id), req.body);
      return reply.code(200).send();
    });

    app.put<{ Params: UserParams }>('/users/:user_id/password', async (req, reply) => {
      await deps.users.changePassword(req.actor, userId(req.params.user_id), req.body);
      return reply.code(200).send();
    });

    app.put<{ Params: UserParams }>('/users/:user_id/sysadmin', async (req, reply) => {
      await deps.users.setSysadmin(req.actor, userId(req.params.user_id), req.body);
      return reply.code(200).send();
    });

    // Harbor checks the auth mode before anything else; outside OIDC mode (db_auth, ldap_auth) the answer is always 412.
    // A registry token is refused first, as on every write (docs/auth.md).
    app.put<{ Params: UserParams }>('/users/:user_id/cli_secret', async (req) => {
      userId(req.params.user_id);
      if (req.actor.kind === 'token') deps.authorizer.check(req.actor, 'admin');
      throw fail('PRECONDITION_FAILED', `unable to update CLI secret under authmode: ${String(await deps.settings.value('auth_mode'))}`);
    });

    app.delete<{ Params: UserParams }>('/users/:user_id', async (req, reply) => {
      await deps.users.delete(req.actor, userId(req.params.user_id));
      return reply.code(200).send();
    });
  };
}
