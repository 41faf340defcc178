import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleEvent } from './preview-service.ts';
import { eventTypes } from '../events/index.ts';
import { formatterFor, httpPayloadFormats, notifyTypes, supports } from './formats/index.ts';

const project = { id: 5, name: 'team', public: false };
const ctx = (type: string, payloadFormat: string) => ({
  externalUrl: 'https://registry.example.com',
  policy: { id: 0, name: 'preview', projectId: 5 },
  target: { type, payloadFormat, options: payloadFormat === 'Template' ? { template: '{{ event | json }}' } : {} },
});

test('sampleEvent: one sample per event type, about <project>/wharf-webhook-test', () => {
  for (const type of eventTypes) {
    const e = sampleEvent(type, project, 'alice');
    assert.equal(e.type, type);
    assert.equal(e.operator, 'alice');
    assert.match(e.id, /^[0-9a-f-]{36}$/);
    if ('repository' in e && e.repository) assert.equal(e.repository.name, 'team/wharf-webhook-test');
  }
});

test('sampleEvent: every format that supports a type renders its sample', () => {
  const targets: Array<[string, string]> = [...httpPayloadFormats.map((f): [string, string] => ['http', f]), ...notifyTypes.filter((t) => t !== 'http').map((t): [string, string] => [t, ''])];
  for (const type of eventTypes) {
    for (const [t, f] of targets) {
      if (!supports(t, f, type)) continue;
      const out = formatterFor(t, f)(sampleEvent(type, project, 'alice'), ctx(t, f));
      assert.ok(out.body.length > 0, `${t}/${f} ${type}`);
    }
  }
});
