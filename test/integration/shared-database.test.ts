/**
 * Several instances on one database (issue 10), below HTTP: the failed-login limiter's counters,
 * cached credential checks that a password change elsewhere ends,
 * the token signing key created once by instances starting together, and a due schedule firing
 * once with two job services. On SQLite the "instances" share one connection (two connections in
 * one thread cannot both write); in the PostgreSQL pass each has its own pool on one database,
 * as separate processes would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Authenticator, Authorizer, LoginLimiter, TokenService, databaseLoginStore, type Actor } from '../../src/auth/index.ts';
import { isDomainError } from '../../src/domain/index.ts';
import { JobService, type JobsConfig } from '../../src/jobs/index.ts';
import type { Db } from '../../src/db/index.ts';
import { sharedDatabase } from '../helpers/db.ts';

const locked = (e: unknown) => isDomainError(e, 'TOOMANYREQUESTS');

test('login failures recorded by one instance lock the name and the address on another', async (t) => {
  const [a, b] = await sharedDatabase(t);
  const now = { t: 1_000_000 };
  const opts = { maxPerUser: 3, maxPerAddress: 5, windowMs: 60_000, now: () => now.t };
  const la = new LoginLimiter({ ...opts, store: databaseLoginStore(a.kysely) });
  const lb = new LoginLimiter({ ...opts, store: databaseLoginStore(b.kysely) });

  await la.recordFailure('Mallory', '10.0.0.1', '/v2');
  await lb.recordFailure('mallory', '10.0.0.2', '/v2');
  assert.deepEqual(await la.check('mallory', '10.0.0.3', '/v2'), { userFailures: 2 });
  await la.recordFailure('MALLORY', '10.0.0.3', '/v2');
  await assert.rejects(lb.check('mallory', '10.0.0.9', '/service/token'), locked);
  await assert.rejects(la.check('mallory', '10.0.0.9', '/v2'), locked);
  // Other names from other addresses are not affected.
  await lb.check('alice', '10.0.0.9', '/v2');

  // The window passes: the name is free again, on both.
  now.t += 60_001;
  await la.check('mallory', '10.0.0.9', '/v2');
  await lb.check('mallory', '10.0.0.9', '/v2');

  // Per address, across names and instances; a success on B clears the name, not the address.
  for (let i = 0; i < 5; i++) await (i % 2 ? la : lb).recordFailure(`name${i}`, '10.9.9.9', '/v2');
  await assert.rejects(la.check('someone', '10.9.9.9', '/v2'), locked);
  await lb.recordFailure('bob', '10.1.1.1', '/v2');
  const seen = await lb.check('bob', '10.1.1.1', '/v2');
  assert.equal(seen.userFailures, 1);
  await lb.recordSuccess('bob', seen);
  assert.equal((await la.check('bob', '10.1.1.1', '/v2')).userFailures, 0);
  await assert.rejects(lb.check('someone-else', '10.9.9.9', '/v2'), locked);
});

test('a successful login without earlier failures writes nothing; old failures are pruned', async (t) => {
  const [a] = await sharedDatabase(t);
  const now = { t: 5_000_000 };
  const store = databaseLoginStore(a.kysely);
  let clears = 0;
  const counting = { ...store, clearUser: (u: string) => (clears++, store.clearUser(u)) };
  const l = new LoginLimiter({ maxPerUser: 3, maxPerAddress: 5, windowMs: 1000, now: () => now.t, store: counting });
  const rows = async () => (await a.kysely.selectFrom('login_failures').select(({ fn }) => fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
  await l.recordFailure('carol', '10.0.0.1', '/v2');
  assert.equal(Number(await rows()), 2, 'one row for the name, one for the address');
  const seen = await l.check('dave', '10.0.0.2', '/v2');
  assert.deepEqual(seen, { userFailures: 0 });
  // A success with nothing to clear does not write (a delete of no rows still takes a writer's lock).
  await l.recordSuccess('dave', seen);
  assert.equal(clears, 0);
  await l.recordFailure('dave', '10.0.0.2', '/v2');
  await l.recordSuccess('dave', await l.check('dave', '10.0.0.2', '/v2'));
  assert.equal(clears, 1);
  assert.equal(Number(await rows()), 3, 'the name was cleared, the address kept its failure');
  // A failure more than a minute later prunes the rows that fell out of the window.
  now.t += 61_000;
  await l.recordFailure('erin', '10.0.0.3', '/v2');
  const left = await a.kysely.selectFrom('login_failures').select(['scope', 'key']).orderBy('id').execute();
  assert.deepEqual(
    left.map((r) => `${r.scope}:${r.key}`),
    ['user:erin', 'address:10.0.0.3'],
  );
});

test('instances starting together create one signing key; a token from one verifies on the other', async (t) => {
  const [a, b] = await sharedDatabase(t);
  const authorizer = new Authorizer();
  // Several services per handle, all loading keys at once on an empty table: one key must result.
  const services = Array.from({ length: 6 }, (_, i) => new TokenService({ db: (i % 2 ? a : b).kysely, authorizer, ttlSeconds: 300 }));
  const admin: Actor = { kind: 'user', username: 'admin', userId: 1, sysadmin: true };
  const issued = await Promise.all(services.map((s) => s.issue(admin, [{ type: 'repository', name: 'library/app', actions: ['pull'] }])));
  const keys = await a.kysely.selectFrom('token_signing_keys').select('kid').execute();
  assert.equal(keys.length, 1, 'exactly one signing key');
  for (const [i, tok] of issued.entries()) {
    const other = services[(i + 1) % services.length];
    assert.ok(other);
    const v = await other.verify(tok.token);
    assert.equal(v.subject, 'admin');
    assert.deepEqual([...(v.access.get('library/app') ?? [])], ['pull']);
  }
  // A service started later (a new instance) verifies tokens issued before it started.
  const late = new TokenService({ db: b.kysely, authorizer, ttlSeconds: 300 });
  assert.equal((await late.verify(issued[0]?.token ?? '')).subject, 'admin');
});

test('a due schedule fires once across two job services on one database', async (t) => {
  const [a, b] = await sharedDatabase(t);
  const config: JobsConfig = { poll_ms: 50, lease_seconds: 1, concurrency: 1, max_runs: 1, history_max_age_days: 30, history_max_per_type: 50 };
  const silent = pino({ level: 'silent' });
  const ran: string[] = [];
  const make = (db: Db, name: string) => {
    const s = new JobService({ db: db.kysely, logger: silent, config });
    s.register({
      vendorType: 'CLUSTER_TICK',
      async run() {
        ran.push(name);
        return {};
      },
    });
    return s;
  };
  const sa = make(a, 'a');
  const sb = make(b, 'b');
  // Both instances set the schedule at start (as `listen()` does for the audit purge): one row.
  await Promise.all([sa.setSchedule('CLUSTER_TICK', 'Hourly', undefined, {}, 0, Date.now()), sb.setSchedule('CLUSTER_TICK', 'Hourly', undefined, {}, 0, Date.now())]);
  // Several passes of both schedulers at the same time: the due tick fires once.
  for (let i = 0; i < 5; i++) await Promise.all([sa.runOnce(), sb.runOnce()]);
  await Promise.all([sa.idle(), sb.idle()]);
  const execs = await a.kysely.selectFrom('job_executions').select(['id', 'trigger', 'status']).where('vendor_type', '=', 'CLUSTER_TICK').execute();
  assert.equal(execs.length, 1, `one execution, got ${JSON.stringify(execs)}`);
  assert.equal(execs[0]?.trigger, 'SCHEDULE');
  assert.equal(ran.length, 1, 'the job ran once');
  const schedules = await a.kysely.selectFrom('job_schedules').select('next_run').where('vendor_type', '=', 'CLUSTER_TICK').execute();
  assert.equal(schedules.length, 1);
  assert.ok((schedules[0]?.next_run ?? 0) > Date.now(), 'the schedule moved to its next hour');
});

test('a password changed through one instance ends the other instance cached check at once', async (t) => {
  const [a, b] = await sharedDatabase(t);
  const now = Date.now();
  const hash = await Authenticator.hashPassword('OldPassw0rd');
  await a.kysely.insertInto('users').values({ username: 'paula', password_hash: hash, email: '', realname: '', comment: '', sysadmin: 0, disabled: 0, creation_time: now, update_time: now }).execute();
  const onA = new Authenticator(a.kysely);
  assert.equal((await onA.verify('paula', 'OldPassw0rd'))?.username, 'paula');
  // Cached on A now. B changes the password (as its UserService would, without telling A).
  await b.kysely.updateTable('users').set({ password_hash: await Authenticator.hashPassword('NewPassw0rd') }).where('username', '=', 'paula').execute();
  assert.equal(await onA.verify('paula', 'OldPassw0rd'), null, 'the old password stops working on A');
  assert.equal((await onA.verify('paula', 'NewPassw0rd'))?.username, 'paula');
});
