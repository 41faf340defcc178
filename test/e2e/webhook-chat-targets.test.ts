/**
 * Teams (Workflows Adaptive Card and the legacy MessageCard), Mattermost and Google Chat targets
 * end to end: a real Wharf, a project and one policy per target made through the Harbor API, a
 * real skopeo push, and local receivers that refuse what the services refuse
 * (test/helpers/chat-receivers.ts). Each receiver must accept exactly one PUSH_ARTIFACT message
 * naming the pushed digest; each execution carries its vendor type; the policy test endpoint
 * reaches every receiver with an accepted message. Skipped when skopeo is missing, unless
 * WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf } from '../helpers/wharf.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, createPolicy, eventually, explain, type TargetInput } from '../helpers/webhook-client.ts';
import { checkGoogleChat, checkMattermost, checkTeamsMessageCard, checkTeamsWorkflow, startChatReceiver, type ChatReceiver, type ChatService } from '../helpers/chat-receivers.ts';
import { render } from '../../src/webhooks/formats/index.ts';
import { ctxFor, pushByTag, samples } from '../fixtures/payloads/sample-events.ts';

const skip = skipWithoutSkopeo();

interface Case {
  service: ChatService;
  target: (url: string) => TargetInput;
  vendorType: string;
}

const cases: Case[] = [
  { service: 'teams-workflow', target: (url) => ({ type: 'teams', address: `${url}/workflows/abc/triggers/manual/paths/invoke?sig=s3cret` }), vendorType: 'TEAMS' },
  { service: 'teams-connector', target: (url) => ({ type: 'teams', address: `${url}/webhookb2/abc/IncomingWebhook/def`, payload_format: 'MessageCard' }), vendorType: 'TEAMS' },
  { service: 'mattermost', target: (url) => ({ type: 'mattermost', address: `${url}/hooks/xyz` }), vendorType: 'MATTERMOST' },
  { service: 'googlechat', target: (url) => ({ type: 'googlechat', address: `${url}/v1/spaces/AAAA/messages?key=k&token=t` }), vendorType: 'GOOGLECHAT' },
];

/** The text of a rendered message, for finding a digest in it. */
const text = (v: unknown): string => JSON.stringify(v);

test('chat receivers refuse what the services refuse, and accept every Wharf rendering', async () => {
  // The checks have teeth: each documented requirement, broken once.
  const refused: Array<[string, () => unknown, RegExp]> = [
    ['workflow without attachments', () => checkTeamsWorkflow({ type: 'message', attachments: [] }), /attachments must not be empty/],
    ['workflow with a MessageCard', () => checkTeamsWorkflow({ '@type': 'MessageCard', summary: 's' }), /type must be "message"/],
    ['card version 1.6', () => checkTeamsWorkflow({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.6', body: [{ type: 'TextBlock', text: 'x' }] } }] }), /not supported/],
    ['TextBlock without text', () => checkTeamsWorkflow({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock' }] } }] }), /text must be a string/],
    ['MessageCard without summary or text', () => checkTeamsMessageCard({ '@type': 'MessageCard', '@context': 'http://schema.org/extensions', title: 't' }), /Summary or Text is required/],
    ['Mattermost without text or attachments', () => checkMattermost({ username: 'x' }), /No text specified/],
    ['Mattermost attachment without fallback', () => checkMattermost({ attachments: [{ title: 't' }] }), /fallback/],
    ['Chat unknown field', () => checkGoogleChat({ text: 'x', blocks: [] }), /Unknown name "blocks"/],
    ['Chat empty message', () => checkGoogleChat({ text: ' ' }), /cannot be empty/],
    ['Chat section without widgets', () => checkGoogleChat({ cardsV2: [{ cardId: 'c', card: { sections: [{ widgets: [] }] } }] }), /at least one widget/],
    ['Chat text too long', () => checkGoogleChat({ text: 'x'.repeat(4097) }), /longer than 4096/],
  ];
  for (const [name, f, re] of refused) assert.throws(f, re, name);
  assert.equal(checkMattermost({ text: 'x'.repeat(16384) }), 2, 'Mattermost splits a long text into two posts');

  // Every sample event in every new format passes the checks.
  for (const [name, e] of Object.entries(samples)) {
    assert.doesNotThrow(() => checkTeamsWorkflow(JSON.parse(render(e, ctxFor('teams', 'AdaptiveCard')).body)), name);
    assert.doesNotThrow(() => checkTeamsMessageCard(JSON.parse(render(e, ctxFor('teams', 'MessageCard')).body)), name);
    assert.equal(checkMattermost(JSON.parse(render(e, ctxFor('mattermost', '')).body)), 1, name);
    assert.equal(checkGoogleChat(JSON.parse(render(e, ctxFor('googlechat', '')).body)), 0, name);
  }

  // Over HTTP: the method, the content type and the size limit, answered as the service does.
  const rx = await startChatReceiver('teams-workflow');
  try {
    const get = await fetch(`${rx.url}/w`);
    assert.equal(get.status, 405);
    const form = await fetch(`${rx.url}/w`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'payload={}' });
    assert.equal(form.status, 415);
    const big = await fetch(`${rx.url}/w`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', pad: 'x'.repeat(30_000) }) });
    assert.equal(big.status, 413);
    const ok = await fetch(`${rx.url}/w`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: render(pushByTag, ctxFor('teams', '')).body });
    assert.equal(ok.status, 202);
    assert.equal(rx.accepted.length, 1);
    assert.equal(rx.rejected.length, 3);
  } finally {
    await rx.close();
  }
});

test('e2e: a skopeo push reaches Teams (both formats), Mattermost and Google Chat receivers, and the policy test does too', { skip, timeout: 90_000 }, async () => {
  requireSkopeo();
  const receivers = new Map<ChatService, ChatReceiver>();
  for (const c of cases) receivers.set(c.service, await startChatReceiver(c.service));
  const w = await startWharf();
  try {
    const project = 'chat';
    const created = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: project, metadata: { public: 'false' } } });
    assert.equal(created.status, 201, explain('POST', '/api/v2.0/projects', created));
    const scope = `/api/v2.0/projects/${project}`;
    const policies = new Map<ChatService, number>();
    for (const c of cases) {
      const rx = receivers.get(c.service);
      assert.ok(rx);
      policies.set(c.service, await createPolicy(w.url, adminAuth, scope, { name: c.service, event_types: ['PUSH_ARTIFACT'], targets: [c.target(rx.url)] }));
    }

    // The stored Teams targets say which format they use; the default is AdaptiveCard.
    const listed = await api(w.url, 'GET', `${scope}/webhook/policies/${String(policies.get('teams-workflow'))}`, { auth: adminAuth });
    assert.equal(listed.status, 200, explain('GET', 'policy', listed));
    assert.match(listed.text, /"payload_format":"AdaptiveCard"/);

    const layout = OciLayout.create();
    const img = await writeSingleLayerImage(layout, 'v1');
    await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('v1'), `docker://${w.host}/${project}/app:v1`]);
    const digest = img.manifest.digest;

    for (const c of cases) {
      const rx = receivers.get(c.service);
      assert.ok(rx);
      const [m] = await rx.waitForAccepted(1);
      assert.ok(m);
      assert.ok(text(m.body).includes(digest), `${c.service}: the message names the pushed digest`);
      assert.ok(text(m.body).includes(`${project}/app`), `${c.service}: the message names the repository`);
      assert.deepEqual(rx.rejected, [], `${c.service}: nothing refused`);
    }
    const g = receivers.get('googlechat');
    assert.match(g?.accepted[0]?.contentType ?? '', /^application\/json; charset=UTF-8$/i);

    // Each execution records its vendor type and succeeded (the receivers' 200/202 count as success).
    for (const c of cases) {
      const path = `${scope}/webhook/policies/${String(policies.get(c.service))}/executions`;
      const execs = await eventually(async () => {
        const a = await api(w.url, 'GET', path, { auth: adminAuth });
        assert.equal(a.status, 200, explain('GET', path, a));
        const list = Array.isArray(a.json) ? (a.json as Array<Record<string, unknown>>) : []; // a JSON array (checked)
        return list.length === 1 && list[0]?.status === 'Success' ? list : null;
      });
      const exec = execs[0];
      assert.equal(exec?.vendor_type, c.vendorType, c.service);
      assert.match(JSON.stringify(exec?.extra_attrs), /"event_type":"PUSH_ARTIFACT"/);
      // The task log names the chat kind and shows the webhook URL by its origin only (the path or query is the secret).
      const tasks = await api(w.url, 'GET', `${path}/${String(exec?.id)}/tasks`, { auth: adminAuth });
      const task = Array.isArray(tasks.json) ? (tasks.json as Array<Record<string, unknown>>)[0] : undefined; // a JSON array (checked)
      const log = await api(w.url, 'GET', `${path}/${String(exec?.id)}/tasks/${String(task?.id)}/log`, { auth: adminAuth });
      assert.equal(log.status, 200, explain('GET', 'log', log));
      assert.match(log.text, new RegExp(`\\] ${c.vendorType.toLowerCase()} task `), log.text.slice(0, 300));
      assert.ok(!/s3cret|hooks\/xyz|token=t|IncomingWebhook\/def/.test(log.text), `${c.service}: the log shows no secret part of the URL`);
    }

    // The policy test sends the sample push through the same formats; every receiver accepts it.
    for (const c of cases) {
      const rx = receivers.get(c.service);
      assert.ok(rx);
      const a = await api(w.url, 'POST', `${scope}/webhook/policies/test`, { auth: adminAuth, body: c.target(rx.url) });
      assert.equal(a.status, 200, explain('POST', 'test', a));
      assert.match(a.text, /"success":true/, `${c.service}: ${a.text}`);
      const all = await rx.waitForAccepted(2);
      assert.ok(text(all[1]?.body).includes('wharf-webhook-test'), `${c.service}: the test message is the sample push`);
      assert.deepEqual(rx.rejected, []);
    }
  } finally {
    await w.close();
    for (const rx of receivers.values()) await rx.close();
  }
});
