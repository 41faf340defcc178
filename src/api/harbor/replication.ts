/**
 * Harbor's replication policies under /api/v2.0 (src/replication/policies.ts), system admin only:
 *   GET    /replication/policies          list (q, sort, paging; deprecated `name`)
 *   POST   /replication/policies          ReplicationPolicy -> 201, Location: /api/v2.0/replication/policies/{id}
 *   GET    /replication/policies/{id}     ReplicationPolicy, both registries in full
 *   PUT    /replication/policies/{id}     ReplicationPolicy (whole replacement) -> 200
 *   DELETE /replication/policies/{id}     -> 200; 412 while an execution is not final
 * One service call per route. The executions routes are in a file of their own.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Params = { id: string };

function idOf(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw) || Number(raw) < 1) throw fail('BAD_REQUEST', `invalid replication policy id "${raw}"`);
  return Number(raw);
}

/** Routes for /replication/policies. */
export function replicationPolicyRoutes(deps: AppDeps) {
  const p = deps.replicationPolicies;
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Record<string, unknown> }>('/replication/policies', async (req, reply) => {
      const list = listQuery(req.query);
      const page = await p.list(callContext(req), queryParam(req.query.name), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.post<{ Body: unknown }>('/replication/policies', async (req, reply) => {
      const id = await p.create(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/replication/policies/${id}`).send();
    });

    app.get<{ Params: Params }>('/replication/policies/:id', async (req) => p.get(callContext(req), idOf(req.params.id)));

    app.put<{ Params: Params; Body: unknown }>('/replication/policies/:id', async (req, reply) => {
      await p.update(callContext(req), idOf(req.params.id), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: Params }>('/replication/policies/:id', async (req, reply) => {
      await p.delete(callContext(req), idOf(req.params.id));
      return reply.code(200).send();
    });
  };
}
