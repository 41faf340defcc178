/**
 * Harbor's replication executions under /api/v2.0 (src/replication/runs.ts), system admin only:
 *   POST /replication/executions                              {"policy_id":N} -> 201, Location: /api/v2.0/replication/executions/{id}
 *   GET  /replication/executions                              policy_id, status, trigger, sort, paging
 *   GET  /replication/executions/{id}                         one execution
 *   PUT  /replication/executions/{id}                         stop -> 200
 *   GET  /replication/executions/{id}/tasks                   status, resource_type, paging
 *   GET  /replication/executions/{id}/tasks/{task_id}/log     the task's log, text/plain
 * One service call per route.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { ReplicationRuns } from '../../replication/index.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Params = { id: string; task_id?: string };

function idOf(v: string | undefined, name: string): number {
  if (v === undefined || !/^[0-9]{1,15}$/.test(v) || Number(v) < 1) throw fail('BAD_REQUEST', `invalid ${name} "${v ?? ''}": expected a positive integer`);
  return Number(v);
}

/** Routes for /replication/executions (none when the app has no replication runs). */
export function replicationExecutionRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const runs: ReplicationRuns | undefined = deps.replicationRuns;
    if (!runs) return;
    app.post<{ Body: unknown }>('/replication/executions', async (req, reply) => {
      const id = await runs.start(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/replication/executions/${id}`).send();
    });

    app.get<{ Querystring: Record<string, unknown> }>('/replication/executions', async (req, reply) => {
      const list = listQuery(req.query);
      const q = req.query;
      const page = await runs.list(callContext(req), { policy_id: queryParam(q.policy_id), status: queryParam(q.status), trigger: queryParam(q.trigger) }, list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.get<{ Params: Params }>('/replication/executions/:id', async (req) => runs.get(callContext(req), idOf(req.params.id, 'id')));

    app.put<{ Params: Params }>('/replication/executions/:id', async (req, reply) => {
      await runs.stop(callContext(req), idOf(req.params.id, 'id'));
      return reply.code(200).send();
    });

    app.get<{ Params: Params; Querystring: Record<string, unknown> }>('/replication/executions/:id/tasks', async (req, reply) => {
      const list = listQuery(req.query);
      const q = req.query;
      const page = await runs.tasks(callContext(req), idOf(req.params.id, 'id'), { status: queryParam(q.status), resource_type: queryParam(q.resource_type) }, list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.get<{ Params: Params }>('/replication/executions/:id/tasks/:task_id/log', async (req, reply) => {
      const text = await runs.taskLog(callContext(req), idOf(req.params.id, 'id'), idOf(req.params.task_id, 'task_id'));
      return reply.type('text/plain; charset=utf-8').send(text);
    });
  };
}
