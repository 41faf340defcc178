/**
 * Harbor's robot account endpoints:
 *   GET    /robots               list (q=Level=project,ProjectID=1, name; page, page_size)
 *   POST   /robots               RobotCreate -> 201 RobotCreated (the secret, shown once), Location
 *   GET    /robots/{robot_id}    Robot (no secret)
 *   PUT    /robots/{robot_id}    Robot: description, disable, duration, permissions -> 200
 *   PATCH  /robots/{robot_id}    RobotSec {"secret": "..."} sets it, {} makes a new one -> 200 {"secret"}
 *   DELETE /robots/{robot_id}    -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
import { RobotService, type RobotFilter } from '../../auth/robots.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { parsePaging, parseQ, setPageHeaders } from './paging.ts';

type Params = { robot_id: string };

function robotId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid robot id "${raw}"`);
  return Number(raw);
}

/** Routes for /robots. */
export function robotRoutes(deps: AppDeps) {
  const robots = new RobotService({ db: deps.db, authorizer: deps.authorizer, authenticator: deps.authenticator });
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Record<string, unknown> }>('/robots', async (req, reply) => {
      const page = parsePaging(req.query);
      const q = parseQ(req.query.q, ['Level', 'ProjectID', 'name']);
      const filter: RobotFilter = {};
      const level = q.get('Level')?.value;
      if (level !== undefined) filter.level = level;
      const pid = q.get('ProjectID')?.value;
      if (pid !== undefined) {
        if (!/^[0-9]{1,15}$/.test(pid)) throw fail('BAD_REQUEST', 'q: ProjectID must be a project id');
        filter.projectId = Number(pid);
      }
      const name = q.get('name')?.value;
      if (name !== undefined) filter.name = name;
      const result = await robots.list(callContext(req).actor, filter, page);
      setPageHeaders(req, reply, result.total, page);
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
