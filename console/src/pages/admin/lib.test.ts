import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  auditQuery,
  configChanges,
  dateOfExpiry,
  expiresAtOf,
  parseCveIds,
  cronProblem,
  destinationName,
  emptyPolicyForm,
  executionPercent,
  formToPolicy,
  isRunning,
  jobReportText,
  purgeEventTypes,
  purgeFormOf,
  purgeParameters,
  jobParameters,
  limitFromInput,
  limitToInput,
  passwordProblem,
  policyToForm,
  qValue,
  scheduleBody,
  scheduleOf,
  statusColor,
  type ReplicationPolicy,
} from './lib.ts';

test('auditQuery: substring on user and resource, exact operation and type, a time range', () => {
  assert.equal(auditQuery({}), '');
  assert.equal(auditQuery({ username: ' alice ', operation: 'delete' }), 'username=~alice,operation=delete');
  assert.equal(auditQuery({ resource: 'library/app', resourceType: 'artifact' }), 'resource=~library/app,resource_type=artifact');
  assert.equal(auditQuery({ from: '2026-12-06T10:00:00Z' }), 'op_time=[2026-12-06T10:00:00Z~]');
  assert.equal(auditQuery({ to: '2026-12-06T11:00:00Z' }), 'op_time=[~2026-12-06T11:00:00Z]');
});

test('qValue: values with spaces, commas or brackets are quoted', () => {
  assert.equal(qValue('abc'), 'abc');
  assert.equal(qValue('a b'), '"a b"');
  assert.equal(qValue('a,b'), '"a,b"');
  assert.equal(qValue('say "hi"'), `'say "hi"'`);
});

test('cronProblem: six fields, seconds 0', () => {
  assert.equal(cronProblem('0 0 2 * * *'), null);
  assert.match(cronProblem('0 2 * * *') ?? '', /six fields/);
  assert.match(cronProblem('5 0 2 * * *') ?? '', /seconds/);
  assert.match(cronProblem('0 0 2 * * $') ?? '', /characters/);
});

test('scheduleOf and scheduleBody: {} is None; presets keep their crons; Custom sends its cron', () => {
  assert.deepEqual(scheduleOf({}), { type: 'None', cron: '' });
  assert.deepEqual(scheduleOf(null), { type: 'None', cron: '' });
  assert.deepEqual(scheduleOf({ schedule: { type: 'Daily', cron: '0 0 0 * * *' } }), { type: 'Daily', cron: '0 0 0 * * *' });
  assert.deepEqual(scheduleOf({ schedule: { type: 'Schedule', cron: '0 5 * * * *' } }), { type: 'Custom', cron: '0 5 * * * *' });
  assert.deepEqual(scheduleBody({ type: 'Weekly', cron: 'ignored' }, { dry_run: false }), { schedule: { type: 'Weekly' }, parameters: { dry_run: false } });
  assert.deepEqual(scheduleBody({ type: 'Custom', cron: ' 0 0 3 * * * ' }), { schedule: { type: 'Custom', cron: '0 0 3 * * *' }, parameters: {} });
});

test('jobParameters: the JSON string of a run, {} for garbage', () => {
  assert.deepEqual(jobParameters('{"dry_run":true}'), { dry_run: true });
  assert.deepEqual(jobParameters('[1]'), {});
  assert.deepEqual(jobParameters('nope'), {});
  assert.deepEqual(jobParameters(null), {});
});

test('isRunning and statusColor follow the job states', () => {
  for (const s of ['Pending', 'Running', 'InProgress']) assert.equal(isRunning(s), true, s);
  for (const s of ['Success', 'Succeed', 'Error', 'Failed', 'Stopped', '', null]) assert.equal(isRunning(s), false, String(s));
  assert.equal(statusColor('Succeed'), 'success');
  assert.equal(statusColor('Failed'), 'error');
  assert.equal(statusColor('Stopped'), 'warning');
  assert.equal(statusColor('InProgress'), 'info');
  assert.equal(statusColor('whatever'), 'default');
});

test('executionPercent: finished tasks over total', () => {
  assert.equal(executionPercent({ total: 0 }), 0);
  assert.equal(executionPercent({ total: 4, succeed: 1, failed: 1 }), 50);
  assert.equal(executionPercent({ total: 3, succeed: 3 }), 100);
});

test('passwordProblem: Harbor’s rule, naming what is missing', () => {
  assert.equal(passwordProblem('Harbor12345'), null);
  assert.match(passwordProblem('Ab1') ?? '', /8 to 128/);
  assert.equal(passwordProblem('harbor12345'), 'the password needs an upper-case letter');
  assert.equal(passwordProblem('HARBORHARBOR'), 'the password needs a lower-case letter, a digit');
});

test('limitToInput and limitFromInput round-trip; -1 is unlimited', () => {
  assert.deepEqual(limitToInput(-1), { unlimited: true, value: '', unit: 'GiB' });
  assert.deepEqual(limitToInput(10 * 2 ** 30), { unlimited: false, value: '10', unit: 'GiB' });
  assert.deepEqual(limitToInput(2 ** 40), { unlimited: false, value: '1', unit: 'TiB' });
  assert.deepEqual(limitToInput(512 * 2 ** 20), { unlimited: false, value: '512', unit: 'MiB' });
  assert.equal(limitFromInput({ unlimited: true, value: '3', unit: 'GiB' }), -1);
  assert.equal(limitFromInput({ unlimited: false, value: '1.5', unit: 'GiB' }), 1.5 * 2 ** 30);
  assert.equal(typeof limitFromInput({ unlimited: false, value: '0', unit: 'GiB' }), 'string');
  assert.equal(typeof limitFromInput({ unlimited: false, value: 'x', unit: 'GiB' }), 'string');
});

test('formToPolicy: a push rule with filters, event trigger and Wharf’s event fields', () => {
  const f = { ...emptyPolicyForm(), name: ' to-dist ', registryId: '2', nameFilter: 'library/**', tagFilter: 'v*', tagDecoration: 'excludes' as const, labelFilter: 'a, b', resource: 'image' as const, destNamespace: 'mirror', flattening: '1', trigger: 'event_based' as const, eventMode: 'summary' as const, eventStatusFilter: 'failures' as const, speed: '512' };
  const body = formToPolicy(f);
  assert.equal(typeof body, 'object');
  assert.deepEqual(body, {
    name: 'to-dist',
    description: '',
    src_registry: null,
    dest_registry: { id: 2 },
    dest_namespace: 'mirror',
    dest_namespace_replace_count: 1,
    trigger: { type: 'event_based' },
    filters: [
      { type: 'name', value: 'library/**' },
      { type: 'tag', value: 'v*', decoration: 'excludes' },
      { type: 'label', value: ['a', 'b'], decoration: 'matches' },
      { type: 'resource', value: 'image' },
    ],
    deletion: false,
    override: true,
    enabled: true,
    speed: 512,
    copy_by_chunk: false,
    single_active_replication: false,
    event_mode: 'summary',
    event_status_filter: 'failures',
  });
});

test('formToPolicy: refusals before the server is asked', () => {
  assert.equal(formToPolicy({ ...emptyPolicyForm(), registryId: '1' }), 'a rule needs a name');
  assert.equal(formToPolicy({ ...emptyPolicyForm(), name: 'x' }), 'choose the destination registry');
  assert.equal(formToPolicy({ ...emptyPolicyForm(), name: 'x', mode: 'pull' }), 'choose the source registry');
  assert.match(String(formToPolicy({ ...emptyPolicyForm(), name: 'x', registryId: '1', trigger: 'scheduled', cron: '* * * *' })), /^cron:/);
  assert.match(String(formToPolicy({ ...emptyPolicyForm(), name: 'x', registryId: '1', speed: '-5' })), /speed/);
});

test('policyToForm reads a pull policy back, and formToPolicy writes the same policy', () => {
  const p: ReplicationPolicy = {
    id: 3,
    name: 'pull-it',
    src_registry: { id: 4, name: 'up', type: 'harbor', url: 'http://u', insecure: false },
    dest_registry: { id: 0, name: 'Local', type: 'harbor', url: 'http://me', insecure: false },
    dest_namespace: 'cache',
    dest_namespace_replace_count: -1,
    trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 2 * * *' } },
    filters: [{ type: 'label', value: ['x'], decoration: 'excludes' }],
    deletion: true,
    override: false,
    enabled: true,
    speed: 0,
    copy_by_chunk: true,
    event_mode: 'per_task',
    event_status_filter: 'all',
  };
  const f = policyToForm(p);
  assert.equal(f.mode, 'pull');
  assert.equal(f.registryId, '4');
  assert.equal(f.labelFilter, 'x');
  assert.equal(f.labelDecoration, 'excludes');
  assert.equal(f.trigger, 'scheduled');
  assert.equal(f.cron, '0 0 2 * * *');
  const body = formToPolicy(f) as Record<string, unknown>;
  assert.deepEqual(body.src_registry, { id: 4 });
  assert.equal(body.dest_registry, null);
  assert.deepEqual(body.trigger, { type: 'scheduled', trigger_settings: { cron: '0 0 2 * * *' } });
  assert.equal(body.deletion, true);
  assert.equal(body.override, false);
  assert.equal(body.copy_by_chunk, true);
});

test('destinationName: the preview follows the run’s flattening rule', () => {
  assert.equal(destinationName('a/b/c/img', 'n', -1), 'n/img');
  assert.equal(destinationName('a/b/c/img', 'n', 0), 'n/a/b/c/img');
  assert.equal(destinationName('a/b/c/img', 'n', 1), 'n/b/c/img');
  assert.equal(destinationName('a/b/c/img', 'n', 3), 'n/img');
  assert.equal(destinationName('a/img', 'n', 2), null);
  assert.equal(destinationName('a/img', '', 2), 'a/img');
});

test('purgeParameters: hours from days, event types only when not all, refusals', () => {
  assert.deepEqual(purgeParameters({ keep: '7', unit: 'days', types: [...purgeEventTypes], dryRun: false }), { audit_retention_hour: 168, dry_run: false });
  assert.deepEqual(purgeParameters({ keep: '5', unit: 'hours', types: ['pull_artifact', 'login_user'], dryRun: true }), { audit_retention_hour: 5, dry_run: true, include_event_types: 'pull_artifact,login_user' });
  assert.equal(typeof purgeParameters({ keep: '0', unit: 'days', types: ['pull_artifact'], dryRun: false }), 'string');
  assert.equal(typeof purgeParameters({ keep: '1.5', unit: 'days', types: ['pull_artifact'], dryRun: false }), 'string');
  assert.equal(purgeParameters({ keep: '1', unit: 'days', types: [], dryRun: false }), 'choose at least one event type');
});

test('purgeFormOf reads stored parameters back', () => {
  assert.deepEqual(purgeFormOf({ audit_retention_hour: 168, include_event_types: 'create_artifact,pull_artifact' }), { keep: '7', unit: 'days', types: ['create_artifact', 'pull_artifact'] });
  assert.deepEqual(purgeFormOf({ audit_retention_hour: 5 }), { keep: '5', unit: 'hours', types: [...purgeEventTypes] });
  assert.equal(purgeFormOf({}).keep, '30');
});

test('jobReportText: what GC and purge runs did', () => {
  const fmt = (n: number) => `${n} B`;
  assert.equal(jobReportText({ blobs_deleted: 3, bytes_freed: 300, artifacts_deleted: 1, dry_run: false }, fmt), 'deleted 3 blob(s), 300 B, 1 untagged artifact(s)');
  assert.equal(jobReportText({ blobs_deleted: 0, bytes_freed: 0, artifacts_deleted: 0, dry_run: true }, fmt), 'would delete 0 blob(s), 0 B (dry run)');
  assert.equal(jobReportText({ deleted: 4, dry_run: false }, fmt), 'deleted 4 entries');
  assert.equal(jobReportText(null, fmt), '');
});

test('configChanges: only changed, editable keys', () => {
  const stored = { notification_enable: { value: true, editable: true }, auth_mode: { value: 'db_auth', editable: false }, n: { value: 5, editable: true } };
  assert.deepEqual(configChanges(stored, { notification_enable: false, auth_mode: 'ldap', n: 5 }), { notification_enable: false });
  assert.deepEqual(configChanges(stored, {}), {});
});

test('parseCveIds, expiresAtOf and dateOfExpiry', () => {
  assert.deepEqual(parseCveIds('CVE-1\nCVE-2, CVE-1  GHSA-x'), ['CVE-1', 'CVE-2', 'GHSA-x']);
  assert.deepEqual(parseCveIds('  '), []);
  assert.equal(expiresAtOf(''), null);
  assert.equal(expiresAtOf('2027-01-01'), Date.UTC(2027, 0, 1, 23, 59, 59) / 1000);
  assert.equal(dateOfExpiry(expiresAtOf('2027-01-01')), '2027-01-01');
  assert.equal(dateOfExpiry(null), '');
});
