/**
 * Harbor's P2P preheat API under /api/v2.0 (src/preheat/), tag `preheat`:
 *   GET    /p2p/preheat/providers                 provider metadata (Dragonfly, Kraken)
 *   GET    /p2p/preheat/instances                 list (q, sort, paging)
 *   POST   /p2p/preheat/instances                 Instance -> 201, Location: …/instances/{name}
 *   POST   /p2p/preheat/instances/ping            {"id":N} or {vendor,endpoint,auth_mode,auth_info} -> 200
 *   GET    /p2p/preheat/instances/{name}          Instance, without auth_info
 *   PUT    /p2p/preheat/instances/{name}          -> 200
 *   DELETE /p2p/preheat/instances/{name}          -> 200
 * System admin only. One service call per route.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type InstanceParams = { preheat_instance_name: string };

/** Routes for /p2p/preheat; none when the composition root built no preheat service. */
export function preheatRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const p = deps.preheat;
    if (!p) return;
    const instances = p.instances;

    app.get('/p2p/preheat/providers', async (req) => instances.providers(callContext(req)));

    app.get<{ Querystring: Record<string, unknown> }>('/p2p/preheat/instances', async (req, reply) => {
      const list = listQuery(req.query);
      const page = await instances.list(callContext(req), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.post<{ Body: unknown }>('/p2p/preheat/instances', async (req, reply) => {
      const name = await instances.create(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/p2p/preheat/instances/${encodeURIComponent(name)}`).send();
    });

    app.post<{ Body: unknown }>('/p2p/preheat/instances/ping', async (req, reply) => {
      await instances.ping(callContext(req), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: InstanceParams }>('/p2p/preheat/instances/:preheat_instance_name', async (req) => instances.get(callContext(req), req.params.preheat_instance_name));

    app.put<{ Params: InstanceParams; Body: unknown }>('/p2p/preheat/instances/:preheat_instance_name', async (req, reply) => {
      await instances.update(callContext(req), req.params.preheat_instance_name, req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: InstanceParams }>('/p2p/preheat/instances/:preheat_instance_name', async (req, reply) => {
      await instances.delete(callContext(req), req.params.preheat_instance_name);
      return reply.code(200).send();
    });
  };
}
