/**
 * `server.trust_proxy` (issue 10, instances behind a load balancer): the failed-login limiter and
 * its announcements see the client address a trusted proxy forwarded, and only a trusted one's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LoginFailure } from '../../src/auth/index.ts';
import { startWharf } from '../helpers/wharf.ts';
import { api } from '../helpers/webhook-client.ts';

const wrong = 'Basic ' + Buffer.from('nobody:Wrong1234').toString('base64');

for (const trusted of [true, false]) {
  test(`X-Forwarded-For is the client address ${trusted ? 'from a trusted proxy' : 'only from a trusted proxy'}`, async (t) => {
    const w = await startWharf({ overrides: { server: { trust_proxy: trusted ? ['127.0.0.1/8', '::1'] : [] }, auth: { login_max_failures_per_address: 2 } } });
    t.after(() => w.close());
    const seen: LoginFailure[] = [];
    w.wharf.loginLimiter.loginFailures.on('failure', (f) => seen.push(f));
    const statuses: number[] = [];
    for (const client of ['203.0.113.7', '203.0.113.7', '198.51.100.9']) statuses.push((await api(w.url, 'GET', '/v2/', { auth: wrong, headers: { 'x-forwarded-for': client } })).status);
    // Trusted: two clients, neither locked. Untrusted: one address (the proxy's), locked at the third.
    assert.deepEqual(statuses, trusted ? [401, 401, 401] : [401, 401, 429]);
    if (trusted) {
      assert.deepEqual(seen.map((f) => f.address), ['203.0.113.7', '203.0.113.7', '198.51.100.9']);
    } else {
      // Untrusted: the header is ignored, every failure is the proxy's own address (and the third locked it).
      assert.deepEqual(seen.map((f) => f.address), ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
      assert.equal(seen[2]?.reason, 'rate_limited');
    }
  });
}
