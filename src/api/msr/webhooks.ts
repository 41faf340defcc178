/**
 * MSR's webhook routes under /api/v0 (docs/msr-api.md):
 *   POST   /webhooks                                        subscribe -> 201 with the subscription
 *   GET    /webhooks                                        the subscriptions the caller may manage
 *   DELETE /webhooks/{id}                                   -> 204
 *   POST   /webhooks/test                                   send MSR's sample of a type -> 200 {statusCode, body}
 *   GET    /repositories/{namespace}/{repository}/webhooks  the subscriptions keyed to that repository
 *   GET    /repositories/{namespace}/webhooks               the subscriptions keyed to that namespace
 * One service call per route (../../webhooks/msr-subscriptions.ts); it decides who may.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from '../harbor/context.ts';

type IdParams = { id: string };
type NsParams = { namespace: string };
type RepoParams = NsParams & { repository: string };

/** The /api/v0 webhook routes. */
export function msrWebhookRoutes(deps: AppDeps) {
  const { msr } = deps.webhooks;
  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: unknown }>('/webhooks', async (req, reply) => reply.code(201).send(await msr.create(callContext(req), req.body)));
    app.get('/webhooks', async (req) => msr.list(callContext(req), { kind: 'mine' }));
    app.post<{ Body: unknown }>('/webhooks/test', async (req) => msr.test(callContext(req), req.body));
    app.delete<{ Params: IdParams }>('/webhooks/:id', async (req, reply) => {
      await msr.delete(callContext(req), req.params.id);
      return reply.code(204).send();
    });
    app.get<{ Params: RepoParams }>('/repositories/:namespace/:repository/webhooks', async (req) =>
      msr.list(callContext(req), { kind: 'key', key: `${req.params.namespace}/${req.params.repository}`, namespace: req.params.namespace }),
    );
    app.get<{ Params: NsParams }>('/repositories/:namespace/webhooks', async (req) => msr.list(callContext(req), { kind: 'key', key: req.params.namespace, namespace: req.params.namespace }));
  };
}
