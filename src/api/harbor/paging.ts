/**
 * Paging and filtering shared by every /api/v2.0 list: Harbor's `page` (1-based, default 1),
 * `page_size` (default 10, at most 100), `sort` (`name,-creation_time`), the `X-Total-Count` header, the `Link` header with
 * rel="prev"/rel="next" built like Harbor's (the request path with page and page_size set, the
 * query keys sorted, values unescaped, links joined by " , "), and Harbor's `q` query language
 * reduced to the two forms Wharf supports: `k=v` (exact) and `k=~v` (fuzzy), comma-separated.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../../domain/index.ts';
import type { PageRequest, SortKey, TextFilter } from '../../projects/index.ts';

/** Default and largest page sizes. */
export const defaultPageSize = 10;
/** Largest accepted `page_size`. */
export const maxPageSize = 100;

function positiveInt(v: unknown, name: string, fallback: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) throw fail('BAD_REQUEST', `${name} must be a positive integer`);
  const n = Number(v);
  if (n < 1 || n > max) throw fail('BAD_REQUEST', `${name} must be between 1 and ${max}`);
  return n;
}

/** Reads `page`, `page_size` and `sort` from a query object; BAD_REQUEST when out of range. */
export function parsePaging(query: Record<string, unknown>): PageRequest {
  const sort = parseSort(query.sort);
  return {
    page: positiveInt(query.page, 'page', 1, Number.MAX_SAFE_INTEGER),
    pageSize: positiveInt(query.page_size, 'page_size', defaultPageSize, maxPageSize),
    ...(sort.length ? { sort } : {}),
  };
}

/**
 * Parses Harbor's `sort` (`name`, `-creation_time`, `name,-update_time`); which fields are allowed is
 * the list's call. `fieldPattern` is the syntax of a field name (quotas allow `used.storage`).
 */
export function parseSort(v: unknown, fieldPattern: RegExp = /^[a-z_]+$/): SortKey[] {
  if (v === undefined || v === '') return [];
  if (typeof v !== 'string') throw fail('BAD_REQUEST', 'sort must be given once');
  return v.split(',').map((part) => {
    const t = part.trim();
    const desc = t.startsWith('-');
    const field = desc ? t.slice(1) : t;
    if (!fieldPattern.test(field)) throw fail('BAD_REQUEST', `sort: "${part}" is not a field name, optionally prefixed with "-"`);
    return { field, desc };
  });
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

/**
 * Parses Harbor's `q` (`name=~alp,public=true`) into filters keyed by name. Only keys in `allowed`
 * are accepted; Harbor's range (`[a~b]`) and list (`{a b}`, `(a b)`) forms are refused with a
 * clear message. Each value is URL-unescaped once more, as Harbor does.
 */
export function parseQ(q: unknown, allowed: readonly string[]): Map<string, TextFilter> {
  const out = new Map<string, TextFilter>();
  if (q === undefined || q === '') return out;
  if (typeof q !== 'string') throw fail('BAD_REQUEST', 'q must be given once');
  for (const part of q.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw fail('BAD_REQUEST', `q: "${part}" is not key=value or key=~value`);
    const key = part.slice(0, eq).trim();
    let raw = part.slice(eq + 1);
    const fuzzy = raw.startsWith('~');
    if (fuzzy) raw = raw.slice(1);
    let value = raw;
    try {
      value = decodeURIComponent(raw);
    } catch {
      /* keep the value as given when it is not valid percent-encoding */
    }
    if (!allowed.includes(key)) {
      throw fail('BAD_REQUEST', `q: unsupported key "${key}"; this list accepts ${allowed.length ? allowed.join(', ') : 'no keys'}`);
    }
    if (/^[[{(]/.test(value) && /[\]})]$/.test(value)) {
      throw fail('BAD_REQUEST', `q: range and list values are not supported by Wharf; use ${key}=value or ${key}=~value`);
    }
    out.set(key, { value, fuzzy });
  }
  return out;
}

/** Reads a boolean query parameter ("true"/"false"); BAD_REQUEST otherwise. */
export function parseBoolParam(v: unknown, name: string, fallback: boolean): boolean {
  if (v === undefined || v === '') return fallback;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw fail('BAD_REQUEST', `${name} must be true or false`);
}
