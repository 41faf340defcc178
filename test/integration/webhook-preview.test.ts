/**
 * Template targets and the preview endpoint (Wharf extensions) over real HTTP against a real
 * Wharf: templates checked when a policy is saved (Harbor's error format, the Liquid line), shown
 * in views, rendered by the dispatcher (a render failure is an Error execution), and
 * `POST /projects/{p}/webhook/preview` / `/system/webhook/preview` for samples of every event type
 * and stored events, for every format, with the policy-management permission.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { apiCaller, show, type ApiAnswer } from '../helpers/webhook-client.ts';
import { Authenticator } from '../../src/auth/index.ts';
import { Outbox, eventTypes } from '../../src/events/index.ts';

let w: TestWharf;
const call = apiCaller(() => w.url, adminAuth);
const devAuth = 'Basic ' + Buffer.from('dev:Dev12345!').toString('base64');
const lib = '/api/v2.0/projects/library/webhook';
const sys = '/api/v2.0/system/webhook';

function assertError(a: ApiAnswer, status: number, code: string, message: RegExp): void {
  assert.equal(a.status, status, show(a));
  const e = (a.json as { errors?: Array<{ code: string; message: string }> }).errors?.[0];
  assert.ok(e, show(a));
  assert.equal(e.code, code, show(a));
  assert.match(e.message, message);
}

const customJson = '{"text": {{ event.title | append: " " | append: event.image | json }}, "type": {{ event.type | json }}, "project": {{ event.project.name | json }}, "harbor_type": {{ payload.type | json }}, "policy": {{ policy.name | json }}}';
const templateTarget = (template: string, extra: Record<string, unknown> = {}) => ({ type: 'http', address: 'http://127.0.0.1:9/hook', payload_format: 'Template', template, ...extra });

before(async () => {
  w = await startWharf({ overrides: { webhooks: { retry_schedule: [0, 0.2], allow_private_targets: true } } });
  const now = Date.now();
  await w.wharf.db.kysely
    .insertInto('users')
    .values({ username: 'dev', password_hash: await Authenticator.hashPassword('Dev12345!'), email: '', realname: '', comment: '', sysadmin: 0, disabled: 0, creation_time: now, update_time: now })
    .execute();
  assert.equal((await call('POST', '/api/v2.0/projects', { body: { project_name: 'other', metadata: { public: 'false' } } })).status, 201);
});

after(async () => {
  await w?.close();
});

async function appendPush(projectName: string, tag: string): Promise<string> {
  const p = await w.wharf.db.kysely.selectFrom('projects').selectAll().where('name', '=', projectName).executeTakeFirstOrThrow();
  const e = await new Outbox().append(w.wharf.db.kysely, {
    type: 'PUSH_ARTIFACT',
    operator: 'admin',
    project: { id: p.id, name: p.name, public: p.public === 1 },
    repository: { id: 1, name: `${projectName}/app`, creationTime: Date.now() },
    artifact: { digest: `sha256:${'b'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 10, tag, tags: [tag], artifactType: null },
  });
  return e.id;
}

describe('template targets in policies', () => {
  it('checks the template when the policy is saved and shows it back', async () => {
    const policy = (target: Record<string, unknown>) => ({ name: 'tpl', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [target] });
    assertError(await call('POST', `${lib}/policies`, { body: policy(templateTarget('{\n{% if event.tag %}')) }), 400, 'BAD_REQUEST', /targets\[0\]\.template: invalid template: .*not closed, line:2/);
    assertError(await call('POST', `${lib}/policies`, { body: policy(templateTarget('{% include "/etc/passwd" %}')) }), 400, 'BAD_REQUEST', /include tag is not available/);
    assertError(await call('POST', `${lib}/policies`, { body: policy(templateTarget('{{ event | shell }}')) }), 400, 'BAD_REQUEST', /undefined filter: shell/);
    assertError(await call('POST', `${lib}/policies`, { body: policy(templateTarget('x'.repeat(65 * 1024))) }), 400, 'BAD_REQUEST', /longer than 65536/);
    assertError(await call('POST', `${lib}/policies`, { body: policy({ ...templateTarget(''), template: undefined }) }), 400, 'BAD_REQUEST', /template is required/);
    assertError(await call('POST', `${lib}/policies`, { body: policy({ type: 'http', address: 'http://127.0.0.1:9/x', template: '{}' }) }), 400, 'BAD_REQUEST', /apply only to the Template payload format/);
    assertError(await call('POST', `${lib}/policies`, { body: policy(templateTarget('{}', { template_content_type: 'not a type' })) }), 400, 'BAD_REQUEST', /template_content_type must be a media type/);
    const created = await call('POST', `${lib}/policies`, { body: policy(templateTarget(customJson, { template_content_type: 'application/vnd.example+json' })) });
    assert.equal(created.status, 201, show(created));
    const id = String(created.headers.location).split('/').pop();
    const got = await call('GET', `${lib}/policies/${id}`);
    const t = (got.json as { targets: Array<Record<string, unknown>> }).targets[0];
    assert.equal(t?.payload_format, 'Template');
    assert.equal(t?.template, customJson);
    assert.equal(t?.template_content_type, 'application/vnd.example+json');
    // The view sent back as it is (Harbor's full replace) keeps the template.
    const put = await call('PUT', `${lib}/policies/${id}`, { body: got.json });
    assert.equal(put.status, 200, show(put));
    assert.equal((await call('DELETE', `${lib}/policies/${id}`)).status, 200);
  });

  it('a template that fails at render time gives an Error execution with the reason', async () => {
    const body = { name: 'tpl-bad', enabled: true, event_types: ['PUSH_ARTIFACT'], repo_filters: ['library/app'], targets: [templateTarget('{"who": {{ event.operator }}}')] };
    const created = await call('POST', `${lib}/policies`, { body });
    assert.equal(created.status, 201, show(created));
    const id = String(created.headers.location).split('/').pop();
    await appendPush('library', 'v1');
    const deadline = Date.now() + 15_000;
    let list: Array<Record<string, unknown>> = [];
    while (Date.now() < deadline) {
      list = (await call('GET', `${lib}/policies/${id}/executions`)).json as Array<Record<string, unknown>>;
      if (list.length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0]?.status, 'Error');
    assert.match(String(list[0]?.status_message), /could not render the payload: the template's output is not valid JSON/);
    assert.equal((await call('DELETE', `${lib}/policies/${id}`)).status, 200);
  });
});

describe('POST /webhook/preview', () => {
  it('renders a sample of every event type through a template, without sending', async () => {
    for (const type of eventTypes) {
      const a = await call('POST', `${lib}/preview`, { body: { target: templateTarget(customJson), event_type: type } });
      assert.equal(a.status, 200, `${type}: ${show(a)}`);
      const r = a.json as { content_type: string; headers: Record<string, string>; body: string };
      assert.equal(r.content_type, 'application/json');
      assert.deepEqual(r.headers, { 'Content-Type': 'application/json' });
      const out = JSON.parse(r.body) as Record<string, unknown>;
      assert.equal(out.type, type);
      assert.equal(out.harbor_type, type);
      assert.equal(out.project, 'library');
      assert.equal(out.policy, 'preview');
    }
  });

  it('works for every format, not only templates', async () => {
    const push = await call('POST', `${lib}/preview`, { body: { target: { type: 'http', address: 'http://x/', payload_format: 'Default' }, event_type: 'PUSH_ARTIFACT' } });
    assert.equal(push.status, 200, show(push));
    const d = JSON.parse((push.json as { body: string }).body) as { type: string; operator: string; event_data: { repository: { repo_full_name: string } } };
    assert.equal(d.type, 'PUSH_ARTIFACT');
    assert.equal(d.operator, 'admin');
    assert.equal(d.event_data.repository.repo_full_name, 'library/wharf-webhook-test');
    const ce = await call('POST', `${lib}/preview`, { body: { target: { type: 'http', address: 'http://x/', payload_format: 'CloudEvents', cloudevents_mode: 'binary' }, event_type: 'DELETE_ARTIFACT' } });
    assert.equal(ce.status, 200, show(ce));
    assert.ok(Object.keys((ce.json as { headers: Record<string, string> }).headers).some((k) => k.startsWith('ce-')), show(ce));
    const slack = await call('POST', `${lib}/preview`, { body: { target: { type: 'slack', address: 'https://hooks.slack.com/services/T/B/<redacted>' }, event_type: 'SCANNING_COMPLETED' } });
    assert.equal(slack.status, 200, show(slack));
    assert.ok(Array.isArray((JSON.parse((slack.json as { body: string }).body) as { blocks?: unknown[] }).blocks));
    // A target copied from a view (redacted address and header values) previews as it is.
    const copied = await call('POST', `${lib}/preview`, { body: { target: { type: 'http', address: 'https://u:<redacted>@h.example/x', headers: { 'X-Key': '<redacted>' }, secret_set: true }, event_type: 'PUSH_ARTIFACT' } });
    assert.equal(copied.status, 200, show(copied));
  });

  it('renders a stored event of the project by its id; other projects\' events are 404', async () => {
    const mine = await appendPush('library', 'stored-tag');
    const theirs = await appendPush('other', 'x');
    const a = await call('POST', `${lib}/preview`, { body: { target: templateTarget('{{ event.id }} {{ event.tag }} {{ event.image }}', { template_content_type: 'text/plain' }), event_id: mine } });
    assert.equal(a.status, 200, show(a));
    assert.equal((a.json as { body: string }).body, `${mine} stored-tag ${w.host}/library/app:stored-tag`);
    assert.equal((a.json as { content_type: string }).content_type, 'text/plain');
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{}'), event_id: theirs } }), 404, 'NOT_FOUND', /not found/);
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{}'), event_id: 'nope' } }), 404, 'NOT_FOUND', /event nope not found/);
    // The system scope (admins) sees every event.
    const s = await call('POST', `${sys}/preview`, { body: { target: templateTarget('{{ event.project.name | json }}'), event_id: theirs } });
    assert.equal(s.status, 200, show(s));
    assert.equal((s.json as { body: string }).body, '"other"');
  });

  it('answers 400 for a bad template, a render error, a bad body, and 403 without the permission', async () => {
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{% for x in %}'), event_type: 'PUSH_ARTIFACT' } }), 400, 'BAD_REQUEST', /invalid template/);
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{"a": {{ event.operator }}}'), event_type: 'PUSH_ARTIFACT' } }), 400, 'BAD_REQUEST', /not valid JSON/);
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}'), event_type: 'PUSH_ARTIFACT' } }), 400, 'BAD_REQUEST', /limit exceeded/);
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{}'), event_type: 'NOPE' } }), 400, 'BAD_REQUEST', /unsupported event type NOPE/);
    assertError(await call('POST', `${lib}/preview`, { body: { target: templateTarget('{}') } }), 400, 'BAD_REQUEST', /exactly one of event_type and event_id/);
    assertError(await call('POST', `${lib}/preview`, { body: { event_type: 'PUSH_ARTIFACT' } }), 400, 'BAD_REQUEST', /target must be a target object/);
    assertError(await call('POST', `${lib}/preview`, { body: { target: { type: 'http', address: 'http://x/', payload_format: 'Distribution' }, event_type: 'QUOTA_EXCEED' } }), 400, 'BAD_REQUEST', /no rendering of QUOTA_EXCEED/);
    assertError(await call('POST', `${lib}/preview`, { auth: devAuth, body: { target: templateTarget('{}'), event_type: 'PUSH_ARTIFACT' } }), 403, 'FORBIDDEN', /./);
    assertError(await call('POST', `${sys}/preview`, { auth: devAuth, body: { target: templateTarget('{}'), event_type: 'PUSH_ARTIFACT' } }), 403, 'FORBIDDEN', /./);
    assert.equal((await call('POST', `${lib}/preview`, { auth: null, body: { target: templateTarget('{}'), event_type: 'PUSH_ARTIFACT' } })).status, 401);
  });
});
