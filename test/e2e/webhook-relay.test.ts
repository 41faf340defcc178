/**
 * The relay end to end, with real senders and a real receiver: seed 004's hand-written listener
 * (Harbor -> Discord) becomes one relay URL and one Discord target. A Harbor Default payload
 * posted to the relay URL over plain HTTP, and the notification envelope a real CNCF registry
 * (`docker-registry`, its notifications endpoint set to the relay URL) sends on a skopeo push,
 * each arrive at a local receiver as a Discord message.
 * Skipped when skopeo or docker-registry is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { header, jsonBody, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { skipWithoutCncf, startCncf, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { api, createPolicy, explain } from '../helpers/webhook-client.ts';
import { harborDefault } from '../fixtures/relay/samples.ts';

const skip = skipWithoutSkopeo() || skipWithoutCncf;

interface DiscordBody {
  username: string;
  embeds: Array<{ title: string; description?: string; fields: Array<{ name: string; value: string }> }>;
}

let w: TestWharf | undefined;
let rx: Receiver | undefined;
let cncf: CncfRegistry | undefined;
let layout: OciLayout | undefined;
let relayUrl = '';

/** The Discord messages whose embed title contains `text`. */
function messagesAbout(recv: Receiver, text: string): DiscordBody[] {
  return recv
    .on('/discord')
    .map((r: ReceivedRequest) => jsonBody(r) as DiscordBody) // Discord's body, asserted by the tests
    .filter((b) => b.embeds[0]?.title.includes(text));
}

before(async () => {
  if (skip) return;
  rx = await startReceiver();
  w = await startWharf();
  const p = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'fromharbor', metadata: { public: 'false' } } });
  assert.equal(p.status, 201, explain('POST', '/api/v2.0/projects', p));
  await createPolicy(w.url, adminAuth, '/api/v2.0/projects/fromharbor', { name: 'to-discord', event_types: ['PUSH_ARTIFACT', 'PULL_ARTIFACT'], targets: [{ type: 'discord', address: `${rx.url}/discord` }] });
  const r = await api(w.url, 'POST', '/api/v2.0/projects/fromharbor/webhook/relays', { auth: adminAuth, body: { name: 'secondtry' } });
  assert.equal(r.status, 201, explain('POST', 'relays', r));
  relayUrl = (r.json as { url: string }).url; // the created relay's view
  assert.match(relayUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/v2\.0\/relay\/whr_/);
});

after(async () => {
  await cncf?.remove();
  layout?.remove();
  await w?.close();
  await rx?.close();
});

test('a Harbor Default payload posted to the relay URL reaches a Discord target as a Discord message', { skip }, async () => {
  assert.ok(rx);
  const res = await fetch(relayUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Go-http-client/1.1' }, body: JSON.stringify(harborDefault.push) });
  assert.equal(res.status, 202, await res.text());
  const [got] = await rx.waitFor(1, 20_000, (r) => r.path === '/discord' && r.body.includes('library/alpine'));
  assert.ok(got);
  assert.match(header(got, 'content-type') ?? '', /^application\/json/);
  const [msg] = messagesAbout(rx, 'library/alpine:3.18');
  assert.ok(msg, 'a Discord message about library/alpine:3.18');
  assert.equal(msg.username, 'Wharf');
  const fields = new Map(msg.embeds[0]?.fields.map((f) => [f.name, f.value]));
  assert.equal(fields.get('Operator'), 'admin');
  assert.equal(fields.get('Digest'), '`sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4`');
  assert.equal(fields.get('Image'), '`harbor.example.com/library/alpine:3.18`', 'the image is named in Harbor, where it lives');
  assert.equal(msg.embeds[0]?.description, 'Relayed from Harbor harbor.example.com by relay secondtry');
});

test('a skopeo push to a real CNCF registry whose notifications go to the relay reaches the receiver', { skip }, async () => {
  assert.ok(rx);
  cncf = await startCncf({ notifyUrl: relayUrl });
  layout = OciLayout.create();
  const img = await writeSingleLayerImage(layout, 'v1');
  await skopeoOk(['copy', '--dest-tls-verify=false', layout.ref('v1'), `docker://${cncf.host}/team/relayed:v1`]);
  await rx.waitFor(1, 20_000, (r) => r.path === '/discord' && r.body.includes('team/relayed:v1'));
  const [msg] = messagesAbout(rx, 'team/relayed:v1');
  assert.ok(msg);
  assert.match(msg.embeds[0]?.title ?? '', /^Artifact pushed: /);
  const fields = new Map(msg.embeds[0]?.fields.map((f) => [f.name, f.value]));
  assert.equal(fields.get('Digest'), `\`${img.manifest.digest}\``);
  assert.equal(fields.get('Project'), 'fromharbor');
  assert.equal(fields.get('Image'), `\`${cncf.host}/team/relayed:v1\``);
  assert.equal(msg.embeds[0]?.description, `Relayed from CNCF registry ${cncf.host} by relay secondtry`);
});
