/**
 * Harbor's LDAP operations (src/auth/ldap-service.ts, docs/ldap.md), system admin only:
 *   POST /ldap/ping                                  LdapConf (or nothing: the saved settings) -> LdapPingResult
 *   GET  /ldap/users/search?username=                LdapUser[] (uid attribute equal to it; everyone for none)
 *   POST /ldap/users/import                          {ldap_uid_list} -> 200; 404 with LdapFailedImportUser[]
 *   GET  /ldap/groups/search?groupname=&groupdn=     UserGroup[] (name and DN); 404 when none
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from './context.ts';
import { queryParam } from './paging.ts';

/** Routes for /ldap; none without the LDAP service. */
export function ldapRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const ldap = deps.ldap;
    if (!ldap) return;

    app.post<{ Body: unknown }>('/ldap/ping', async (req) => ldap.ping(callContext(req).actor, req.body));

    app.get<{ Querystring: Record<string, unknown> }>('/ldap/users/search', async (req) => ldap.searchUsers(callContext(req).actor, queryParam(req.query.username) ?? ''));

    app.post<{ Body: unknown }>('/ldap/users/import', async (req, reply) => {
      const failed = await ldap.importUsers(callContext(req).actor, req.body);
      return failed.length === 0 ? reply.code(200).send() : reply.code(404).send(failed);
    });

    app.get<{ Querystring: Record<string, unknown> }>('/ldap/groups/search', async (req) =>
      ldap.searchGroups(callContext(req).actor, queryParam(req.query.groupname) ?? '', queryParam(req.query.groupdn) ?? ''),
    );
  };
}
