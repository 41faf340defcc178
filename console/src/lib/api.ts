/**
 * The console's only way to the server: Harbor's public API under /api/v2.0 (no private
 * endpoints), plus Harbor's sign-in (`POST /c/login`) and sign-out (`GET /c/log_out`).
 *
 * The session is a cookie the browser sends by itself (`sid`, HttpOnly). Every request that
 * changes something carries the CSRF token the server put in the `__csrf` cookie as the
 * `X-Harbor-CSRF-Token` header (Harbor's names), so another site cannot make the browser write.
 * Errors come back as {@link ApiError} with the API's own message (`errors[0].message`).
 */

/** An answer other than 2xx, with the message the API gave. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A page of a list: the items and `X-Total-Count` (null when the API sent none). */
export interface Page<T> {
  items: T[];
  total: number | null;
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** Called when an API call answers 401 (the session expired or was signed out elsewhere). */
export function onUnauthorized(l: Listener): () => void {
  unauthorizedListeners.add(l);
  return () => unauthorizedListeners.delete(l);
}

/** The value of cookie `name` in `cookies` (document.cookie's format), or ''. */
export function cookieValue(cookies: string, name: string): string {
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return '';
}

function csrfToken(): string {
  return typeof document === 'undefined' ? '' : cookieValue(document.cookie, '__csrf');
}

/** The message of an error body in Harbor's (`{"errors":[{code,message}]}`) or OCI's shape, else the status text. */
export function errorMessage(status: number, body: unknown, fallback: string): { code: string; message: string } {
  if (body && typeof body === 'object' && 'errors' in body) {
    const errors = (body as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const first = errors[0] as { code?: unknown; message?: unknown };
      return { code: typeof first.code === 'string' ? first.code : String(status), message: typeof first.message === 'string' && first.message !== '' ? first.message : fallback };
    }
  }
  return { code: String(status), message: fallback || `the server answered ${status}` };
}

/** Encodes a repository name as Harbor's API wants it in a path: `a/b` → `a%252Fb`. */
export function repoPath(name: string): string {
  return encodeURIComponent(encodeURIComponent(name));
}

/** Builds a query string from defined values. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export interface RequestOptions {
  body?: unknown;
  /** Accept a text answer (task logs). */
  text?: boolean;
  signal?: AbortSignal;
}

async function send(method: string, url: string, opts: RequestOptions = {}): Promise<Response> {
  // X-Requested-With: the server then answers 401 without a Basic challenge (no browser password dialog).
  const headers: Record<string, string> = { accept: opts.text ? 'text/plain, application/json' : 'application/json', 'x-requested-with': 'XMLHttpRequest' };
  if (method !== 'GET' && method !== 'HEAD') headers['x-harbor-csrf-token'] = csrfToken();
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  if (res.status === 401) for (const l of unauthorizedListeners) l();
  if (!res.ok) {
    let parsed: unknown = null;
    const text = await res.text();
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    const e = errorMessage(res.status, parsed, text.slice(0, 300) || res.statusText);
    throw new ApiError(res.status, e.code, e.message);
  }
  return res;
}

async function json<T>(res: Response): Promise<T> {
  const text = await res.text();
  return (text === '' ? null : JSON.parse(text)) as T;
}

/** GET /api/v2.0{path}: the parsed JSON. */
export async function get<T>(path: string, opts?: RequestOptions): Promise<T> {
  return json<T>(await send('GET', `/api/v2.0${path}`, opts));
}

/** GET /api/v2.0{path} as text. */
export async function getText(path: string, opts?: RequestOptions): Promise<string> {
  return (await send('GET', `/api/v2.0${path}`, { ...opts, text: true })).text();
}

/** GET of a paged list: the items and `X-Total-Count`. */
export async function getPage<T>(path: string, opts?: RequestOptions): Promise<Page<T>> {
  const res = await send('GET', `/api/v2.0${path}`, opts);
  const total = res.headers.get('x-total-count');
  return { items: (await json<T[]>(res)) ?? [], total: total === null ? null : Number(total) };
}

/** POST, PUT, PATCH or DELETE on /api/v2.0{path}; resolves with the JSON answer (or null) and the new resource's id from `Location`. */
export async function write<T = unknown>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ data: T | null; id: number | null; location: string | null }> {
  const res = await send(method, `/api/v2.0${path}`, { body });
  const location = res.headers.get('location');
  const last = location?.split('/').pop() ?? '';
  const id = /^\d+$/.test(last) ? Number(last) : null;
  return { data: await json<T>(res), id, location };
}

/** Harbor's sign-in: form fields `principal` and `password`; sets the session cookie. */
export async function signIn(principal: string, password: string): Promise<void> {
  const body = new URLSearchParams({ principal, password });
  const res = await fetch('/c/login', { method: 'POST', body, credentials: 'same-origin', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-requested-with': 'XMLHttpRequest' } });
  if (!res.ok) {
    let parsed: unknown = null;
    try {
      parsed = await res.json();
    } catch {
      /* not JSON */
    }
    const e = errorMessage(res.status, parsed, res.status === 401 ? 'invalid user name or password' : res.statusText);
    throw new ApiError(res.status, e.code, e.message);
  }
}

/** Harbor's sign-out: ends the session. */
export async function signOut(): Promise<void> {
  await fetch('/c/log_out', { credentials: 'same-origin' });
}
