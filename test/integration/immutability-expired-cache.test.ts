/**
 * Regression: deleting an artifact once the immutable-rule cache has expired. The rules were read
 * inside the delete's transaction, and on SQLite a read outside a transaction waits for its one
 * connection, so the delete hung. They are now read before the transaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf } from '../helpers/wharf.ts';
import { api, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { cacheTtlMs } from '../../src/lifecycle/index.ts';

test('an artifact delete after the rule cache expired is refused, not stuck', { timeout: 30_000 }, async () => {
  const w = await startWharf();
  try {
    const digest = await pushSmallImage(w.url, 'library/app', smallImage('expired-cache'), { tag: 'v1', auth: adminAuth });
    const rule = {
      disabled: false,
      action: 'immutable',
      template: 'immutable_template',
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
    };
    const r = await api(w.url, 'POST', '/api/v2.0/projects/library/immutabletagrules', { auth: adminAuth, body: rule });
    assert.equal(r.status, 201, r.text);
    await new Promise((res) => setTimeout(res, cacheTtlMs + 500));
    const d = await api(w.url, 'DELETE', `/api/v2.0/projects/library/repositories/app/artifacts/${digest}`, { auth: adminAuth });
    assert.equal(d.status, 412, d.text);
    assert.match(d.text, /the tag v1 configured as immutable, cannot be deleted/);
  } finally {
    await w.close();
  }
});
