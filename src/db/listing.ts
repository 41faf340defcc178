/**
 * Harbor's list semantics in SQL: the typed `q` conditions of src/domain/listing.ts as WHERE
 * clauses, `sort` as ORDER BY, and `listPage`, which counts, orders and pages one query. Column
 * names come from each list's ListSpec (code, never the request); values are bound parameters;
 * fuzzy matches are LIKE patterns with the wildcards escaped (likeContains).
 */
import { sql, type Expression, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { ListQuery, ListSpec, Page, ResolvedFilter, ResolvedSort, TypedCondition } from '../domain/index.ts';
import { resolveFilters, resolveSort } from '../domain/index.ts';
import { likeContains } from './like.ts';

const none = sql<SqlBool>`1 = 0`;
const all = sql<SqlBool>`1 = 1`;

/** A condition on `column` as SQL. An empty list matches everything (Harbor adds no filter). */
export function conditionSql(column: string, c: TypedCondition): RawBuilder<SqlBool> {
  const ref = sql.ref(column);
  switch (c.kind) {
    case 'exact':
      return sql<SqlBool>`${ref} = ${c.value}`;
    case 'fuzzy':
      return likeContains(column, c.value);
    case 'range':
      if (c.min !== undefined && c.max !== undefined) return sql<SqlBool>`${ref} between ${c.min} and ${c.max}`;
      if (c.min !== undefined) return sql<SqlBool>`${ref} >= ${c.min}`;
      if (c.max !== undefined) return sql<SqlBool>`${ref} <= ${c.max}`;
      return all;
    case 'or':
      return c.values.length === 0 ? all : sql<SqlBool>`${ref} in (${sql.join(c.values)})`;
    case 'and': {
      // One column holds one value: every listed value must be that value.
      const [first, ...rest] = c.values;
      if (first === undefined) return all;
      return rest.every((v) => v === first) ? sql<SqlBool>`${ref} = ${first}` : none;
    }
  }
}

/** A list's filters and order, resolved against its spec. */
export interface ResolvedList {
  filters: ResolvedFilter[];
  sort: ResolvedSort[];
}

/** Resolves a request against a list's spec: unknown `q` keys and `sort` fields are dropped. */
export function resolveList(list: Pick<ListQuery, 'filters' | 'sort'>, spec: ListSpec): ResolvedList {
  return { filters: resolveFilters(list.filters, spec), sort: resolveSort(list.sort, spec) };
}

/** WHERE clauses for the resolved filters that have a column (the others are the list's to apply). */
export function filterSql(filters: readonly ResolvedFilter[]): Array<Expression<SqlBool>> {
  const out: Array<Expression<SqlBool>> = [];
  for (const f of filters) if (f.field.column !== undefined) out.push(conditionSql(f.field.column, f.condition));
  return out;
}

/** One ORDER BY term. */
export interface OrderTerm {
  column: string;
  desc: boolean;
}

/** The requested order, else `fallback`; then `tieBreak` so that pages never overlap. */
export function orderTerms(sort: readonly ResolvedSort[], fallback: readonly OrderTerm[], tieBreak: OrderTerm): OrderTerm[] {
  const terms: OrderTerm[] = [];
  for (const s of sort) if (s.field.column !== undefined) terms.push({ column: s.field.column, desc: s.desc });
  const out = terms.length ? terms : [...fallback];
  if (!out.some((t) => t.column === tieBreak.column)) out.push(tieBreak);
  return out;
}

/**
 * Adds ORDER BY terms to a query. NULLs (a never-pulled artifact's pull_time, a running
 * execution's end_time) come first ascending and last descending, as SQLite orders them by itself;
 * PostgreSQL's default is the opposite, hence explicit.
 */
export function orderBy<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>, terms: readonly OrderTerm[]): SelectQueryBuilder<DB, TB, O> {
  let q = qb;
  for (const t of terms) q = q.orderBy(sql.ref(t.column), (ob) => (t.desc ? ob.desc().nullsLast() : ob.asc().nullsFirst()));
  return q;
}

/** How a list is ordered by default and made stable. */
export interface ListOrder {
  fallback: readonly OrderTerm[];
  tieBreak: OrderTerm;
}

/**
 * One page of `qb` (its scope already applied) with the request's filters, order and page:
 * counts the matching rows, then reads the page. Filters without a column are ignored here (a
 * list that has such keys applies them itself before calling).
 */
export async function listPage<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>, list: ListQuery, spec: ListSpec, order: ListOrder): Promise<Page<O>> {
  const resolved = resolveList(list, spec);
  let q = qb;
  for (const w of filterSql(resolved.filters)) q = q.where(w);
  const counted = await q
    .clearSelect()
    .clearOrderBy()
    .select(sql<number>`count(*)`.as('n'))
    // The builder is generic over the list's tables; the selection is exactly the count.
    .$castTo<{ n: number }>()
    .executeTakeFirst();
  const items = await orderBy(q, orderTerms(resolved.sort, order.fallback, order.tieBreak))
    .limit(list.pageSize)
    .offset((list.page - 1) * list.pageSize)
    .execute();
  return { items, total: Number(counted?.n ?? 0) };
}
