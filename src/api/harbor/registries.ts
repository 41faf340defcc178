/**
 * Harbor's registry endpoints under /api/v2.0 (src/replication/registries.ts), system admin only:
 *   GET    /registries                    list (q, sort, paging; deprecated `name`)
 *   POST   /registries                    Registry -> 201, Location: /api/v2.0/registries/{id}
 *   POST   /registries/ping               {"id":N} or {type,url,credential_type,access_key,…} -> 200
 *   GET    /registries/{id}               Registry, secret masked
 *   PUT    /registries/{id}               RegistryUpdate (flat) -> 200
 *   DELETE /registries/{id}               -> 200
 *   GET    /registries/{id}/info          RegistryInfo (id 0: this Wharf)
 *   GET    /replication/adapters          adapter types
 *   GET    /replication/adapterinfos      type -> RegistryProviderInfo
 * One service call per route.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Params = { id: string };

function idOf(raw: string, min: number): number {
  if (!/^[0-9]{1,15}$/.test(raw) || Number(raw) < min) throw fail('BAD_REQUEST', `invalid registry id "${raw}"`);
  return Number(raw);
}

/** Routes for /registries and /replication/adapters(infos). */
export function registryEndpointRoutes(deps: AppDeps) {
  const r = deps.registryEndpoints;
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Record<string, unknown> }>('/registries', async (req, reply) => {
      const list = listQuery(req.query);
      const page = await r.list(callContext(req), queryParam(req.query.name), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.post<{ Body: unknown }>('/registries', async (req, reply) => {
      const id = await r.create(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/registries/${id}`).send();
    });

    app.post<{ Body: unknown }>('/registries/ping', async (req, reply) => {
      await r.ping(callContext(req), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: Params }>('/registries/:id', async (req) => r.get(callContext(req), idOf(req.params.id, 1)));

    app.put<{ Params: Params; Body: unknown }>('/registries/:id', async (req, reply) => {
      await r.update(callContext(req), idOf(req.params.id, 1), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: Params }>('/registries/:id', async (req, reply) => {
      await r.delete(callContext(req), idOf(req.params.id, 1));
      return reply.code(200).send();
    });

    app.get<{ Params: Params }>('/registries/:id/info', async (req) => r.info(callContext(req), idOf(req.params.id, 0)));

    app.get('/replication/adapters', async (req) => r.adapters(callContext(req)));

    app.get('/replication/adapterinfos', async (req) => r.adapterInfos(callContext(req)));
  };
}
