/**
 * Harbor's tag retention under /api/v2.0 (src/lifecycle/retention/):
 *   GET    /retentions/metadatas                                   templates and selectors
 *   POST   /retentions                                             create -> 201, Location: /api/v2.0/retentions/{id}
 *   GET    /retentions/{id}                                        the policy
 *   PUT    /retentions/{id}                                        replace -> 200
 *   DELETE /retentions/{id}                                        -> 200
 *   POST   /retentions/{id}/executions                             {"dry_run":bool} -> 201, Location: …/executions/{eid}
 *   GET    /retentions/{id}/executions                             runs, newest first (paging headers)
 *   PATCH  /retentions/{id}/executions/{eid}                       {"action":"stop"} -> 200
 *   GET    /retentions/{id}/executions/{eid}/tasks                 one task per repository (paging headers)
 *   GET    /retentions/{id}/executions/{eid}/tasks/{tid}           the task's log, text/plain
 * One service call per route.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type Params = { id: string; eid?: string; tid?: string };

function idOf(v: string | undefined, name: string): number {
  if (v === undefined || !/^[0-9]{1,15}$/.test(v) || Number(v) < 1) throw fail('BAD_REQUEST', `invalid ${name} "${v ?? ''}": expected a positive integer`);
  return Number(v);
}

/** Routes for /retentions. */
export function retentionRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const r = deps.retention;

    app.get('/retentions/metadatas', async () => r.metadatas());

    app.post<{ Body: unknown }>('/retentions', async (req, reply) => {
      const id = await r.create(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/retentions/${id}`).send();
    });

    app.get<{ Params: Params }>('/retentions/:id', async (req) => r.get(callContext(req), idOf(req.params.id, 'id')));

    app.put<{ Params: Params; Body: unknown }>('/retentions/:id', async (req, reply) => {
      await r.update(callContext(req), idOf(req.params.id, 'id'), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: Params }>('/retentions/:id', async (req, reply) => {
      await r.delete(callContext(req), idOf(req.params.id, 'id'));
      return reply.code(200).send();
    });

    app.post<{ Params: Params; Body: unknown }>('/retentions/:id/executions', async (req, reply) => {
      const id = idOf(req.params.id, 'id');
      const eid = await r.startRun(callContext(req), id, req.body);
      return reply.code(201).header('location', `/api/v2.0/retentions/${id}/executions/${eid}`).send();
    });

    app.get<{ Params: Params; Querystring: Record<string, unknown> }>('/retentions/:id/executions', async (req, reply) => {
      const list = listQuery(req.query);
      const page = await r.executions(callContext(req), idOf(req.params.id, 'id'), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.patch<{ Params: Params; Body: unknown }>('/retentions/:id/executions/:eid', async (req, reply) => {
      await r.stopRun(callContext(req), idOf(req.params.id, 'id'), idOf(req.params.eid, 'eid'), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: Params; Querystring: Record<string, unknown> }>('/retentions/:id/executions/:eid/tasks', async (req, reply) => {
      const list = listQuery(req.query);
      const page = await r.tasks(callContext(req), idOf(req.params.id, 'id'), idOf(req.params.eid, 'eid'), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.get<{ Params: Params }>('/retentions/:id/executions/:eid/tasks/:tid', async (req, reply) => {
      const text = await r.taskLog(callContext(req), idOf(req.params.id, 'id'), idOf(req.params.eid, 'eid'), idOf(req.params.tid, 'tid'));
      return reply.type('text/plain; charset=utf-8').send(text);
    });
  };
}
