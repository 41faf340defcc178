/**
 * Harbor's user group endpoints (src/auth/user-groups.ts), and Wharf's routes for a group's members:
 *   GET    /usergroups?group_name=&ldap_group_dn=        list (paging) — system admin
 *   POST   /usergroups                                   {group_name, group_type, ldap_group_dn} -> 201, Location
 *   GET    /usergroups/search?groupname=                 UserGroupSearchItem[] — any signed-in user
 *   GET    /usergroups/{group_id}                        UserGroup
 *   PUT    /usergroups/{group_id}                        {group_name} -> 200 (only the name changes)
 *   DELETE /usergroups/{group_id}                        -> 200, with the group's project memberships
 * Wharf's extension (Wharf has no directory to say who is in a group), system admin only:
 *   GET    /usergroups/{group_id}/members                the users in the group (paging)
 *   POST   /usergroups/{group_id}/members                {user_id} or {username} -> 201
 *   DELETE /usergroups/{group_id}/members/{user_id}      -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { UserGroupService } from '../../auth/index.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, parsePaging, queryParam, setPageHeaders } from './paging.ts';

type Params = { group_id: string };
type MemberParams = Params & { user_id: string };

function idParam(raw: string, what: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid ${what} "${raw}"`);
  return Number(raw);
}

/** Routes for /usergroups. */
export function userGroupRoutes(deps: AppDeps) {
  const groups = new UserGroupService({ db: deps.db, authorizer: deps.authorizer });
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Record<string, unknown> }>('/usergroups', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await groups.list(callContext(req).actor, { name: queryParam(req.query.group_name) || undefined, ldapDn: queryParam(req.query.ldap_group_dn) || undefined }, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post<{ Body: unknown }>('/usergroups', async (req, reply) => {
      const id = await groups.create(callContext(req).actor, req.body);
      return reply.code(201).header('location', `/api/v2.0/usergroups/${id}`).send();
    });

    app.get<{ Querystring: Record<string, unknown> }>('/usergroups/search', async (req, reply) => {
      const paging = parsePaging(req.query);
      const result = await groups.search(callContext(req).actor, queryParam(req.query.groupname) ?? '', paging.page, paging.pageSize);
      setPageHeaders(req, reply, result.total, paging);
      return result.items;
    });

    app.get<{ Params: Params }>('/usergroups/:group_id', async (req) => groups.get(callContext(req).actor, idParam(req.params.group_id, 'group id')));

    app.put<{ Params: Params; Body: unknown }>('/usergroups/:group_id', async (req, reply) => {
      await groups.update(callContext(req).actor, idParam(req.params.group_id, 'group id'), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: Params }>('/usergroups/:group_id', async (req, reply) => {
      await groups.delete(callContext(req).actor, idParam(req.params.group_id, 'group id'));
      return reply.code(200).send();
    });

    app.get<{ Params: Params; Querystring: Record<string, unknown> }>('/usergroups/:group_id/members', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await groups.members(callContext(req).actor, idParam(req.params.group_id, 'group id'), list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post<{ Params: Params; Body: unknown }>('/usergroups/:group_id/members', async (req, reply) => {
      await groups.addMember(callContext(req).actor, idParam(req.params.group_id, 'group id'), req.body);
      return reply.code(201).send();
    });

    app.delete<{ Params: MemberParams }>('/usergroups/:group_id/members/:user_id', async (req, reply) => {
      await groups.removeMember(callContext(req).actor, idParam(req.params.group_id, 'group id'), idParam(req.params.user_id, 'user id'));
      return reply.code(200).send();
    });
  };
}
