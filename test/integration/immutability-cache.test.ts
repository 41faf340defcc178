/**
 * The immutability guard's cache with two instances on one database (src/lifecycle/immutability/):
 * a rule created through one instance is enforced there at once and by the other once its cached
 * entry (3 s) expires; disabling it lifts it the same way. On SQLite the "instances" share one
 * connection; in the PostgreSQL pass each has its own pool on one database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer, systemActor } from '../../src/auth/index.ts';
import { ImmutabilityRules, cacheTtlMs } from '../../src/lifecycle/index.ts';
import { sharedDatabase } from '../helpers/db.ts';

test('a rule made on one instance reaches the other within the cache TTL', async (t) => {
  const [a, b] = await sharedDatabase(t);
  const p = await a.kysely
    .insertInto('projects')
    .values({ name: 'cached', public: 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: 0, update_time: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
  const clock = { t: 1_000_000 };
  const authorizer = new Authorizer();
  const ra = new ImmutabilityRules({ db: a.kysely, authorizer, now: () => clock.t });
  const rb = new ImmutabilityRules({ db: b.kysely, authorizer, now: () => clock.t });
  const ctx = { actor: systemActor };
  const key = { nameOrId: 'cached', isName: true };
  assert.equal(await ra.immutableTags(p.id), null);
  assert.equal(await rb.immutableTags(p.id), null);

  const id = await ra.create(ctx, key, {
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
  });
  // The instance that made the change enforces it at once.
  assert.equal((await ra.immutableTags(p.id))?.('app', 'v1'), true);
  // The other trusts its cached "no rules" until the TTL passes, then reads the rule.
  clock.t += cacheTtlMs - 1;
  assert.equal(await rb.immutableTags(p.id), null);
  clock.t += 1;
  const test1 = await rb.immutableTags(p.id);
  assert.ok(test1);
  assert.deepEqual([test1('app', 'v1'), test1('app', 'latest')], [true, false]);

  await ra.update(ctx, key, id, { id, disabled: true, tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }], scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } });
  assert.equal(await ra.immutableTags(p.id), null);
  assert.ok(await rb.immutableTags(p.id));
  clock.t += cacheTtlMs;
  assert.equal(await rb.immutableTags(p.id), null);
});
