/**
 * Harbor's audit log endpoints:
 *   GET /audit-logs                          every entry (system admin)
 *   GET /projects/{project_name_or_id}/logs  the project's entries (readers of its logs)
 * Both take Harbor's `q` (operation, resource, resource_type, username as `k=v` or `k=~v`;
 * `op_time=[from~to]` with `YYYY-MM-DD HH:mm:ss` (UTC), ISO 8601 or Unix seconds, either end
 * optional), `sort` (default `-op_time`), `page`, `page_size`; answers carry X-Total-Count and Link.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
import type { AuditQuery } from '../../audit/index.ts';
import { fail } from '../../domain/index.ts';
import { callContext, projectKey } from './context.ts';
import { parsePaging, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;

const textKeys = ['operation', 'resource', 'resource_type', 'username'] as const;

/** One end of an op_time range, in ms; undefined when open. A `to` without milliseconds covers its whole second. */
function timeBound(s: string, end: 'from' | 'to'): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  let ms: number;
  if (/^[0-9]{1,12}$/.test(t)) ms = Number(t) * 1000;
  else {
    // Harbor's layout `2006-01-02 15:04:05` is read as UTC; anything else must be ISO 8601.
    const harbor = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(t);
    ms = Date.parse(harbor ? t.replace(' ', 'T') + 'Z' : t);
  }
  if (Number.isNaN(ms)) throw fail('BAD_REQUEST', `q: op_time "${t}" is not a time (use YYYY-MM-DD HH:mm:ss in UTC, ISO 8601 or Unix seconds)`);
  return end === 'to' && !/\.\d+/.test(t) ? ms + 999 : ms;
}

/** Parses the audit `q`: text keys exact or fuzzy, op_time as a range `[from~to]`. */
export function parseAuditQ(q: unknown): AuditQuery {
  const out: AuditQuery = {};
  if (q === undefined || q === '') return out;
  if (typeof q !== 'string') throw fail('BAD_REQUEST', 'q must be given once');
  for (const part of q.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw fail('BAD_REQUEST', `q: "${part}" is not key=value, key=~value or op_time=[from~to]`);
    const key = part.slice(0, eq).trim();
    let raw = part.slice(eq + 1);
    try {
      raw = decodeURIComponent(raw);
    } catch {
      /* keep the value as given when it is not valid percent-encoding */
    }
    if (key === 'op_time') {
      // `[from~to]`, split at the last `~`, by string search: `/^\[(.*)~(.*)\]$/` backtracked
      // quadratically on a value of many `~`.
      const range = raw.trim();
      const tilde = range.lastIndexOf('~');
      if (!range.startsWith('[') || !range.endsWith(']') || tilde < 1 || tilde > range.length - 2 || /[\n\r\u2028\u2029]/.test(range)) {
        throw fail('BAD_REQUEST', 'q: op_time must be a range [from~to]');
      }
      const from = timeBound(range.slice(1, tilde), 'from');
      const to = timeBound(range.slice(tilde + 1, -1), 'to');
      if (from !== undefined) out.opTimeFrom = from;
      if (to !== undefined) out.opTimeTo = to;
      continue;
    }
    const textKey = textKeys.find((k) => k === key);
    if (!textKey) throw fail('BAD_REQUEST', `q: unsupported key "${key}"; audit logs accept ${[...textKeys, 'op_time'].join(', ')}`);
    const fuzzy = raw.startsWith('~');
    out[textKey] = { value: fuzzy ? raw.slice(1) : raw, fuzzy };
  }
  return out;
}

/** Routes for /audit-logs and /projects/{p}/logs. */
export function auditRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/audit-logs', async (req, reply) => {
      const page = parsePaging(req.query);
      const result = await deps.audit.listAll(callContext(req), parseAuditQ(req.query.q), page);
      setPageHeaders(req, reply, result.total, page);
      return result.items;
    });

    app.get<{ Params: { project_name_or_id: string }; Querystring: Query }>('/projects/:project_name_or_id/logs', async (req, reply) => {
      const page = parsePaging(req.query);
      const key = projectKey(req, req.params.project_name_or_id);
      const result = await deps.audit.listProject(callContext(req), key, 'read-logs', parseAuditQ(req.query.q), page);
      setPageHeaders(req, reply, result.total, page);
      return result.items;
    });
  };
}
