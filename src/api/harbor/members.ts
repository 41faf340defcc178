/**
 * Harbor's project member endpoints (users, entity_type `u`, and user groups, `g`):
 *   GET    /projects/{project_name_or_id}/members            list (entityname; Harbor's q, sort and paging)
 *   POST   /projects/{project_name_or_id}/members            {role_id, member_user:{username}} or
 *                                                            {role_id, member_group:{id} | {group_name, group_type} | {ldap_group_dn}} -> 201, Location
 *   GET    /projects/{project_name_or_id}/members/{mid}      one member
 *   PUT    /projects/{project_name_or_id}/members/{mid}      {role_id} -> 200
 *   DELETE /projects/{project_name_or_id}/members/{mid}      -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { MemberService } from '../../auth/index.ts';
import { fail } from '../../domain/index.ts';
import { callContext, projectKey } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Params = { project_name_or_id: string };
type MemberParams = Params & { mid: string };

function memberId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid member id "${raw}"`);
  return Number(raw);
}

/** Routes for /projects/{p}/members. */
export function memberRoutes(deps: AppDeps) {
  const members = new MemberService({ db: deps.db, authorizer: deps.authorizer, audit: deps.audit });
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: Params; Querystring: Record<string, unknown> }>('/projects/:project_name_or_id/members', async (req, reply) => {
      const list = listQuery(req.query);
      const name = queryParam(req.query.entityname) || undefined;
      const result = await members.list(callContext(req).actor, projectKey(req, req.params.project_name_or_id), name, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post<{ Params: Params; Body: unknown }>('/projects/:project_name_or_id/members', async (req, reply) => {
      const id = await members.add(callContext(req).actor, projectKey(req, req.params.project_name_or_id), req.body);
      return reply.code(201).header('location', `/api/v2.0/projects/${req.params.project_name_or_id}/members/${id}`).send();
    });

    app.get<{ Params: MemberParams }>('/projects/:project_name_or_id/members/:mid', async (req) => {
      return members.get(callContext(req).actor, projectKey(req, req.params.project_name_or_id), memberId(req.params.mid));
    });

    app.put<{ Params: MemberParams; Body: unknown }>('/projects/:project_name_or_id/members/:mid', async (req, reply) => {
      await members.update(callContext(req).actor, projectKey(req, req.params.project_name_or_id), memberId(req.params.mid), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: MemberParams }>('/projects/:project_name_or_id/members/:mid', async (req, reply) => {
      await members.remove(callContext(req).actor, projectKey(req, req.params.project_name_or_id), memberId(req.params.mid));
      return reply.code(200).send();
    });
  };
}
