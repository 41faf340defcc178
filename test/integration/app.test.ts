import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';

let tw: TestWharf;
before(async () => {
  tw = await startWharf();
});
after(async () => {
  await tw.close();
});

test('/healthz, /readyz and /metrics answer', async () => {
  assert.deepEqual(await (await fetch(`${tw.url}/healthz`)).json(), { status: 'ok' });
  assert.deepEqual(await (await fetch(`${tw.url}/readyz`)).json(), { status: 'ready' });
  await fetch(`${tw.url}/v2/`);
  const metrics = await (await fetch(`${tw.url}/metrics`, { headers: { authorization: adminAuth } })).text();
  assert.match(metrics, /wharf_http_requests_total\{method="GET",route="\/v2\/?",status="401"\} 1/);
  assert.match(metrics, /wharf_blob_upload_duration_seconds_bucket/);
  assert.match(metrics, /wharf_bytes_received_total/);
});

test('every response carries a request id; a sane one sent by the client is kept', async () => {
  const r1 = await fetch(`${tw.url}/healthz`);
  assert.match(r1.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  const r2 = await fetch(`${tw.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
  assert.equal(r2.headers.get('x-request-id'), 'abc-123');
  const r3 = await fetch(`${tw.url}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
  assert.notEqual(r3.headers.get('x-request-id'), 'bad id with spaces');
});

test('a malformed %-escape gets a 400 in each protocol\'s own error format', async () => {
  const harbor = await fetch(`${tw.url}/api/v2.0/projects/%ZZ`);
  assert.equal(harbor.status, 400);
  const hb = (await harbor.json()) as { errors: Array<{ code: string }> };
  assert.equal(hb.errors[0]?.code, 'BAD_REQUEST');
  const oci = await fetch(`${tw.url}/v2/library/%ZZ/tags/list`);
  assert.equal(oci.status, 400);
  const ob = (await oci.json()) as { errors: Array<{ code: string }> };
  assert.equal(ob.errors[0]?.code, 'NAME_INVALID');
});
