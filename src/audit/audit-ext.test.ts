import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditExtView, operationDescription } from './audit-ext.ts';

const d = (operation: string, resource_type: string, resource: string) => operationDescription({ operation, resource_type, resource });

test("operationDescription follows Harbor's texts", () => {
  assert.equal(d('create', 'artifact', 'p/app@sha256:ab'), 'push artifact: p/app@sha256:ab');
  assert.equal(d('delete', 'artifact', 'p/app@sha256:ab'), 'delete artifact: p/app@sha256:ab');
  assert.equal(d('delete', 'tag', 'p/app:v1'), 'delete tag: p/app:v1');
  assert.equal(d('delete', 'repository', 'p/app'), 'delete repository: p/app');
  assert.equal(d('update', 'project', 'p'), 'update project: p');
  assert.equal(d('delete', 'robot', 'robot$p+ci'), 'delete robot: robot$p+ci');
  assert.equal(d('delete', 'member', 'p/alice'), 'delete member alice from project p');
  assert.equal(d('update', 'member', 'p/alice'), 'update member alice in project p');
  assert.equal(d('login', 'user', 'alice'), 'login');
  assert.equal(d('create', 'user', 'alice'), 'create user with name: alice');
  assert.equal(d('update', 'quota', 'p'), 'update quota with name: p');
  assert.equal(d('update', 'configuration', 'configuration'), 'update configuration');
});

test('auditExtView maps result and time', () => {
  const v = auditExtView({ id: 3, project_id: null, username: 'u', operation: 'login', resource_type: 'user', resource: 'u', result: 'failure', op_time: 0, event_id: null });
  assert.deepEqual(v, { id: 3, username: 'u', resource: 'u', resource_type: 'user', operation: 'login', operation_description: 'login', operation_result: false, op_time: '1970-01-01T00:00:00.000Z' });
});
