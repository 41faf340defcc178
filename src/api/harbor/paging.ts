/**
 * Paging and filtering shared by every /api/v2.0 list, read from the request as Harbor reads it:
 * `page` (1-based, default 1), `page_size` (default 10, at most 100), `q` and `sort` (parsed by
 * src/domain/listing.ts), and the answer's `X-Total-Count` and `Link` headers (rel="prev" /
 * rel="next", built like Harbor's: the request path with page and page_size set, the query keys
 * sorted, values unescaped, links joined by " , ").
 *
 * Like Harbor's generated binder, a parameter sent twice counts with its last value, and a page
 * or page_size that is not an integer, or a page_size over 100, is a 422 with Harbor's message.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fail, parseQuery, parseSortKeys, type ListQuery, type SortKey } from '../../domain/index.ts';

/** Default page size. */
export const defaultPageSize = 10;
/** Largest accepted `page_size`. */
export const maxPageSize = 100;
/** Pages past this one are empty in any database Wharf serves; larger numbers are read as it. */
const maxPage = 2 ** 40;

/** Which page of a list, and optionally its order. */
export interface PageRequest {
  page: number;
  pageSize: number;
  sort?: SortKey[];
}

/** A query parameter's value: the last one when it was sent several times; undefined when absent. */
export function queryParam(v: unknown): string | undefined {
  const last: unknown = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof last === 'string' ? last : undefined;
}

/** Go's strconv.ParseInt over int64: an optional sign and decimal digits. */
function isInt64Text(s: string): boolean {
  const digits = s.startsWith('-') || s.startsWith('+') ? s.slice(1) : s;
  return digits.length > 0 && digits.length <= 18 && [...digits].every((c) => c >= '0' && c <= '9');
}

function int64Param(v: unknown, name: string, fallback: number): number {
  const s = queryParam(v);
  if (s === undefined || s === '') return fallback;
  if (!isInt64Text(s)) throw fail('UNPROCESSABLE', `validation failure list:\n${name} in query must be of type int64: "${s.slice(0, 64)}"`);
  return Number(s);
}

/**
 * Reads `page`, `page_size` and `sort`. A page below 1 is the first (Harbor sets no offset); a
 * page_size of 0 or less, which Harbor reads as "everything", is the largest page here, and the
 * `Link` header points to the rest.
 */
export function parsePaging(query: Record<string, unknown>): PageRequest {
  const page = Math.min(maxPage, Math.max(1, int64Param(query.page, 'page', 1)));
  const size = int64Param(query.page_size, 'page_size', defaultPageSize);
  if (size > maxPageSize) throw fail('UNPROCESSABLE', `validation failure list:\npage_size in query should be less than or equal to ${maxPageSize}`);
  const sort = parseSortKeys(queryParam(query.sort) ?? '');
  return { page, pageSize: size < 1 ? maxPageSize : size, ...(sort.length ? { sort } : {}) };
}

/** Reads a whole list request: paging, `sort` and `q` (every key; each list keeps those it knows). */
export function listQuery(query: Record<string, unknown>): ListQuery {
  const p = parsePaging(query);
  return { page: p.page, pageSize: p.pageSize, sort: p.sort ?? [], filters: parseQuery(queryParam(query.q) ?? '') };
}

/** Builds Harbor's `Link` header value, or '' when there is neither a previous nor a next page. */
export function linkHeader(url: string, total: number, p: PageRequest): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const build = (page: number): string => {
    params.set('page', String(page));
    params.set('page_size', String(p.pageSize));
    const keys = [...new Set(params.keys())].sort();
    const parts: string[] = [];
    for (const k of keys) for (const v of params.getAll(k)) parts.push(`${k}=${v}`);
    return `<${path}?${parts.join('&')}>`;
  };
  const links: string[] = [];
  if (p.page > 1 && (p.page - 1) * p.pageSize < total) links.push(`${build(p.page - 1)}; rel="prev"`);
  if (p.page * p.pageSize < total) links.push(`${build(p.page + 1)}; rel="next"`);
  return links.join(' , ');
}

/** Sets `X-Total-Count` and, when there are other pages, `Link`. */
export function setPageHeaders(req: FastifyRequest, reply: FastifyReply, total: number, p: PageRequest): void {
  reply.header('x-total-count', String(total));
  const link = linkHeader(req.url, total, p);
  if (link) reply.header('link', link);
}

/** Reads a boolean query parameter ("true"/"false"); BAD_REQUEST otherwise. */
export function parseBoolParam(v: unknown, name: string, fallback: boolean): boolean {
  const s = queryParam(v);
  if (s === undefined || s === '') return fallback;
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw fail('BAD_REQUEST', `${name} must be true or false`);
}
