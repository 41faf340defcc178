/**
 * End-to-end proof of per-target TLS (issue 16): a real Wharf, real skopeo pushes and a real HTTPS
 * receiver on 127.0.0.1 whose certificate a private CA (generated here) signed. The receiver is
 * reached only once the target carries that CA (`ca_cert`), or with `skip_cert_verify`; the
 * certificate failure before that is in the delivery history. Policies are an admin's (an admin's
 * loopback target is allowed whatever `webhooks.allow_private_targets` says, and its answers are
 * recorded in full). Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { generateCa, issueServerCertificate } from '../../src/platform/index.ts';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, explain, type ApiAnswer } from '../helpers/webhook-client.ts';

const skip = skipWithoutSkopeo();
const library = '/api/v2.0/projects/library';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Got {
  path: string;
  body: string;
}

/** An HTTPS receiver on 127.0.0.1 with a certificate signed by a fresh private CA. */
async function httpsReceiver(): Promise<{ url: string; caCert: string; got: Got[]; waitFor: (path: string, n: number) => Promise<Got[]>; close: () => Promise<void> }> {
  const now = new Date();
  const ca = await generateCa('Wharf e2e webhook receiver CA', now, 1);
  const leaf = await issueServerCertificate(ca, ['127.0.0.1'], now, 1);
  const got: Got[] = [];
  const sockets = new Set<Socket>();
  const server = createHttpsServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: (req.url ?? '').split('?')[0] ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return {
    url: `https://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`,
    caCert: ca.cert,
    got,
    async waitFor(path, n) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const on = got.filter((g) => g.path === path);
        if (on.length >= n) return on;
        if (Date.now() > deadline) assert.fail(`expected ${n} deliveries on ${path}, got ${on.length}`);
        await sleep(100);
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function push(w: TestWharf, tag: string): Promise<void> {
  const layout = OciLayout.create();
  try {
    await writeSingleLayerImage(layout, tag);
    await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(tag), `docker://${w.host}/library/tls-hooks:${tag}`]);
  } finally {
    layout.remove();
  }
}

/** Calls the Harbor API as admin and checks the status. */
async function call(w: TestWharf, method: 'GET' | 'POST' | 'PUT', path: string, status: number, body?: unknown): Promise<ApiAnswer> {
  const a = await api(w.url, method, path, { auth: adminAuth, ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

const list = (a: ApiAnswer): Array<Record<string, unknown>> => (Array.isArray(a.json) ? (a.json as Array<Record<string, unknown>>) : []); // a JSON array of objects (Harbor's list)

/** Waits until the policy has `n` executions, all finished; returns them newest first. */
async function finishedExecutions(w: TestWharf, pid: number, n: number): Promise<Array<Record<string, unknown>>> {
  const path = `${library}/webhook/policies/${pid}/executions`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const execs = list(await call(w, 'GET', path, 200));
    if (execs.length >= n && execs.every((e) => e.status === 'Success' || e.status === 'Error')) return execs;
    if (Date.now() > deadline) assert.fail(`executions never finished: ${JSON.stringify(execs)}`);
    await sleep(200);
  }
}

test('e2e: an HTTPS receiver with a private CA is reached only once the target carries that CA (http and slack), or skip_cert_verify', { skip, timeout: 90_000 }, async () => {
  requireSkopeo();
  const recv = await httpsReceiver();
  // One attempt per delivery: a certificate failure is final at once.
  const w = await startWharf({ overrides: { webhooks: { retry_schedule: [0] } } });
  try {
    // The test endpoint: refused without the CA, reached with it, or with verification off.
    // Every target type, as Wharf lists them (`notify_type` of the supported events).
    const notifyTypes = ((await call(w, 'GET', `${library}/webhook/events`, 200)).json as { notify_type: string[] }).notify_type;
    assert.ok(notifyTypes.includes('slack') && notifyTypes.length >= 3, notifyTypes.join());
    const testPath = `${library}/webhook/policies/test`;
    const probe = `${recv.url}/probe`;
    const refused = await call(w, 'POST', testPath, 200, { type: 'http', address: probe });
    assert.equal((refused.json as { success?: unknown }).success, false, refused.text); // Wharf's TestResultView
    assert.match(refused.text, /certificate/i);
    const withCa = await call(w, 'POST', testPath, 200, { type: 'http', address: probe, ca_cert: recv.caCert });
    assert.equal((withCa.json as { success?: unknown }).success, true, withCa.text);
    const other = await generateCa('not the receiver CA', new Date(), 1);
    const wrong = await call(w, 'POST', testPath, 200, { type: 'slack', address: probe, ca_cert: other.cert });
    assert.equal((wrong.json as { success?: unknown }).success, false, wrong.text);
    // Every target type: refused without the CA, reached with it; skip_cert_verify reaches it
    // whatever CA is set (the CA is ignored then).
    for (const type of notifyTypes) {
      const strict = await call(w, 'POST', testPath, 200, { type, address: probe });
      assert.equal((strict.json as { success?: unknown }).success, false, `${type}: ${strict.text}`);
      const trusting = await call(w, 'POST', testPath, 200, { type, address: probe, ca_cert: recv.caCert });
      assert.equal((trusting.json as { success?: unknown }).success, true, `${type}: ${trusting.text}`);
      const lax = await call(w, 'POST', testPath, 200, { type, address: probe, skip_cert_verify: true, ca_cert: other.cert });
      assert.equal((lax.json as { success?: unknown }).success, true, `${type}: ${lax.text}`);
    }
    // Not a certificate: Harbor's error format with a clear message.
    const bad = await call(w, 'POST', testPath, 400, { type: 'http', address: probe, ca_cert: other.key });
    assert.equal((bad.json as { errors?: Array<{ code?: string; message?: string }> }).errors?.[0]?.code, 'BAD_REQUEST', bad.text);
    assert.match(bad.text, /ca_cert holds a private key/);

    // A policy without the CA: the push's delivery fails on the certificate.
    const created = await call(w, 'POST', `${library}/webhook/policies`, 201, {
      name: 'private-ca',
      enabled: true,
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/hook`, payload_format: 'Default' }],
    });
    const pid = Number(String(created.headers.location).split('/').pop());
    const policyPath = `${library}/webhook/policies/${pid}`;
    await push(w, 'v1');
    const [failed] = await finishedExecutions(w, pid, 1);
    assert.ok(failed);
    assert.equal(failed.status, 'Error', JSON.stringify(failed));
    const tasks = list(await call(w, 'GET', `${policyPath}/executions/${String(failed.id)}/tasks`, 200));
    assert.match(String(tasks[0]?.status_message), /certificate/i, JSON.stringify(tasks));
    const log = await call(w, 'GET', `${policyPath}/executions/${String(failed.id)}/tasks/${String(tasks[0]?.id)}/log`, 200);
    assert.match(log.text, /certificate/i, 'the attempt in the task log names the certificate failure');
    assert.equal(recv.got.length, 1 + 2 * notifyTypes.length, 'only the test sends that trusted the receiver arrived');

    // The policy updated with the CA (and a slack target with it too): redelivery and a new push arrive.
    const view = (await call(w, 'GET', policyPath, 200)).json as { targets: Array<Record<string, unknown>> };
    assert.equal(view.targets[0]?.ca_cert, undefined, 'no CA shown before one is set');
    const target0 = { ...view.targets[0], ca_cert: recv.caCert };
    await call(w, 'PUT', policyPath, 200, { ...view, targets: [target0, { type: 'slack', address: `${recv.url}/slack`, ca_cert: recv.caCert }] });
    const updated = (await call(w, 'GET', policyPath, 200)).json as { targets: Array<Record<string, unknown>> };
    assert.equal(updated.targets[0]?.ca_cert, recv.caCert, 'a CA is shown in views (it is not a secret)');
    assert.equal(updated.targets[1]?.ca_cert, recv.caCert);
    await call(w, 'POST', `${policyPath}/executions/${String(failed.id)}/redeliver`, 201);
    await recv.waitFor('/hook', 1);
    await push(w, 'v2');
    const hooks = await recv.waitFor('/hook', 2);
    const slack = await recv.waitFor('/slack', 1);
    assert.match(hooks[1]?.body ?? '', /"PUSH_ARTIFACT"/);
    assert.match(hooks[1]?.body ?? '', /tls-hooks/);
    assert.match(slack[0]?.body ?? '', /tls-hooks/, 'the slack message names the repository');

    // An update that leaves ca_cert out keeps it (a Harbor client knows no such field); null removes it.
    const kept = updated.targets.map(({ ca_cert: _ca, ...t }) => t);
    await call(w, 'PUT', policyPath, 200, { ...updated, targets: kept });
    const after = (await call(w, 'GET', policyPath, 200)).json as { targets: Array<Record<string, unknown>> };
    assert.equal(after.targets[0]?.ca_cert, recv.caCert, 'an omitted ca_cert keeps the stored CA');
    await call(w, 'PUT', policyPath, 200, { ...after, targets: after.targets.map((t, i) => (i === 0 ? { ...t, ca_cert: null } : t)) });
    const cleared = (await call(w, 'GET', policyPath, 200)).json as { targets: Array<Record<string, unknown>> };
    assert.equal(cleared.targets[0]?.ca_cert, undefined, 'null removes the CA');
    assert.equal(cleared.targets[1]?.ca_cert, recv.caCert);
  } finally {
    await w.close();
    await recv.close();
  }
});
