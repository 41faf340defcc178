/**
 * docs/harbor-api.md's list of Harbor paths Wharf does not serve stays true: the running app
 * registers none of them (a route added later must take its path out of that list).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startWharf, type TestWharf } from '../helpers/wharf.ts';
import { routesOf, type RouteEntry } from '../helpers/routes.ts';

let w: TestWharf;

before(async () => {
  w = await startWharf();
});

after(async () => {
  await w.close();
});

/** The backticked paths of the "Not served" bullet: `/x` from the API's root, `.../x` anywhere, optionally after a method. */
function notServed(): Array<{ method: string | null; anywhere: boolean; segments: string[] }> {
  const doc = readFileSync(new URL('../../docs/harbor-api.md', import.meta.url), 'utf8');
  const start = doc.indexOf('- Not served');
  assert.ok(start >= 0, 'docs/harbor-api.md has a "Not served" bullet');
  const bullet = doc.slice(start, doc.indexOf('\n- ', start + 1));
  const out: Array<{ method: string | null; anywhere: boolean; segments: string[] }> = [];
  for (const m of bullet.matchAll(/`([^`]+)`/g)) {
    const text = m[1] ?? '';
    const space = text.indexOf(' ');
    const method = space > 0 && /^[A-Z]+$/.test(text.slice(0, space)) ? text.slice(0, space) : null;
    const path = method ? text.slice(space + 1) : text;
    const anywhere = path.startsWith('.../');
    if (!anywhere && !path.startsWith('/')) continue;
    out.push({ method, anywhere, segments: path.replace(/^\.\.\./, '').split('/').filter((s) => s !== '') });
  }
  return out;
}

/** True when `route` (under /api/v2.0) holds `segments` from its start, or anywhere; `{x}` matches a parameter. */
function holds(route: RouteEntry, item: { method: string | null; anywhere: boolean; segments: string[] }): boolean {
  if (item.method && route.method !== item.method) return false;
  const parts = route.path.slice('/api/v2.0'.length).split('/').filter((s) => s !== '');
  // With a method the path is one route (it ends there); without, every route under it counts.
  const at = (i: number) =>
    (!item.method || i + item.segments.length === parts.length) && item.segments.every((seg, k) => (seg.startsWith('{') ? parts[i + k]?.startsWith(':') : parts[i + k] === seg));
  if (!item.anywhere) return at(0);
  for (let i = 0; i < parts.length; i++) if (at(i)) return true;
  return false;
}

describe('docs/harbor-api.md', () => {
  it('lists as not served only paths the app does not register', () => {
    const routes = routesOf(w.wharf.app.printRoutes({ commonPrefix: false })).filter((r) => r.path.startsWith('/api/v2.0/'));
    const items = notServed();
    // The list shrinks as operations land (11 paths at P2P preheat); a parser that reads too few fails here.
    assert.ok(items.length >= 3, `read ${items.length} paths`);
    for (const item of items) {
      const served = routes.filter((r) => holds(r, item));
      assert.deepEqual(served, [], `${item.method ?? ''} ${item.anywhere ? '...' : ''}/${item.segments.join('/')} is listed as not served`);
    }
    // The matcher itself: served paths are found.
    assert.ok(routes.some((r) => holds(r, { method: null, anywhere: false, segments: ['quotas'] })));
    assert.ok(routes.some((r) => holds(r, { method: 'POST', anywhere: true, segments: ['artifacts', '{reference}', 'tags'] })));
  });
});
