/**
 * Harbor's robot account endpoints:
 *   GET    /robots               list (q=Level=project,ProjectID=1; Harbor's q, sort and paging)
 *   POST   /robots               RobotCreate -> 201 RobotCreated (the secret, shown once), Location
 *   GET    /robots/{robot_id}    Robot (no secret)
 *   PUT    /robots/{robot_id}    Robot: description, disable, duration, permissions -> 200
 *   PATCH  /robots/{robot_id}    RobotSec {"secret": "..."} sets it, {} makes a new one -> 200 {"secret"}
 *   DELETE /robots/{robot_id}    -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { RobotService } from '../../auth/index.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type Params = { robot_id: string };

function robotId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid robot id "${raw}"`);
  return Number(raw);
}

/** Routes for /robots. */
export function robotRoutes(deps: AppDeps) {
  const robots = new RobotService({ db: deps.db, authorizer: deps.authorizer, audit: deps.audit, authenticator: deps.authenticator, namePrefix: () => deps.settings.robotNamePrefix() });
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Record<string, unknown> }>('/robots', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await robots.list(callContext(req).actor, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post<{ Body: unknown }>('/robots', async (req, reply) => {
      const created = await robots.create(callContext(req).actor, req.body);
      return reply.code(201).header('location', `/api/v2.0/robots/${created.id}`).send(created);
    });

    app.get<{ Params: Params }>('/robots/:robot_id', async (req) => robots.get(callContext(req).actor, robotId(req.params.robot_id)));

    app.put<{ Params: Params; Body: unknown }>('/robots/:robot_id', async (req, reply) => {
      await robots.update(callContext(req).actor, robotId(req.params.robot_id), req.body);
      return reply.code(200).send();
    });

    app.patch<{ Params: Params; Body: unknown }>('/robots/:robot_id', async (req) => robots.refreshSecret(callContext(req).actor, robotId(req.params.robot_id), req.body));

    app.delete<{ Params: Params }>('/robots/:robot_id', async (req, reply) => {
      await robots.remove(callContext(req).actor, robotId(req.params.robot_id));
      return reply.code(200).send();
    });
  };
}
