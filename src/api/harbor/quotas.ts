/**
 * Harbor's quota endpoints (system admin):
 *   GET /quotas?reference=project&reference_id=<id>&sort=&page=&page_size=   list (Harbor's sort and paging)
 *   GET /quotas/{id}                                                        one quota (id = project id)
 *   PUT /quotas/{id}  {"hard":{"storage":N}}                                N bytes, -1 unlimited
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail, resolveSort, type ListSpec } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;

function quotaId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid quota id "${raw}"`);
  return Number(raw);
}

/** The fields quotas sort by (Harbor's dotted `hard.storage`, `used.storage`); the service sorts them in memory. */
const quotaListSpec = {
  id: { type: 'int', column: 'id' },
  'hard.storage': { type: 'int', column: 'hard.storage' },
  'used.storage': { type: 'int', column: 'used.storage' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** Routes for /quotas. */
export function quotaRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/quotas', async (req, reply) => {
      const list = listQuery(req.query);
      // Unknown sort fields are dropped here, as on every list.
      const page = { page: list.page, pageSize: list.pageSize, sort: resolveSort(list.sort, quotaListSpec).map((k) => ({ field: k.key, desc: k.desc })) };
      const reference = queryParam(req.query.reference) || undefined;
      const referenceId = queryParam(req.query.reference_id) || undefined;
      const result = await deps.quotas.list(callContext(req), { reference, referenceId }, page);
      setPageHeaders(req, reply, result.total, page);
      return result.items;
    });

    app.get<{ Params: { id: string } }>('/quotas/:id', async (req) => deps.quotas.get(callContext(req), quotaId(req.params.id)));

    app.put<{ Params: { id: string }; Body: unknown }>('/quotas/:id', async (req, reply) => {
      await deps.quotas.update(callContext(req), quotaId(req.params.id), req.body);
      return reply.code(200).send();
    });
  };
}
