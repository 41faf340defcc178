/**
 * Harbor's quota endpoints (system admin):
 *   GET /quotas?reference=project&reference_id=<id>&sort=&page=&page_size=   list, X-Total-Count, Link
 *   GET /quotas/{id}                                                        one quota (id = project id)
 *   PUT /quotas/{id}  {"hard":{"storage":N}}                                N bytes, -1 unlimited
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { parsePaging, parseSort, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;

function quotaId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid quota id "${raw}"`);
  return Number(raw);
}

function optionalString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${name} must be given once`);
  return v;
}

/** Parses `sort` for quotas: `hard.storage`, `-used.storage`, `id`, `creation_time`, `update_time`. */
function quotaSort(v: unknown): Array<{ field: string; desc: boolean }> {
  return parseSort(v, /^[a-z_]+(\.[a-z_]+)?$/);
}

/** Routes for /quotas. */
export function quotaRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/quotas', async (req, reply) => {
      // Harbor sorts quotas by dotted fields (`-used.storage`), which the shared sort parser does not take.
      const page = { ...parsePaging({ ...req.query, sort: undefined }), sort: quotaSort(req.query.sort) };
      const result = await deps.quotas.list(
        callContext(req),
        { reference: optionalString(req.query.reference, 'reference'), referenceId: optionalString(req.query.reference_id, 'reference_id') },
        page,
      );
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
