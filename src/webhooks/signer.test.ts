import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { buildHeaders, hubSignature, parseCustomHeaders, redacted, standardWebhooksKey, type SigningTarget } from './signer.ts';

const body = '{"type":"PUSH_ARTIFACT","occur_at":1}';
const eventId = '0b0c8f9e-2f6a-4c3e-9d0e-5d2b7f1c1a11';

function target(over: Partial<SigningTarget> = {}): SigningTarget {
  return { type: 'http', auth_header: '', secret: '', headers: '{}', options: '{}', ...over };
}

function build(t: SigningTarget, now = new Date()) {
  return buildHeaders({ target: t, eventId, eventType: 'PUSH_ARTIFACT', delivery: '42', body, formatHeaders: { 'Content-Type': 'application/json' }, now });
}

test('every delivery carries Wharf headers, the auth header and custom headers; the history copy hides secrets', () => {
  const { headers, redacted: r } = build(target({ auth_header: 'Bearer abc', headers: JSON.stringify({ 'X-Team': 'ops', 'X-Api-Key': 'k1', 'X-Plain': { value: 'v' }, 'Content-Type': 'text/evil', 'bad name': 'x' }) }));
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(headers['user-agent'], 'Wharf-Webhook/0.1.0');
  assert.equal(headers['x-wharf-event-id'], eventId);
  assert.equal(headers['x-wharf-event-type'], 'PUSH_ARTIFACT');
  assert.equal(headers['x-wharf-delivery'], '42');
  assert.equal(headers['authorization'], 'Bearer abc');
  assert.equal(headers['x-team'], 'ops');
  assert.equal(headers['x-api-key'], 'k1');
  assert.equal(headers['x-plain'], 'v');
  assert.equal(headers['bad name'], undefined);
  assert.equal(headers['webhook-signature'], undefined, 'no secret, no signature');
  // Redacted copy for the history.
  assert.equal(r['authorization'], redacted);
  assert.equal(r['x-api-key'], redacted);
  assert.equal(r['x-plain'], redacted);
  assert.equal(r['x-team'], redacted, 'custom header values are write-only: never in the history');
  assert.equal(r['x-wharf-event-id'], eventId);
});

test('slack targets never get an Authorization header from auth_header', () => {
  assert.equal(build(target({ type: 'slack', auth_header: 'x' })).headers['authorization'], undefined);
});

test('Standard Webhooks signature verifies with the standardwebhooks library (whsec_ secret)', () => {
  const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
  const { headers, redacted: r } = build(target({ secret }));
  assert.equal(headers['webhook-id'], eventId);
  assert.match(headers['webhook-signature'] ?? '', /^v1,[A-Za-z0-9+/=]+$/);
  assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  assert.equal(r['webhook-signature'], redacted);
  assert.throws(() => new Webhook(secret).verify(body + ' ', headers), /No matching signature/);
});

test('a raw secret is used as its UTF-8 bytes, as documented', () => {
  const secret = 'plain secret ü';
  const { headers } = build(target({ secret }));
  assert.doesNotThrow(() => new Webhook(new TextEncoder().encode(secret), { format: 'raw' }).verify(body, headers));
  assert.doesNotThrow(() => new Webhook('whsec_' + Buffer.from(secret, 'utf8').toString('base64')).verify(body, headers));
  // The signed content is id.timestamp.body, by hand:
  const ts = headers['webhook-timestamp'] ?? '';
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${eventId}.${ts}.${body}`).digest('base64');
  assert.equal(headers['webhook-signature'], `v1,${expected}`);
});

test('the Standard Webhooks test vector', () => {
  const key = standardWebhooksKey('whsec_plJ3nmyCDGBKInavdOK15jsl');
  const sig = new Webhook(key, { format: 'raw' }).sign('msg_loFOjxBNrRLzqYUf', new Date(1731705121 * 1000), '{"event_type":"ping","data":{"success":true}}');
  assert.equal(sig, 'v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=');
});

test('GitHub / Flux style HMAC headers when asked for', () => {
  const secret = 'It\'s a Secret to Everybody';
  assert.equal(hubSignature(secret, 'Hello, World!'), 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  const { headers, redacted: r } = build(target({ secret, options: JSON.stringify({ signature_style: ['github'] }) }));
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  assert.equal(headers['x-hub-signature-256'], `sha256=${hex}`);
  assert.equal(headers['x-signature'], `sha256=${hex}`);
  assert.equal(r['x-hub-signature-256'], redacted);
  assert.equal(r['x-signature'], redacted);
  const other = build(target({ secret, options: JSON.stringify({ signature_style: 'hmac-sha256' }) })).headers;
  assert.equal(other['x-signature'], `sha256=${hex}`);
  assert.equal(build(target({ secret })).headers['x-hub-signature-256'], undefined);
});

test('a malformed whsec_ secret is refused', () => {
  assert.throws(() => standardWebhooksKey('whsec_not base64!'), /base64/);
});

test('parseCustomHeaders tolerates junk', () => {
  assert.deepEqual(parseCustomHeaders('not json'), []);
  assert.deepEqual(parseCustomHeaders('[1,2]'), []);
  assert.deepEqual(parseCustomHeaders(JSON.stringify({ 'X-A': 1, 'X-B': 'a\r\nb', 'X-Wharf-Event-Id': 'spoof' })), []);
});
