import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contextFromTraceparent, runInContext, startTracing, traceparent, tracingActive, withSpan, withTraceHeaders, type TracingConfig } from './tracing.ts';

const off: TracingConfig = { enabled: false, endpoint: 'http://127.0.0.1:1/v1/traces', sample_ratio: 1, service_name: 'wharf', headers: {}, export_interval_ms: 1000 };

test('with tracing off every helper is a no-op', async () => {
  const t = await startTracing(off);
  assert.equal(t.enabled, false);
  assert.equal(tracingActive(), false);
  let seen: unknown = 'unset';
  assert.equal(await withSpan('x', {}, async (span) => ((seen = span), 7)), 7);
  assert.equal(seen, undefined);
  assert.equal(traceparent(), null);
  assert.equal(contextFromTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), undefined);
  const h = { a: '1' };
  assert.equal(withTraceHeaders(h), h);
});

test('with tracing on, spans nest, traceparent round-trips, malformed values are ignored, the sampling ratio applies to roots', async () => {
  let bodies = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      bodies++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  const t = await startTracing({ ...off, enabled: true, endpoint, sample_ratio: 0 });
  try {
    assert.equal(tracingActive(), true);
    // Ratio 0: a new root is not sampled, but its context still propagates (flags 00).
    const root = await withSpan('root', {}, async () => traceparent());
    assert.match(root ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // A sampled remote parent is followed (parent-based).
    const given = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const parent = contextFromTraceparent(given);
    assert.ok(parent);
    const [outer, inner] = await withSpan('outer', { parent }, async () => {
      const o = traceparent();
      const i = await withSpan('inner', {}, async () => traceparent());
      return [o, i];
    });
    assert.match(outer ?? '', /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.match(inner ?? '', /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.notEqual(outer, inner);
    assert.equal(runInContext(parent, () => traceparent()), given);
    assert.equal((runInContext(parent, () => withTraceHeaders({ a: '1' })) as Record<string, string>).traceparent, given);
    for (const bad of ['', 'garbage', '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', '00-00000000000000000000000000000000-b7ad6b7169203331-01', '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01']) {
      assert.equal(contextFromTraceparent(bad), undefined, bad);
    }
    // An error ends the span and reaches the caller.
    await assert.rejects(withSpan('fails', {}, async () => Promise.reject(new Error('boom'))) as Promise<unknown>, /boom/);
    await t.flush();
    assert.ok(bodies >= 1, 'the sampled spans were exported');
  } finally {
    await t.shutdown();
    await new Promise<void>((r) => server.close(() => r()));
  }
  assert.equal(tracingActive(), false);
  assert.equal(traceparent(), null);
});
