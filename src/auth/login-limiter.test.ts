import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter, type LoginFailure } from './login-limiter.ts';
import { isDomainError } from '../domain/index.ts';

function limiter(now: { t: number }) {
  return new LoginLimiter({ maxPerUser: 2, maxPerAddress: 3, windowMs: 1000, now: () => now.t });
}

test('a name is locked after maxPerUser failures until the window passes', () => {
  const now = { t: 0 };
  const l = limiter(now);
  l.check('bob', 'a1', 's');
  l.recordFailure('bob', 'a1', 's');
  l.check('bob', 'a2', 's');
  l.recordFailure('BOB', 'a2', 's');
  assert.throws(() => l.check('bob', 'a3', 's'), (e) => isDomainError(e, 'TOOMANYREQUESTS'));
  l.check('alice', 'a3', 's');
  now.t = 999;
  assert.throws(() => l.check('bob', 'a3', 's'));
  now.t = 1001;
  l.check('bob', 'a3', 's');
});

test('an address is locked after maxPerAddress failures across names; success clears only the name', () => {
  const now = { t: 0 };
  const l = limiter(now);
  l.recordFailure('x', 'addr', 's');
  l.recordSuccess('x');
  l.recordFailure('x', 'addr', 's');
  l.check('x', 'other', 's');
  l.recordFailure('y', 'addr', 's');
  assert.throws(() => l.check('z', 'addr', 's'), (e) => isDomainError(e, 'TOOMANYREQUESTS'));
  l.check('z', 'elsewhere', 's');
});

test('every failure and refusal is announced; a throwing listener does not break the limiter', () => {
  const now = { t: 5 };
  const l = limiter(now);
  const seen: LoginFailure[] = [];
  l.loginFailures.on('failure', (f) => seen.push(f));
  l.loginFailures.on('failure', () => {
    throw new Error('listener bug');
  });
  l.recordFailure('bob', 'a', '/v2');
  l.recordFailure('bob', 'a', '/v2');
  assert.throws(() => l.check('bob', 'a', '/api/v2.0'));
  assert.deepEqual(
    seen.map((f) => [f.username, f.address, f.surface, f.reason, f.at]),
    [
      ['bob', 'a', '/v2', 'invalid_credentials', 5],
      ['bob', 'a', '/v2', 'invalid_credentials', 5],
      ['bob', 'a', '/api/v2.0', 'rate_limited', 5],
    ],
  );
});
