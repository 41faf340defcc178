import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReplicationPolicy, policyText, policyView, readPolicy, replicationMode, type ReplicationPolicySpec } from './policy.ts';

/** Harbor's example body (harbor-lifecycle.md §4.3), with Wharf's two fields. */
const body = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 3,
  name: 'push-to-dist',
  description: '',
  src_registry: null,
  dest_registry: { id: 2 },
  dest_namespace: 'mirror',
  dest_namespace_replace_count: 1,
  trigger: { type: 'event_based', trigger_settings: { cron: '' } },
  filters: [
    { type: 'name', value: 'library/**' },
    { type: 'tag', value: 'v*', decoration: 'matches' },
    { type: 'label', value: ['prod-approved'], decoration: 'matches' },
    { type: 'resource', value: 'image' },
  ],
  deletion: true,
  override: true,
  enabled: true,
  speed: 0,
  copy_by_chunk: false,
  single_active_replication: false,
  ...over,
});

const spec = (over: Partial<ReplicationPolicySpec> = {}): ReplicationPolicySpec => ({
  name: 'push-to-dist',
  description: '',
  srcRegistryId: 0,
  destRegistryId: 2,
  destNamespace: 'mirror',
  destNamespaceReplaceCount: 1,
  trigger: { type: 'event_based', cron: '' },
  filters: [
    { type: 'name', value: 'library/**' },
    { type: 'tag', value: 'v*', decoration: 'matches' },
    { type: 'label', value: ['prod-approved'], decoration: 'matches' },
    { type: 'resource', value: 'image' },
  ],
  deletion: true,
  override: true,
  enabled: true,
  speed: 0,
  copyByChunk: false,
  singleActiveReplication: false,
  eventMode: 'per_task',
  eventStatusFilter: 'all',
  ...over,
});

const parse = (b: unknown, update = false) => parseReplicationPolicy(b, { update });
const bad = (b: unknown, message: string, update = false) => assert.throws(() => parse(b, update), { code: 'BAD_REQUEST', message }, message);

test('parseReplicationPolicy: Harbor’s example body, and the defaults of a minimal one', () => {
  assert.deepEqual(parse(body()), spec());
  assert.deepEqual(parse(body(), true), spec());
  assert.deepEqual(parse({ name: 'p', dest_registry: { id: 7 } }), {
    name: 'p',
    description: '',
    srcRegistryId: 0,
    destRegistryId: 7,
    destNamespace: '',
    destNamespaceReplaceCount: -1,
    trigger: { type: 'manual', cron: '' },
    filters: [],
    deletion: false,
    override: false,
    enabled: false,
    speed: 0,
    copyByChunk: false,
    singleActiveReplication: false,
    eventMode: 'per_task',
    eventStatusFilter: 'all',
  });
  // Every field set the other way, in pull mode; nulls read as absent.
  assert.deepEqual(
    parse(
      body({
        description: 'nightly',
        src_registry: { id: 4, name: 'dist', url: 'http://x' },
        dest_registry: { id: 0, name: 'Local' },
        dest_namespace: 'a/b-c',
        dest_namespace_replace_count: -1,
        trigger: { type: 'scheduled', trigger_settings: { cron: '0 30 2 * * *' } },
        filters: null,
        deletion: false,
        replicate_deletion: null,
        override: false,
        enabled: false,
        speed: 1024,
        copy_by_chunk: true,
        single_active_replication: true,
        event_mode: 'summary',
        event_status_filter: 'failures',
      }),
    ),
    spec({
      description: 'nightly',
      srcRegistryId: 4,
      destRegistryId: 0,
      destNamespace: 'a/b-c',
      destNamespaceReplaceCount: -1,
      trigger: { type: 'scheduled', cron: '0 30 2 * * *' },
      filters: [],
      deletion: false,
      override: false,
      enabled: false,
      speed: 1024,
      copyByChunk: true,
      singleActiveReplication: true,
      eventMode: 'summary',
      eventStatusFilter: 'failures',
    }),
  );
});

test('parseReplicationPolicy: direction from the registries; exactly one is local', () => {
  const ids = (b: Record<string, unknown>) => {
    const s = parse(body({ ...b, trigger: null }));
    return [s.srcRegistryId, s.destRegistryId, replicationMode(s)];
  };
  assert.deepEqual(ids({ src_registry: null, dest_registry: { id: 2 } }), [0, 2, 'push']);
  assert.deepEqual(ids({ src_registry: undefined, dest_registry: { id: 2 } }), [0, 2, 'push']);
  assert.deepEqual(ids({ src_registry: { id: 0 }, dest_registry: { id: 2 } }), [0, 2, 'push']);
  assert.deepEqual(ids({ src_registry: {}, dest_registry: { id: 2 } }), [0, 2, 'push']);
  assert.deepEqual(ids({ src_registry: { id: 5 }, dest_registry: null }), [5, 0, 'pull']);
  assert.deepEqual(ids({ src_registry: { id: 5 }, dest_registry: { id: 0 } }), [5, 0, 'pull']);
  const both = "either src_registry or dest_registry should be empty and the other one shouldn't be empty";
  bad(body({ src_registry: null, dest_registry: null }), both);
  bad(body({ src_registry: { id: 0 }, dest_registry: {} }), both);
  bad(body({ src_registry: { id: 2 }, dest_registry: { id: 3 } }), both);
  bad(body({ src_registry: { id: 2 }, dest_registry: { id: 2 } }), both);
  bad(body({ src_registry: 2 }), 'src_registry must be an object: {"id":<registry id>}');
  bad(body({ dest_registry: [2] }), 'dest_registry must be an object: {"id":<registry id>}');
  for (const id of [-1, 1.5, '2', true]) {
    bad(body({ dest_registry: { id } }), 'dest_registry.id must be a registry id (an integer, 0 for the local registry)');
    bad(body({ src_registry: { id }, dest_registry: null }), 'src_registry.id must be a registry id (an integer, 0 for the local registry)');
  }
});

test('parseReplicationPolicy: the body, name and description', () => {
  for (const b of [null, [], 'policy', 3]) {
    bad(b, 'the request body must be a ReplicationPolicy object');
    bad(b, 'the request body of a policy update must be a ReplicationPolicy object', true);
  }
  for (const n of [undefined, null, '', '   ']) bad(body({ name: n }), 'empty name');
  for (const n of [5, ['a'], { n: 'a' }]) bad(body({ name: n }), 'name must be a string');
  assert.equal(parse(body({ name: 'x'.repeat(256) })).name, 'x'.repeat(256));
  assert.equal(parse(body({ name: 'Nightly mirror — prod ✓' })).name, 'Nightly mirror — prod ✓');
  bad(body({ name: 'x'.repeat(257) }), 'name is longer than 256 characters');
  for (const n of ['a\nb', 'a\tb', 'a\u0000', 'a\u007f']) bad(body({ name: n }), 'name must not contain control characters');
  bad(body({ description: 1 }), 'description must be a string');
  assert.equal(parse(body({ description: null })).description, '');
});

test('parseReplicationPolicy: filters, with Harbor’s messages prefixed by the filter’s place', () => {
  const f = (...list: unknown[]) => body({ filters: list });
  bad(body({ filters: {} }), 'filters must be an array');
  bad(body({ filters: 'library/**' }), 'filters must be an array');
  bad(body({ filters: Array.from({ length: 33 }, () => ({ type: 'name', value: 'a/*' })) }), 'filters: at most 32 filters');
  assert.equal(parse(body({ filters: Array.from({ length: 32 }, () => ({ type: 'name', value: 'a/*' })) })).filters.length, 32);
  bad(f('library/**'), 'filters[0] must be an object: {"type":"name|tag|label|resource","value":...}');
  bad(f({ type: 'name', value: 'a' }, null), 'filters[1] must be an object: {"type":"name|tag|label|resource","value":...}');
  for (const type of ['regex', 'Name', undefined, 3]) bad(f({ type, value: 'x' }), 'filters[0]: invalid filter type');
  for (const [type, value] of [['name', 5], ['tag', null], ['tag', undefined], ['resource', ['image']]]) {
    bad(f({ type, value }), "filters[0]: the type of filter value isn't string");
  }
  bad(f({ type: 'resource', value: 'chart' }), 'filters[0]: invalid resource filter: chart');
  bad(f({ type: 'resource', value: 'Image' }), 'filters[0]: invalid resource filter: Image');
  bad(f({ type: 'name', value: 'a/*', decoration: 'matches' }), 'filters[0]: only tag and label filter support decoration');
  bad(f({ type: 'resource', value: 'image', decoration: 'excludes' }), 'filters[0]: only tag and label filter support decoration');
  bad(f({ type: 'tag', value: 'v*', decoration: 'include' }), 'filters[0]: invalid filter decoration, :include');
  bad(f({ type: 'label', value: ['a'], decoration: 'Matches' }), 'filters[0]: invalid filter decoration, :Matches');
  bad(f({ type: 'tag', value: 'v*', decoration: 1 }), 'filters[0].decoration must be a string');
  for (const value of ['prod', [1], ['a', null], null, { a: 1 }]) {
    bad(f({ type: 'label', value }), "filters[0]: the type of label filter value isn't string slice");
  }
  bad(f({ type: 'label', value: Array.from({ length: 33 }, (_, i) => `l${i}`) }), 'filters[0].value: at most 32 label names');
  bad(f({ type: 'label', value: ['ok', ''] }), 'filters[0].value[1] must be a label name of 1 to 128 characters');
  bad(f({ type: 'label', value: ['x'.repeat(129)] }), 'filters[0].value[0] must be a label name of 1 to 128 characters');
  bad(f({ type: 'name', value: 'x'.repeat(257) }), 'filters[0].value is longer than 256 characters');
  bad(f({ type: 'name', value: 'a/*' }, { type: 'tag', value: '[z-a]' }), 'filters[1].value is not a valid glob: range z-a is out of order');
  const alternatives = `{${Array.from({ length: 33 }, (_, i) => `v${i}`).join(',')}}`;
  bad(f({ type: 'tag', value: alternatives }), 'filters[0].value has more than 32 {a,b} alternatives');
  // Decorations default to matches and are stored explicitly; empty patterns and lists are kept.
  assert.deepEqual(
    parse(
      f(
        { type: 'tag', value: 'v*' },
        { type: 'tag', value: 'latest', decoration: 'excludes' },
        { type: 'label', value: [], decoration: '' },
        { type: 'label', value: ['a', 'b'], decoration: 'excludes' },
        { type: 'name', value: '', decoration: null },
        { type: 'resource', value: 'artifact' },
        { type: 'name', value: '{a/b,c/d}' },
      ),
    ).filters,
    [
      { type: 'tag', value: 'v*', decoration: 'matches' },
      { type: 'tag', value: 'latest', decoration: 'excludes' },
      { type: 'label', value: [], decoration: 'matches' },
      { type: 'label', value: ['a', 'b'], decoration: 'excludes' },
      { type: 'name', value: '' },
      { type: 'resource', value: 'artifact' },
      { type: 'name', value: '{a/b,c/d}' },
    ],
  );
});

test('parseReplicationPolicy: dest_namespace and dest_namespace_replace_count', () => {
  for (const ns of ['mirror', 'a/b', 'team-1/x.y/z_z', 'a'.repeat(255)]) assert.equal(parse(body({ dest_namespace: ns })).destNamespace, ns);
  assert.equal(parse(body({ dest_namespace: null })).destNamespace, '');
  for (const ns of ['Mirror', 'a//b', '/a', 'a/', 'a b', '-a', 'a--b/', 'a'.repeat(256), 'ä']) {
    bad(body({ dest_namespace: ns }), `invalid destination namespace: ${ns}`);
  }
  bad(body({ dest_namespace: 3 }), 'dest_namespace must be a string');
  for (const n of [-1, 0, 1, 2, 3]) assert.equal(parse(body({ dest_namespace_replace_count: n })).destNamespaceReplaceCount, n);
  assert.equal(parse(body({ dest_namespace_replace_count: null })).destNamespaceReplaceCount, -1);
  assert.equal(parse(body({ dest_namespace_replace_count: undefined })).destNamespaceReplaceCount, -1);
  for (const n of [-2, 4, 1.5, '1', true]) {
    bad(
      body({ dest_namespace_replace_count: n }),
      'dest_namespace_replace_count must be an integer from -1 to 3 (-1: only the last path component follows dest_namespace; 0 to 3: that many leading components are replaced)',
    );
  }
});

test('parseReplicationPolicy: triggers and the cron of a scheduled one', () => {
  const t = (trigger: unknown) => parse(body({ trigger, single_active_replication: false })).trigger;
  assert.deepEqual(t(null), { type: 'manual', cron: '' });
  assert.deepEqual(t({ type: 'manual' }), { type: 'manual', cron: '' });
  // Another type’s cron is dropped.
  assert.deepEqual(t({ type: 'event_based', trigger_settings: { cron: '0 0 * * * *' } }), { type: 'event_based', cron: '' });
  assert.deepEqual(t({ type: 'manual', trigger_settings: null }), { type: 'manual', cron: '' });
  assert.deepEqual(t({ type: 'scheduled', trigger_settings: { cron: '0 0 0 * * 0' } }), { type: 'scheduled', cron: '0 0 0 * * 0' });
  assert.deepEqual(t({ type: 'scheduled', trigger_settings: { cron: '  0 15  */2 * * *\t' } }), { type: 'scheduled', cron: '  0 15  */2 * * *\t' });
  bad(body({ trigger: 'manual' }), 'trigger must be an object: {"type":"manual|scheduled|event_based","trigger_settings":{"cron":"..."}}');
  for (const type of [undefined, '', 'Manual', 'cron', 5]) bad(body({ trigger: { type } }), 'invalid trigger type');
  bad(body({ trigger: { type: 'scheduled', trigger_settings: '0 0 0 * * *' } }), 'trigger.trigger_settings must be an object: {"cron":"..."}');
  bad(body({ trigger: { type: 'scheduled', trigger_settings: { cron: 5 } } }), 'trigger.trigger_settings.cron must be a string');
  for (const settings of [undefined, null, {}, { cron: '' }, { cron: null }]) {
    bad(body({ trigger: { type: 'scheduled', trigger_settings: settings } }), 'the cron string cannot be empty when the trigger type is scheduled');
  }
  for (const cron of ['0 0 * * *', '0 0 0 * * * *', '   ', '@daily']) bad(body({ trigger: { type: 'scheduled', trigger_settings: { cron } } }), `invalid cron string for scheduled trigger: ${cron}`);
  for (const cron of ['5 0 0 * * *', '* 0 0 * * *', '00 0 0 * * *', '*/10 0 0 * * *']) {
    bad(body({ trigger: { type: 'scheduled', trigger_settings: { cron } } }), 'the 1st field (indicating Seconds of time) of the cron setting must be 0');
  }
  bad(body({ trigger: { type: 'scheduled', trigger_settings: { cron: '0 * 0 * * *' } } }), '* is not allowed for the Minutes field of the cron setting of replication policy');
  assert.deepEqual(t({ type: 'scheduled', trigger_settings: { cron: '0 */5 * * * *' } }), { type: 'scheduled', cron: '0 */5 * * * *' });
});

test('parseReplicationPolicy: booleans, deletion, speed, Wharf’s event fields and single_active_replication', () => {
  for (const field of ['deletion', 'replicate_deletion', 'override', 'enabled', 'copy_by_chunk', 'single_active_replication']) {
    for (const v of ['true', 1, {}]) bad(body({ [field]: v }), `${field} must be true or false`);
  }
  const del = (deletion: unknown, replicate: unknown) => parse(body({ deletion, replicate_deletion: replicate })).deletion;
  assert.deepEqual([del(true, undefined), del(undefined, true), del(false, true), del(true, false), del(false, false), del(undefined, undefined)], [true, true, true, true, false, false]);
  const speed = (v: unknown) => parse(body({ speed: v })).speed;
  assert.deepEqual([speed(-1), speed(0), speed(null), speed(undefined), speed(1), speed(2147483647)], [0, 0, 0, 0, 1, 2147483647]);
  for (const v of [-2, 1.5, '10', 2147483648, true]) bad(body({ speed: v }), 'speed must be an integer from -1 to 2147483647 (KB/s per task; 0 or -1: unlimited)');
  for (const v of ['PER_TASK', 'execution', 1]) bad(body({ event_mode: v }), 'event_mode must be "per_task" or "summary"');
  for (const v of ['failed', 'none', false]) bad(body({ event_status_filter: v }), 'event_status_filter must be "all" or "failures"');
  bad(
    body({ single_active_replication: true }),
    'single_active_replication cannot be used with an event_based trigger: each event starts its own execution',
  );
  assert.equal(parse(body({ single_active_replication: true, trigger: { type: 'manual' } })).singleActiveReplication, true);
});

test('policyText and readPolicy: fixed key order, and a round trip', () => {
  const s = spec({ description: 'd', trigger: { type: 'scheduled', cron: '0 0 0 * * *' }, eventMode: 'summary', eventStatusFilter: 'failures' });
  const text = policyText(s);
  assert.equal(
    text,
    '{"name":"push-to-dist","description":"d","src_registry":null,"dest_registry":{"id":2},"dest_namespace":"mirror","dest_namespace_replace_count":1,' +
      '"trigger":{"type":"scheduled","trigger_settings":{"cron":"0 0 0 * * *"}},' +
      '"filters":[{"type":"name","value":"library/**"},{"type":"tag","value":"v*","decoration":"matches"},{"type":"label","value":["prod-approved"],"decoration":"matches"},{"type":"resource","value":"image"}],' +
      '"deletion":true,"override":true,"enabled":true,"speed":0,"copy_by_chunk":false,"single_active_replication":false,"event_mode":"summary","event_status_filter":"failures"}',
  );
  assert.deepEqual(readPolicy(text), s);
  const pull = spec({ srcRegistryId: 9, destRegistryId: 0, filters: [], trigger: { type: 'manual', cron: '' } });
  assert.ok(policyText(pull).startsWith('{"name":"push-to-dist","description":"","src_registry":{"id":9},"dest_registry":null,"dest_namespace":"mirror",'));
  assert.deepEqual(readPolicy(policyText(pull)), pull);
  // A body parsed then stored reads back the same spec.
  assert.deepEqual(readPolicy(policyText(parse(body({ speed: -1, filters: [{ type: 'tag', value: 'x' }] })))), parse(body({ speed: -1, filters: [{ type: 'tag', value: 'x' }] })));
  assert.throws(() => readPolicy('{not json'), { code: 'BAD_REQUEST', message: 'a stored replication policy must be JSON' });
  assert.throws(() => readPolicy('[]'), { code: 'BAD_REQUEST', message: 'the request body must be a ReplicationPolicy object' });
});

test('policyView: Harbor’s wire shape with both registries, deletion twice, and Wharf’s fields', () => {
  const local = { id: 0, name: 'Local', type: 'harbor' };
  const dist = { id: 2, name: 'dist-local', type: 'docker-registry' };
  const view = policyView(3, spec(), { srcRegistry: local, destRegistry: dist, creationMs: Date.UTC(2026, 7, 21, 6), updateMs: Date.UTC(2026, 7, 21, 6, 0, 1, 250) });
  assert.deepEqual(view, {
    id: 3,
    name: 'push-to-dist',
    description: '',
    src_registry: local,
    dest_registry: dist,
    dest_namespace: 'mirror',
    dest_namespace_replace_count: 1,
    trigger: { type: 'event_based', trigger_settings: { cron: '' } },
    filters: [
      { type: 'name', value: 'library/**' },
      { type: 'tag', value: 'v*', decoration: 'matches' },
      { type: 'label', value: ['prod-approved'], decoration: 'matches' },
      { type: 'resource', value: 'image' },
    ],
    replicate_deletion: true,
    deletion: true,
    override: true,
    enabled: true,
    creation_time: '2026-08-21T06:00:00.000Z',
    update_time: '2026-08-21T06:00:01.250Z',
    speed: 0,
    copy_by_chunk: false,
    single_active_replication: false,
    event_mode: 'per_task',
    event_status_filter: 'all',
  });
  assert.deepEqual(Object.keys(view), [
    'id', 'name', 'description', 'src_registry', 'dest_registry', 'dest_namespace', 'dest_namespace_replace_count', 'trigger', 'filters',
    'replicate_deletion', 'deletion', 'override', 'enabled', 'creation_time', 'update_time', 'speed', 'copy_by_chunk',
    'single_active_replication', 'event_mode', 'event_status_filter',
  ]);
});
