/** The task log rendered from stored rows: secrets redacted, an admin-approved private target's answers hidden. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WebhookAttemptRow, WebhookExecutionRow, WebhookTaskRow } from '../db/index.ts';
import { renderTaskLog } from './task-log.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const execution: WebhookExecutionRow = {
  id: 3, policy_id: 1, target_id: 2, event_seq: 9, event_id: 'ev-1', event_type: 'PUSH_ARTIFACT', vendor_type: 'WEBHOOK',
  status: 'Error', status_message: 'x', trigger: 'EVENT', payload: '{}', headers: null, start_time: t0, end_time: t0 + 100, trace_context: null,
};
const task: WebhookTaskRow = {
  id: 4, execution_id: 3, status: 'Error', status_message: 'attempt 1 of 1 failed: HTTP 500; no attempts left', run_count: 1,
  next_attempt_at: null, lease_until: null, lease_owner: null, creation_time: t0, start_time: t0, update_time: t0 + 50, end_time: t0 + 50,
};
const attempt: WebhookAttemptRow = {
  id: 5, task_id: 4, attempt: 1, started_at: t0 + 10, duration_ms: 20, url: 'http://10.0.0.5/hook',
  request_headers: JSON.stringify({ 'content-type': 'application/json', authorization: 'Bearer S', 'X-Key': 'K' }),
  request_body: '{"a":1}\n{"b":2}', response_status: 500, response_headers: JSON.stringify({ server: 'nginx' }), response_body: 'port 8080 says no', error: null,
};

test('one block per attempt; sensitive and custom header values redacted; the end line with the message', () => {
  const log = renderTaskLog({ task, execution, attempts: [attempt], targetHeaders: JSON.stringify({ 'x-key': 'K' }), hide: false });
  assert.equal(
    log,
    [
      '2026-01-01T00:00:00.000Z [INFO] webhook task 4 of execution 3: event PUSH_ARTIFACT (ev-1), trigger EVENT',
      '2026-01-01T00:00:00.010Z [INFO] attempt 1: POST http://10.0.0.5/hook',
      '  request headers:',
      '    content-type: application/json',
      '    authorization: <redacted>',
      '    X-Key: <redacted>',
      '  request body:',
      '    {"a":1}',
      '    {"b":2}',
      '2026-01-01T00:00:00.030Z [ERROR] attempt 1: response 500 after 20 ms',
      '  response headers:',
      '    server: nginx',
      '  response body (excerpt):',
      '    port 8080 says no',
      '2026-01-01T00:00:00.050Z [ERROR] webhook task finished: Error: attempt 1 of 1 failed: HTTP 500; no attempts left',
      '',
    ].join('\n'),
  );
});

test('hidden details: no response headers or body, no final message', () => {
  const log = renderTaskLog({ task, execution, attempts: [attempt], targetHeaders: undefined, hide: true });
  assert.doesNotMatch(log, /nginx|port 8080|HTTP 500/);
  assert.match(log, /response headers and body: hidden \(a private target approved by a system admin/);
  assert.match(log, /\[ERROR\] webhook task finished: Error\n$/);
});

test('no attempt yet, and the next attempt due', () => {
  const pending = { ...task, status: 'Running', end_time: null, next_attempt_at: t0 + 60_000 };
  const log = renderTaskLog({ task: pending, execution: { ...execution, vendor_type: 'SLACK' }, attempts: [], targetHeaders: undefined, hide: false });
  assert.equal(log, '2026-01-01T00:00:00.000Z [INFO] slack task 4 of execution 3: event PUSH_ARTIFACT (ev-1), trigger EVENT\n2026-01-01T00:00:00.050Z [INFO] no attempt yet\n2026-01-01T00:00:00.050Z [INFO] status Running; next attempt due at 2026-01-01T00:01:00.000Z\n');
});
