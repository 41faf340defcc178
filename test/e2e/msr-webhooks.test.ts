/**
 * End-to-end: MSR's webhook API with real clients. A subscription created with plain HTTP calls
 * (what `curl -u user:password` sends) receives MSR's TAG_PUSH on a real local receiver after a
 * skopeo push; `/api/v0/webhooks/test` delivers MSR's sample; the subscription is a Harbor policy
 * with its execution. Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminPassword, startWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver } from '../helpers/receiver.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { eventually } from '../helpers/webhook-client.ts';

const skip = skipWithoutSkopeo();
/** `curl -u admin:Harbor12345`. */
const curlAuth = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64');

/** What `curl -u … -X METHOD URL -H "content-type: application/json" -d BODY` sends, answered as status and parsed JSON. */
async function curl(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(url, {
    method,
    headers: { authorization: curlAuth, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, json: text === '' ? undefined : JSON.parse(text) };
}

test('e2e: an MSR TAG_PUSH subscription made with curl receives a skopeo push; /test sends the sample', { skip, timeout: 60_000 }, async () => {
  requireSkopeo();
  const recv = await startReceiver();
  const w = await startWharf();
  try {
    const created = await curl('POST', `${w.url}/api/v0/webhooks`, { type: 'TAG_PUSH', key: 'library/msr-e2e', endpoint: `${recv.url}/msr`, skipTLSVerification: true });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const sub = created.json as { id: string; type: string; key: string; endpoint: string };
    assert.deepEqual([sub.type, sub.key, sub.endpoint], ['TAG_PUSH', 'library/msr-e2e', `${recv.url}/msr`]);

    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'v1');
    await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('v1'), `docker://${w.host}/library/msr-e2e:v1`]);
    const [hit] = await recv.waitFor(1, 20_000, '/msr');
    const payload = jsonBody(hit!) as { type: string; createdAt: string; contents: Record<string, unknown>; location: string };
    assert.equal(payload.type, 'TAG_PUSH');
    assert.match(payload.createdAt, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(
      [payload.contents.namespace, payload.contents.repository, payload.contents.tag, payload.contents.digest, payload.contents.imageName, payload.contents.author],
      ['library', 'msr-e2e', 'v1', img.manifest.digest, `${w.host}/library/msr-e2e:v1`, 'admin'],
    );
    assert.equal(payload.location, '/repositories/library/msr-e2e/tags/v1');

    // The same subscription in Harbor's API, with the delivery in its history; and back in MSR's list.
    const policies = await curl('GET', `${w.url}/api/v2.0/projects/library/webhook/policies`);
    assert.ok((policies.json as Array<{ id: number }>).some((p) => String(p.id) === sub.id), 'the subscription is a Harbor policy');
    const execs = await eventually(async () => {
      const e = (await curl('GET', `${w.url}/api/v2.0/projects/library/webhook/policies/${sub.id}/executions`)).json as Array<{ status: string; extra_attrs: { event_type: string } }>;
      return e[0]?.status === 'Success' ? e : null;
    });
    assert.deepEqual(execs.map((e) => e.extra_attrs.event_type), ['PUSH_ARTIFACT']);
    const listed = (await curl('GET', `${w.url}/api/v0/repositories/library/msr-e2e/webhooks`)).json as Array<{ id: string; lastSuccessfulAt: string | null }>;
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.id, sub.id);
    assert.ok(listed[0]?.lastSuccessfulAt, 'lastSuccessfulAt comes from the successful execution');

    // MSR's test endpoint: the fixed sample, sent now.
    const tested = await curl('POST', `${w.url}/api/v0/webhooks/test`, { type: 'TAG_PUSH', endpoint: `${recv.url}/sample` });
    assert.equal(tested.status, 200, JSON.stringify(tested.json));
    assert.equal((tested.json as { statusCode: number }).statusCode, 200);
    const [sample] = recv.on('/sample');
    const s = jsonBody(sample!) as { type: string; contents: Record<string, unknown> };
    assert.deepEqual([s.type, s.contents.namespace, s.contents.repository, s.contents.tag, s.contents.imageName], ['TAG_PUSH', 'foo', 'bar', 'latest', 'foo/bar:latest']);

    assert.equal((await curl('DELETE', `${w.url}/api/v0/webhooks/${sub.id}`)).status, 204);
    assert.deepEqual((await curl('GET', `${w.url}/api/v0/webhooks`)).json, []);
  } finally {
    await w.close();
    await recv.close();
  }
});
