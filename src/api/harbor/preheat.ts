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
 *   POST   /projects/{project_name}/preheat/policies/{name}      ManualPreheat -> 201, Location: …/executions/{id}
 *   GET    …/policies/{name}/executions                          Execution list (paging)
 *   GET    …/policies/{name}/executions/{execution_id}           Execution
 *   PATCH  …/policies/{name}/executions/{execution_id}           {"status":"Stopped"} -> 200
 *   GET    …/executions/{execution_id}/tasks                     Task list (paging)
 *   GET    …/executions/{execution_id}/tasks/{task_id}/logs      the task's log, text/plain
 * Instances: system admin only; policies and runs: the project admin. One service call per route.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from './context.ts';
import { fail } from '../../domain/index.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type InstanceParams = { preheat_instance_name: string };
type ProjectParams = { project_name: string };
type PolicyParams = { project_name: string; preheat_policy_name: string };
type ExecutionParams = PolicyParams & { execution_id: string };
type TaskParams = ExecutionParams & { task_id: string };

function idOf(raw: string, name: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid ${name} "${raw}"`);
  return Number(raw);
}

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

    const runs = p.runs;
    const one = `${base}/policies/:preheat_policy_name`;
    const execution = `${one}/executions/:execution_id`;

    app.post<{ Params: PolicyParams }>(one, async (req, reply) => {
      const id = await runs.manual(callContext(req), req.params.project_name, req.params.preheat_policy_name);
      return reply
        .code(201)
        .header('location', `/api/v2.0/projects/${encodeURIComponent(req.params.project_name)}/preheat/policies/${encodeURIComponent(req.params.preheat_policy_name)}/executions/${id}`)
        .send();
    });

    app.get<{ Params: PolicyParams; Querystring: Record<string, unknown> }>(`${one}/executions`, async (req, reply) => {
      const list = listQuery(req.query);
      const page = await runs.executions(callContext(req), req.params.project_name, req.params.preheat_policy_name, list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.get<{ Params: ExecutionParams }>(execution, async (req) => runs.execution(callContext(req), req.params.project_name, req.params.preheat_policy_name, idOf(req.params.execution_id, 'execution_id')));

    app.patch<{ Params: ExecutionParams; Body: unknown }>(execution, async (req, reply) => {
      await runs.stop(callContext(req), req.params.project_name, req.params.preheat_policy_name, idOf(req.params.execution_id, 'execution_id'), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: ExecutionParams; Querystring: Record<string, unknown> }>(`${execution}/tasks`, async (req, reply) => {
      const list = listQuery(req.query);
      const page = await runs.tasks(callContext(req), req.params.project_name, req.params.preheat_policy_name, idOf(req.params.execution_id, 'execution_id'), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.get<{ Params: TaskParams }>(`${execution}/tasks/:task_id/logs`, async (req, reply) => {
      const text = await runs.taskLog(callContext(req), req.params.project_name, req.params.preheat_policy_name, idOf(req.params.execution_id, 'execution_id'), idOf(req.params.task_id, 'task_id'));
      return reply.type('text/plain; charset=utf-8').send(text);
    });
  };
}
