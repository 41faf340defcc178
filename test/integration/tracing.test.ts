/**
 * Traces end to end (issue 17, docs/observability.md): a real Wharf exports OTLP/HTTP (JSON) to a
 * real node:http receiver on 127.0.0.1 that decodes the payload; a webhook policy delivers to a
 * real receiver. An image pushed with skopeo (plain /v2 calls when skopeo is missing, and in the
 * delivery-thread case) must give one trace from the manifest PUT's server span through
 * the transaction that wrote the outbox row, the dispatch span and the delivery attempt's span,
 * and the webhook receiver must get the attempt's `traceparent`. No secret of the target (auth
 * header, signing secret, URL token) may appear in what is exported. With tracing off nothing is
 * exported and no `traceparent` goes out.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { header, startReceiver, type Receiver } from '../helpers/receiver.ts';
import { api, createPolicy, eventually, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, skopeoAvailable, skopeoOk } from '../helpers/skopeo.ts';

/** A span as OTLP/JSON carries it, with its attributes flattened. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  service: string;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}

interface OtlpPayload {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes?: OtlpKeyValue[] }> }>;
  }>;
}

function plain(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.boolValue !== undefined) return v.boolValue;
  return v.doubleValue;
}

function attrs(list: OtlpKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));
}

/** A local OTLP/HTTP traces receiver: decodes every JSON export request into spans. */
interface OtlpReceiver {
  url: string;
  spans: OtlpSpan[];
  /** Raw bodies, for the secrets check. */
  bodies: string[];
  contentTypes: string[];
  close(): Promise<void>;
}

async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      bodies.push(text);
      contentTypes.push(String(req.headers['content-type']));
      if (req.url === '/v1/traces' && String(req.headers['content-type']).startsWith('application/json')) {
        const payload = JSON.parse(text) as OtlpPayload;
        for (const rs of payload.resourceSpans ?? []) {
          const service = String(attrs(rs.resource?.attributes)['service.name']);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind, attributes: attrs(s.attributes), service });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    bodies,
    contentTypes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const secretToken = 'url-token-5f2c9a';
const authHeader = 'Bearer auth-value-81d3e7';
const signingSecret = 'signing-secret-0b4a6e';

/** Pushes a one-layer image with skopeo as the admin. */
async function skopeoPush(w: TestWharf, ref: string): Promise<void> {
  const layout = OciLayout.create();
  try {
    await writeSingleLayerImage(layout, 'img');
    await skopeoOk(['copy', '--quiet', '--dest-creds', adminCreds, '--dest-tls-verify=false', layout.ref('img'), `docker://${w.host}/${ref}`]);
  } finally {
    rmSync(layout.dir, { recursive: true, force: true });
  }
}

async function withPolicy(w: TestWharf, receiver: Receiver, path: string): Promise<void> {
  await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
    name: `trace-${path.slice(1)}`,
    event_types: ['PUSH_ARTIFACT'],
    targets: [{ type: 'http', address: `${receiver.url}${path}?token=${secretToken}`, auth_header: authHeader, secret: signingSecret }],
  });
}

describe('tracing', { timeout: 60_000 }, () => {
  let otlp: OtlpReceiver;
  let receiver: Receiver;

  before(async () => {
    otlp = await startOtlpReceiver();
    receiver = await startReceiver();
  });
  after(async () => {
    await receiver.close();
    await otlp.close();
  });

  for (const thread of [false, true]) {
  const where = thread ? ' (in the delivery thread)' : '';
  const repo = thread ? 'threaded' : 'traced';
  it(`follows a push from the manifest PUT through the outbox to the webhook delivery${where}`, async () => {
    otlp.spans.length = 0;
    otlp.bodies.length = 0;
    otlp.contentTypes.length = 0;
    const w = await startWharf({ overrides: { tracing: { enabled: true, endpoint: otlp.url, export_interval_ms: 100, service_name: 'wharf-test' }, webhooks: { delivery_thread: thread } } });
    let delivered;
    try {
      await withPolicy(w, receiver, `/${repo}`);
      // skopeo (a real client's push) in the main-thread case, plain /v2 calls in the other.
      if (!thread && skopeoAvailable()) await skopeoPush(w, `library/${repo}:v1`);
      else await pushSmallImage(w.url, `library/${repo}`, smallImage(`${repo}-1`), { tag: 'v1', auth: adminAuth });
      [delivered] = await receiver.waitFor(1, 20_000, `/${repo}`);
      // A scan: a job run whose calls to the (built-in) scanner adapter carry its traceparent.
      const scan = await api(w.url, 'POST', `/api/v2.0/projects/library/repositories/${repo}/artifacts/v1/scan`, { auth: adminAuth });
      assert.equal(scan.status, 202, scan.text);
      // The attempt's and the scan's spans end later; wait for them to be exported.
      await eventually(async () => otlp.spans.some((s) => s.name === 'webhook.deliver') && otlp.spans.some((s) => s.name === 'job.run' && s.attributes['wharf.job.vendor_type'] === 'IMAGE_SCAN'));
    } finally {
      await w.close();
    }
    assert.ok(delivered);
    assert.ok(otlp.contentTypes.every((c) => c.startsWith('application/json')), `OTLP/JSON: ${otlp.contentTypes.join(', ')}`);
    const byId = new Map(otlp.spans.map((s) => [s.spanId, s]));
    assert.ok(otlp.spans.every((s) => s.service === 'wharf-test'), 'service.name from the config');

    const put = otlp.spans.find((s) => s.kind === 2 && s.attributes['http.request.method'] === 'PUT' && String(s.attributes['url.path']).endsWith(`/library/${repo}/manifests/v1`));
    assert.ok(put, `a server span for the manifest PUT among ${otlp.spans.map((s) => s.name).join(', ')}`);
    assert.equal(put.attributes['http.response.status_code'], 201);
    assert.match(String(put.attributes['http.route']), /^\/v2\//);
    assert.equal(put.parentSpanId, '', 'the PUT span is a root (the client sent no traceparent)');

    // The chain: PUT -> db.transaction (wrote the outbox row) -> webhook.dispatch -> webhook.deliver.
    const dispatch = otlp.spans.find((s) => s.name === 'webhook.dispatch' && s.traceId === put.traceId);
    assert.ok(dispatch, 'a dispatch span in the PUT trace');
    assert.equal(dispatch.attributes['wharf.event.type'], 'PUSH_ARTIFACT');
    const writer = byId.get(dispatch.parentSpanId);
    assert.ok(writer, 'the dispatch span’s parent was exported');
    assert.equal(writer.name, 'db.transaction');
    assert.equal(writer.parentSpanId, put.spanId, 'the transaction is a child of the PUT span');

    const deliver = otlp.spans.find((s) => s.name === 'webhook.deliver' && s.traceId === put.traceId);
    assert.ok(deliver, 'a delivery attempt span in the PUT trace');
    assert.equal(deliver.parentSpanId, dispatch.spanId, 'the attempt is a child of the dispatch span');
    assert.equal(deliver.kind, 3, 'a CLIENT span');
    assert.equal(deliver.attributes['wharf.event.id'], dispatch.attributes['wharf.event.id']);
    assert.equal(deliver.attributes['http.response.status_code'], 200);
    assert.equal(deliver.attributes['wharf.webhook.attempt'], 1);
    assert.equal(typeof deliver.attributes['wharf.webhook.policy_id'], 'number');
    assert.equal(typeof deliver.attributes['wharf.webhook.target_id'], 'number');

    // Every transaction is a span at the driver: the scan request's (which records the scan's
    // execution) is a child of its server span, with the database named.
    const scanPost = otlp.spans.find((s) => s.kind === 2 && s.attributes['http.request.method'] === 'POST' && String(s.attributes['url.path']).endsWith('/artifacts/v1/scan'));
    assert.ok(scanPost, 'a server span for the scan request');
    const scanTx = otlp.spans.filter((s) => s.name === 'sql.transaction' && s.parentSpanId === scanPost.spanId);
    assert.ok(scanTx.length > 0, 'a transaction span under the scan request');
    assert.ok(scanTx.every((s) => s.attributes['db.system'] === (process.env.WHARF_TEST_DATABASE === 'postgres' ? 'postgresql' : 'sqlite') && s.attributes['wharf.db.outcome'] === 'commit'));

    // The consumer batch's span links the event's trace; the dispatch span links the batch.
    assert.ok(otlp.spans.some((s) => s.name === 'outbox.dispatch'), 'a consumer batch span');
    // Blob storage calls of the push are spans of their requests.
    assert.ok(otlp.spans.some((s) => s.name.startsWith('blob.') && byId.get(s.parentSpanId)?.kind === 2), 'blob storage spans under request spans');

    // The scan job's span is the parent of the adapter's server span (the built-in scanner is served by this Wharf).
    const job = otlp.spans.find((s) => s.name === 'job.run' && s.attributes['wharf.job.vendor_type'] === 'IMAGE_SCAN');
    assert.ok(job);
    assert.equal(typeof job.attributes['wharf.job.task_id'], 'number');
    const adapterCall = otlp.spans.find((s) => s.kind === 2 && String(s.attributes['url.path']).startsWith('/scanner/api/v1/scan') && s.traceId === job.traceId);
    assert.ok(adapterCall, `the adapter request continues the job's trace (${otlp.spans.filter((s) => String(s.attributes['url.path']).startsWith('/scanner')).map((s) => `${s.name} ${s.traceId}`).join(', ')})`);
    assert.equal(adapterCall.parentSpanId, job.spanId);

    // The receiver got the attempt span's context.
    const tp = header(delivered, 'traceparent');
    assert.ok(tp, 'the webhook request carries traceparent');
    assert.equal(tp, `00-${put.traceId}-${deliver.spanId}-01`);

    // Nothing secret was exported.
    const exported = otlp.bodies.join('\n');
    for (const secret of [secretToken, authHeader, 'auth-value-81d3e7', signingSecret, receiver.url]) {
      assert.ok(!exported.includes(secret), `the OTLP export holds no ${secret}`);
    }
  });
  }

  it('exports nothing and sends no traceparent when off', async () => {
    otlp.spans.length = 0;
    otlp.bodies.length = 0;
    const w = await startWharf({ overrides: { tracing: { enabled: false, endpoint: otlp.url, export_interval_ms: 100 } } });
    let delivered;
    try {
      await withPolicy(w, receiver, '/untraced');
      await pushSmallImage(w.url, 'library/untraced', smallImage('untraced-1'), { tag: 'v1', auth: adminAuth });
      [delivered] = await receiver.waitFor(1, 20_000, '/untraced');
      const events = await w.wharf.db.kysely.selectFrom('events').select(['trace_context']).execute();
      assert.ok(events.length > 0);
      assert.ok(events.every((e) => e.trace_context === null), 'outbox rows carry no trace context');
      const execs = await w.wharf.db.kysely.selectFrom('webhook_executions').select(['trace_context']).execute();
      assert.ok(execs.length > 0 && execs.every((e) => e.trace_context === null), 'deliveries carry no trace context');
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await w.close();
    }
    assert.ok(delivered);
    assert.equal(header(delivered, 'traceparent'), undefined);
    assert.equal(otlp.bodies.length, 0, 'nothing was exported');
  });
});
