/** The shapes list queries share across services: Harbor's `q` text filters, `sort` keys, and a page of results. */

/** A text filter from Harbor's `q` (`k=v` exact, `k=~v` fuzzy). */
export interface TextFilter {
  value: string;
  fuzzy: boolean;
}

/** One sort key (Harbor's `sort=name,-creation_time`). */
export interface SortKey {
  field: string;
  desc: boolean;
}

/** One page of a list and the total number of matching items. */
export interface Page<T> {
  items: T[];
  total: number;
}
