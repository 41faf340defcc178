import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter, type LoginFailure } from './login-limiter.ts';
import { isDomainError } from '../domain/index.ts';

function limiter(now: { t: number }) {
  return new LoginLimiter({ maxPerUser: 2, maxPerAddress: 3, windowMs: 1000, now: () => now.t });
}

test('a name is locked after maxPerUser failures until the window passes', async () => {
  const now = { t: 0 };
  const l = limiter(now);
  await l.check('bob', 'a1', 's');
  await l.recordFailure('bob', 'a1', 's');
  await l.check('bob', 'a2', 's');
  await l.recordFailure('BOB', 'a2', 's');
  await assert.rejects(l.check('bob', 'a3', 's'), (e) => isDomainError(e, 'TOOMANYREQUESTS'));
  await l.check('alice', 'a3', 's');
  now.t = 999;
  await assert.rejects(l.check('bob', 'a3', 's'));
  now.t = 1001;
  await l.check('bob', 'a3', 's');
});

test('an address is locked after maxPerAddress failures across names; success clears only the name', async () => {
  const now = { t: 0 };
  const l = limiter(now);
  await l.recordFailure('x', 'addr', 's');
  await l.recordSuccess('x');
  await l.recordFailure('x', 'addr', 's');
  await l.check('x', 'other', 's');
  await l.recordFailure('y', 'addr', 's');
  await assert.rejects(l.check('z', 'addr', 's'), (e) => isDomainError(e, 'TOOMANYREQUESTS'));
  await l.check('z', 'elsewhere', 's');
});

test('every failure and refusal is announced; a throwing listener does not break the limiter', async () => {
  const now = { t: 5 };
  const l = limiter(now);
  const seen: LoginFailure[] = [];
  l.loginFailures.on('failure', (f) => seen.push(f));
  l.loginFailures.on('failure', () => {
    throw new Error('listener bug');
  });
  await l.recordFailure('bob', 'a', '/v2');
  await l.recordFailure('bob', 'a', '/v2');
  await assert.rejects(l.check('bob', 'a', '/api/v2.0'));
  assert.deepEqual(
    seen.map((f) => [f.username, f.address, f.surface, f.reason, f.at]),
    [
      ['bob', 'a', '/v2', 'invalid_credentials', 5],
      ['bob', 'a', '/v2', 'invalid_credentials', 5],
      ['bob', 'a', '/api/v2.0', 'rate_limited', 5],
    ],
  );
});
