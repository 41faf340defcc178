/**
 * Harbor's webhook API under /api/v2.0, and Wharf's extensions on the same model.
 *
 * Harbor (drop-in):
 *   GET    /projects/{p}/webhook/policies                               list (q: name, enabled; sort; paging)
 *   POST   /projects/{p}/webhook/policies                               create -> 201, Location: <path>/<id>, empty body
 *   GET    /projects/{p}/webhook/policies/{id}                          one policy
 *   PUT    /projects/{p}/webhook/policies/{id}                          full replace -> 200, empty body
 *   DELETE /projects/{p}/webhook/policies/{id}                          -> 200 (its history goes too)
 *   GET    /projects/{p}/webhook/policies/{id}/executions               Execution[] (paging headers)
 *   GET    /projects/{p}/webhook/policies/{id}/executions/{e}/tasks     Task[] (paging headers)
 *   GET    /projects/{p}/webhook/policies/{id}/executions/{e}/tasks/{t}/log   text/plain
 *   GET    /projects/{p}/webhook/lasttrigger                            deprecated in Harbor, served
 *   GET    /projects/{p}/webhook/jobs?policy_id=&status=                deprecated in Harbor, served
 *   GET    /projects/{p}/webhook/events                                 supported types and formats
 * Wharf extensions:
 *   POST   /projects/{p}/webhook/policies/{id}/executions/{e}/redeliver -> 201 with the execution
 *   POST   /projects/{p}/webhook/policies/test                          test a target (or Harbor's legacy policy body)
 *   POST   /projects/{p}/webhook/preview                                render an event for a target, send nothing
 *   /system/webhook/...                                                 the same tree for system-wide policies (admin)
 *
 * `{p}` is Harbor's project_name_or_id with `X-Is-Resource-Name`. Every decision (who may, does
 * it belong where the path says) is the services'; this file only translates HTTP, one service
 * call per route.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import type { PolicyScope } from '../../webhooks/index.ts';
import { listQuery, setPageHeaders } from './paging.ts';
import { callContext, projectKey } from './context.ts';

type Query = Record<string, unknown>;
type PolicyParams = { project_name_or_id?: string; policy_id: string };
type ExecParams = PolicyParams & { execution_id: string };
type TaskParams = ExecParams & { task_id: string };

function idParam(v: string | undefined, what: string): number {
  if (v === undefined || !/^[0-9]{1,15}$/.test(v) || Number(v) < 1) throw fail('BAD_REQUEST', `invalid ${what} id "${v ?? ''}": expected a positive integer`);
  return Number(v);
}

function pathOf(req: FastifyRequest): string {
  return req.url.split('?')[0] ?? req.url;
}

/** Registers one policy tree (project or system) under `base`. */
function policyTree(app: FastifyInstance, deps: AppDeps, base: string, scopeOf: (req: FastifyRequest<{ Params: { project_name_or_id?: string } }>) => PolicyScope): void {
  const { policies, history } = deps.webhooks;

  app.get<{ Params: PolicyParams; Querystring: Query }>(`${base}/policies`, async (req, reply) => {
    const list = listQuery(req.query);
    const page = await policies.listPolicies(callContext(req), scopeOf(req), list);
    setPageHeaders(req, reply, page.total, list);
    return page.items;
  });

  app.post<{ Params: PolicyParams; Body: unknown }>(`${base}/policies`, async (req, reply) => {
    const id = await policies.createPolicy(callContext(req), scopeOf(req), req.body);
    return reply.code(201).header('location', `${pathOf(req).replace(/(?<!\/)\/+$/, '')}/${id}`).send();
  });

  // Wharf extension (and Harbor's legacy API through v2.2): send one test delivery.
  app.post<{ Params: PolicyParams; Body: unknown }>(`${base}/policies/test`, async (req) => {
    return policies.testTargets(callContext(req), scopeOf(req), req.body);
  });

  app.get<{ Params: PolicyParams }>(`${base}/policies/:policy_id`, async (req) => {
    return policies.getPolicy(callContext(req), scopeOf(req), idParam(req.params.policy_id, 'webhook policy'));
  });

  app.put<{ Params: PolicyParams; Body: unknown }>(`${base}/policies/:policy_id`, async (req, reply) => {
    await policies.updatePolicy(callContext(req), scopeOf(req), idParam(req.params.policy_id, 'webhook policy'), req.body);
    return reply.code(200).send();
  });

  app.delete<{ Params: PolicyParams }>(`${base}/policies/:policy_id`, async (req, reply) => {
    await policies.deletePolicy(callContext(req), scopeOf(req), idParam(req.params.policy_id, 'webhook policy'));
    return reply.code(200).send();
  });

  app.get<{ Params: PolicyParams; Querystring: Query }>(`${base}/policies/:policy_id/executions`, async (req, reply) => {
    const list = listQuery(req.query);
    const page = await history.listExecutions(callContext(req), scopeOf(req), idParam(req.params.policy_id, 'webhook policy'), list);
    setPageHeaders(req, reply, page.total, list);
    return page.items;
  });

  app.get<{ Params: ExecParams; Querystring: Query }>(`${base}/policies/:policy_id/executions/:execution_id/tasks`, async (req, reply) => {
    const list = listQuery(req.query);
    const page = await history.listTasks(callContext(req), scopeOf(req), idParam(req.params.policy_id, 'webhook policy'), idParam(req.params.execution_id, 'execution'), list);
    setPageHeaders(req, reply, page.total, list);
    return page.items;
  });

  app.get<{ Params: TaskParams }>(`${base}/policies/:policy_id/executions/:execution_id/tasks/:task_id/log`, async (req, reply) => {
    const text = await history.taskLog(
      callContext(req),
      scopeOf(req),
      idParam(req.params.policy_id, 'webhook policy'),
      idParam(req.params.execution_id, 'execution'),
      idParam(req.params.task_id, 'task'),
    );
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  // Wharf extension: deliver an execution's payload again.
  app.post<{ Params: ExecParams }>(`${base}/policies/:policy_id/executions/:execution_id/redeliver`, async (req, reply) => {
    const execution = await history.redeliver(callContext(req), scopeOf(req), idParam(req.params.policy_id, 'webhook policy'), idParam(req.params.execution_id, 'execution'));
    return reply.code(201).send(execution);
  });

  app.get<{ Params: PolicyParams }>(`${base}/events`, async (req) => policies.supportedEvents(callContext(req), scopeOf(req)));

  // Wharf extension: the body a target would get for an event (a sample of a type, or a stored one), not sent.
  app.post<{ Params: PolicyParams; Body: unknown }>(`${base}/preview`, async (req) => deps.webhooks.preview.preview(callContext(req), scopeOf(req), req.body));

  app.get<{ Params: PolicyParams }>(`${base}/lasttrigger`, async (req) => history.lastTrigger(callContext(req), scopeOf(req)));

  app.get<{ Params: PolicyParams; Querystring: Query }>(`${base}/jobs`, async (req, reply) => {
    const raw = req.query.policy_id;
    if (typeof raw !== 'string' || raw === '') throw fail('BAD_REQUEST', 'policy_id is required');
    const status = req.query.status;
    const statuses = (Array.isArray(status) ? status : status === undefined ? [] : [status]).filter((s): s is string => typeof s === 'string' && s !== '');
    const list = listQuery(req.query);
    const page = await history.listJobs(callContext(req), scopeOf(req), idParam(raw, 'webhook policy'), statuses, list);
    setPageHeaders(req, reply, page.total, list);
    return page.items;
  });
}

/** Harbor's webhook policy API and Wharf's webhook extensions under /api/v2.0. */
export function webhookRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    policyTree(app, deps, '/projects/:project_name_or_id/webhook', (req) => ({ kind: 'project', ...projectKey(req, req.params.project_name_or_id ?? '') }));
    policyTree(app, deps, '/system/webhook', () => ({ kind: 'system' }));
  };
}
