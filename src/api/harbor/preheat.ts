/**
 * Harbor's P2P preheat API under /api/v2.0 (src/preheat/), tag `preheat`:
 *   GET    /p2p/preheat/providers                 provider metadata (Dragonfly, Kraken)
 *   GET    /p2p/preheat/instances                 list (q, sort, paging)
 *   POST   /p2p/preheat/instances                 Instance -> 201, Location: …/instances/{name}
 *   POST   /p2p/preheat/instances/ping            {"id":N} or {vendor,endpoint,auth_mode,auth_info} -> 200
 *   GET    /p2p/preheat/instances/{name}          Instance, without auth_info
 *   PUT    /p2p/preheat/instances/{name}          -> 200
 *   DELETE /p2p/preheat/instances/{name}          -> 200
 *   GET    /projects/{project_name}/preheat/providers            ProviderUnderProject list
 *   GET    /projects/{project_name}/preheat/policies             list (q, sort, paging)
 *   POST   /projects/{project_name}/preheat/policies             PreheatPolicy -> 201, Location: …/policies/{name}
 *   GET    /projects/{project_name}/preheat/policies/{name}      PreheatPolicy
 *   PUT    /projects/{project_name}/preheat/policies/{name}      -> 200
 *   DELETE /projects/{project_name}/preheat/policies/{name}      -> 200
 * Instances: system admin only; policies: the project admin. One service call per route.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type InstanceParams = { preheat_instance_name: string };
type ProjectParams = { project_name: string };
type PolicyParams = { project_name: string; preheat_policy_name: string };

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

    const policies = p.policies;
    const base = '/projects/:project_name/preheat';

    app.get<{ Params: ProjectParams }>(`${base}/providers`, async (req) => policies.providers(callContext(req), req.params.project_name));

    app.get<{ Params: ProjectParams; Querystring: Record<string, unknown> }>(`${base}/policies`, async (req, reply) => {
      const list = listQuery(req.query);
      const page = await policies.list(callContext(req), req.params.project_name, list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.post<{ Params: ProjectParams; Body: unknown }>(`${base}/policies`, async (req, reply) => {
      const name = await policies.create(callContext(req), req.params.project_name, req.body);
      return reply.code(201).header('location', `/api/v2.0/projects/${encodeURIComponent(req.params.project_name)}/preheat/policies/${encodeURIComponent(name)}`).send();
    });

    app.get<{ Params: PolicyParams }>(`${base}/policies/:preheat_policy_name`, async (req) => policies.get(callContext(req), req.params.project_name, req.params.preheat_policy_name));

    app.put<{ Params: PolicyParams; Body: unknown }>(`${base}/policies/:preheat_policy_name`, async (req, reply) => {
      await policies.update(callContext(req), req.params.project_name, req.params.preheat_policy_name, req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: PolicyParams }>(`${base}/policies/:preheat_policy_name`, async (req, reply) => {
      await policies.delete(callContext(req), req.params.project_name, req.params.preheat_policy_name);
      return reply.code(200).send();
    });
  };
}
