/**
 * React hooks over lib/api.ts: `useApi` loads once per dependency change and exposes loading,
 * error (the API's message) and reload; `usePaged` drives a server-side paged list (page,
 * page size, `q`, `sort`), never loading more than one page.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { getPage, type Page } from './api.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change; cancels stale answers. */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    setError(null);
    loadRef.current(ctl.signal).then(
      (v) => {
        if (ctl.signal.aborted) return;
        setData(v);
        setLoading(false);
      },
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setError(err instanceof Error ? err.message : String(err));
        setLoading(false);
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export interface Paged<T> extends Loaded<Page<T>> {
  page: number;
  pageSize: number;
  setPage: (p: number) => void;
  setPageSize: (n: number) => void;
}

/** A server-paged list of `path` (which may already carry a query); `extra` are more query parameters. */
export function usePaged<T>(path: string, extra: Record<string, string | undefined> = {}, initialPageSize = 15): Paged<T> {
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(initialPageSize);
  const extraKey = JSON.stringify(extra);
  useEffect(() => setPage(1), [path, extraKey]);
  const loaded = useApi<Page<T>>(
    (signal) => {
      const q = new URLSearchParams({ page: String(page), page_size: String(pageSize) });
      for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== '') q.set(k, v);
      return getPage<T>(`${path}${path.includes('?') ? '&' : '?'}${q.toString()}`, { signal });
    },
    [path, page, pageSize, extraKey],
  );
  return { ...loaded, page, pageSize, setPage, setPageSize };
}
