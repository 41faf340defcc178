/**
 * Harbor's tag immutability rules under /api/v2.0:
 *   GET    /projects/{project_name_or_id}/immutabletagrules                       list by id (paging headers)
 *   POST   /projects/{project_name_or_id}/immutabletagrules                       create -> 201, Location: <path>/<id>
 *   PUT    /projects/{project_name_or_id}/immutabletagrules/{immutable_rule_id}   update -> 200
 *   DELETE /projects/{project_name_or_id}/immutabletagrules/{immutable_rule_id}   -> 200
 * One service call per route; decisions are the service's (src/lifecycle/immutability/).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { callContext, projectKey } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type Params = { project_name_or_id: string; immutable_rule_id?: string };

function ruleId(v: string | undefined): number {
  if (v === undefined || !/^[0-9]{1,15}$/.test(v) || Number(v) < 1) throw fail('BAD_REQUEST', `invalid immutable_rule_id "${v ?? ''}": expected a positive integer`);
  return Number(v);
}

function pathOf(req: FastifyRequest): string {
  return (req.url.split('?')[0] ?? req.url).replace(/(?<!\/)\/+$/, '');
}

/** Routes for /projects/{p}/immutabletagrules. */
export function immutableRuleRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const rules = deps.immutability;
    const base = '/projects/:project_name_or_id/immutabletagrules';

    app.get<{ Params: Params; Querystring: Record<string, unknown> }>(base, async (req, reply) => {
      const list = listQuery(req.query);
      const page = await rules.list(callContext(req), projectKey(req, req.params.project_name_or_id), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.post<{ Params: Params; Body: unknown }>(base, async (req, reply) => {
      const id = await rules.create(callContext(req), projectKey(req, req.params.project_name_or_id), req.body);
      return reply.code(201).header('location', `${pathOf(req)}/${id}`).send();
    });

    app.put<{ Params: Params; Body: unknown }>(`${base}/:immutable_rule_id`, async (req, reply) => {
      await rules.update(callContext(req), projectKey(req, req.params.project_name_or_id), ruleId(req.params.immutable_rule_id), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: Params }>(`${base}/:immutable_rule_id`, async (req, reply) => {
      await rules.delete(callContext(req), projectKey(req, req.params.project_name_or_id), ruleId(req.params.immutable_rule_id));
      return reply.code(200).send();
    });
  };
}
