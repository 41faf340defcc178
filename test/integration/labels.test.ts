/**
 * Labels over real HTTP (src/projects/labels.ts): global and project label CRUD with Harbor's
 * messages and permissions, adding labels to artifacts and removing them, `labels` in artifact
 * reads (with_label), the `q=labels=(1 2)` filter, cleanup on label and artifact deletes, and the
 * ARTIFACT_LABELED outbox event, plus its delivery to a webhook policy subscribed to it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, createPolicy, eventually, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import { jsonBody, startReceiver, type Receiver } from '../helpers/receiver.ts';
import type { LabelView } from '../../src/projects/index.ts';

let w: TestWharf;
let rx: Receiver;
const password = 'Passw0rdLabels';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');
/** Role ids of Harbor: 1 project admin, 2 developer, 3 guest, 4 maintainer. */
const members = { 'l-padmin': 1, 'l-dev': 2, 'l-guest': 3, 'l-maint': 4 } as const;
let projectId = 0;
let otherProjectId = 0;
let digestA = '';
let digestB = '';

/** Harbor's Label object, as the API answers it. */
type LabelBody = LabelView;

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function ok(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

/** The first error message of a Harbor error body. */
function message(a: ApiAnswer): string {
  return shape<{ errors: Array<{ message: string }> }>(a.json).errors[0]?.message ?? '';
}

async function createLabel(body: Record<string, unknown>, auth = adminAuth): Promise<number> {
  const a = await ok('POST', '/labels', 201, body, auth);
  const loc = String(a.headers.location);
  assert.match(loc, /^\/api\/v2\.0\/labels\/\d+$/);
  return Number(loc.split('/').pop());
}

function names(a: ApiAnswer): string[] {
  return shape<LabelBody[]>(a.json).map((l) => l.name);
}

before(async () => {
  rx = await startReceiver();
  w = await startWharf();
  const p = await ok('POST', '/projects', 201, { project_name: 'lab', metadata: { public: 'false' } });
  projectId = Number(String(p.headers.location).split('/').pop());
  const o = await ok('POST', '/projects', 201, { project_name: 'lab-other', metadata: { public: 'false' } });
  otherProjectId = Number(String(o.headers.location).split('/').pop());
  for (const [username, role] of Object.entries(members)) {
    await ok('POST', '/users', 201, { username, password, email: `${username}@example.com`, realname: username });
    await ok('POST', '/projects/lab/members', 201, { role_id: role, member_user: { username } });
  }
  await ok('POST', '/users', 201, { username: 'l-outsider', password, email: 'l-outsider@example.com', realname: 'o' });
  digestA = await pushSmallImage(w.url, 'lab/app', smallImage('label-a'), { tag: 'a', auth: adminAuth });
  digestB = await pushSmallImage(w.url, 'lab/app', smallImage('label-b'), { tag: 'b', auth: adminAuth });
});

after(async () => {
  await w.close();
  await rx.close();
});

describe('label CRUD', () => {
  it('creates, reads, lists, updates and deletes global and project labels with Harbor’s messages', async () => {
    const g = await createLabel({ name: 'prod-approved', description: 'QA passed', color: '#61717D', scope: 'g', project_id: 99 });
    const got = shape<LabelBody>((await ok('GET', `/labels/${g}`, 200)).json);
    assert.deepEqual({ ...got, creation_time: '', update_time: '' }, { id: g, name: 'prod-approved', description: 'QA passed', color: '#61717D', scope: 'g', project_id: 0, creation_time: '', update_time: '' });
    assert.match(got.creation_time, /^\d{4}-\d\d-\d\dT/);

    const dup = await ok('POST', '/labels', 409, { name: 'prod-approved', scope: 'g' });
    assert.equal(message(dup), 'label prod-approved already exists');
    // The same name in a project scope is another label.
    const p = await createLabel({ name: 'prod-approved', scope: 'p', project_id: projectId });
    assert.equal(message(await ok('POST', '/labels', 400, { name: 'x', scope: 'z' })), 'unsupported label scope');
    assert.equal(message(await ok('POST', '/labels', 400, { name: 'x', scope: 'p' })), 'must with project ID when to create project labels');
    assert.equal(message(await ok('POST', '/labels', 404, { name: 'x', scope: 'p', project_id: 987654 })), 'project 987654 not found');

    assert.equal(message(await ok('GET', '/labels', 400)), 'invalid scope: ');
    assert.equal(message(await ok('GET', '/labels?scope=p', 400)), 'must with project ID when to query project labels');
    await createLabel({ name: 'beta', scope: 'g' });
    await createLabel({ name: 'gamma', scope: 'g' });
    const all = await ok('GET', '/labels?scope=g', 200);
    assert.deepEqual(names(all), ['prod-approved', 'beta', 'gamma']);
    assert.equal(all.headers['x-total-count'], '3');
    assert.deepEqual(names(await ok('GET', '/labels?scope=g&name=amm', 200)), ['gamma']);
    assert.deepEqual(names(await ok('GET', '/labels?scope=g&sort=-name&page_size=2', 200)), ['prod-approved', 'gamma']);
    assert.deepEqual(names(await ok('GET', `/labels?scope=g&q=${encodeURIComponent('name=~et')}`, 200)), ['beta']);
    assert.deepEqual(names(await ok('GET', `/labels?scope=p&project_id=${projectId}`, 200)), ['prod-approved']);
    assert.deepEqual(names(await ok('GET', `/labels?scope=p&project_id=${otherProjectId}`, 200)), []);

    await ok('PUT', `/labels/${p}`, 200, { name: 'renamed', color: '#000000', scope: 'g', project_id: 5 });
    const changed = shape<LabelBody>((await ok('GET', `/labels/${p}`, 200)).json);
    assert.deepEqual([changed.name, changed.color, changed.description, changed.scope, changed.project_id], ['renamed', '#000000', '', 'p', projectId]);
    const beta = shape<LabelBody[]>((await ok('GET', '/labels?scope=g&name=beta', 200)).json)[0];
    assert.ok(beta);
    assert.equal(message(await ok('PUT', `/labels/${beta.id}`, 409, { name: 'gamma' })), 'label gamma already exists');
    assert.equal(message(await ok('PUT', `/labels/${beta.id}`, 400, { name: 'x'.repeat(129) })), 'label name is too long: at most 128 characters');
    await ok('DELETE', `/labels/${beta.id}`, 200);
    assert.equal(message(await ok('GET', `/labels/${beta.id}`, 404)), `label ${beta.id} not found`);
    assert.equal(message(await ok('DELETE', `/labels/${beta.id}`, 404)), `label ${beta.id} not found`);
  });

  it('global labels are the system admin’s; project labels its admins’ and maintainers’', async () => {
    await ok('POST', '/labels', 403, { name: 'by-padmin', scope: 'g' }, basic('l-padmin'));
    const byAdmin = await createLabel({ name: 'by-padmin', scope: 'p', project_id: projectId }, basic('l-padmin'));
    const byMaint = await createLabel({ name: 'by-maint', scope: 'p', project_id: projectId }, basic('l-maint'));
    await ok('POST', '/labels', 403, { name: 'by-dev', scope: 'p', project_id: projectId }, basic('l-dev'));
    await ok('PUT', `/labels/${byMaint}`, 403, { name: 'nope' }, basic('l-dev'));
    await ok('DELETE', `/labels/${byAdmin}`, 403, undefined, basic('l-guest'));
    await ok('POST', '/labels', 403, { name: 'by-outsider', scope: 'p', project_id: projectId }, basic('l-outsider'));
    // Reading: members down to guests; a non-member is refused; anonymous is asked to log in.
    assert.deepEqual(names(await ok('GET', `/labels?scope=p&project_id=${projectId}&name=by-`, 200, undefined, basic('l-guest'))), ['by-padmin', 'by-maint']);
    await ok('GET', `/labels/${byMaint}`, 403, undefined, basic('l-outsider'));
    const anon = await api(w.url, 'GET', `/api/v2.0/labels?scope=p&project_id=${projectId}`);
    assert.equal(anon.status, 401, explain('GET', 'anonymous', anon));
    await ok('PUT', `/labels/${byMaint}`, 200, { description: 'by a maintainer' }, basic('l-maint'));
    await ok('DELETE', `/labels/${byAdmin}`, 200, undefined, basic('l-maint'));
    await ok('DELETE', `/labels/${byMaint}`, 200, undefined, basic('l-padmin'));
  });

  it('deleting a project deletes its labels', async () => {
    const made = await ok('POST', '/projects', 201, { project_name: 'lab-gone' });
    const id = Number(String(made.headers.location).split('/').pop());
    const l = await createLabel({ name: 'short-lived', scope: 'p', project_id: id });
    const kept = await createLabel({ name: 'short-lived', scope: 'p', project_id: projectId });
    await ok('DELETE', '/projects/lab-gone', 200);
    assert.equal(message(await ok('GET', `/labels/${l}`, 404)), `label ${l} not found`);
    await ok('GET', `/labels/${kept}`, 200);
    await ok('DELETE', `/labels/${kept}`, 200);
  });
});

describe('labels on artifacts', () => {
  it('adds and removes labels, shows them with with_label, filters with q=labels=(…), and sends ARTIFACT_LABELED', async () => {
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/lab', { name: 'labels', event_types: ['ARTIFACT_LABELED'], targets: [{ type: 'http', address: rx.url + '/labels' }] });
    const g = await createLabel({ name: 'g-one', scope: 'g' });
    const p = await createLabel({ name: 'p-one', scope: 'p', project_id: projectId });
    const foreign = await createLabel({ name: 'elsewhere', scope: 'p', project_id: otherProjectId });
    const arts = '/projects/lab/repositories/app/artifacts';

    await ok('POST', `${arts}/a/labels`, 200, { id: g }, basic('l-dev'));
    await ok('POST', `${arts}/${digestA}/labels`, 200, { id: p });
    await ok('POST', `${arts}/b/labels`, 200, { id: g });
    assert.equal(message(await ok('POST', `${arts}/a/labels`, 409, { id: g })), `label ${g} is already added to the artifact ${await artifactId('a')}`);
    assert.equal(message(await ok('POST', `${arts}/a/labels`, 404, { id: foreign })), `project id ${projectId}, label ${foreign} not found`);
    assert.equal(message(await ok('POST', `${arts}/a/labels`, 404, { id: 999999 })), 'label 999999 not found');
    await ok('POST', `${arts}/a/labels`, 403, { id: p }, basic('l-guest'));

    const a = shape<{ labels: LabelBody[] | null }>((await ok('GET', `${arts}/a?with_label=true`, 200)).json);
    assert.deepEqual(a.labels?.map((l) => [l.id, l.name, l.scope]), [[g, 'g-one', 'g'], [p, 'p-one', 'p']]);
    assert.equal(shape<{ labels: unknown }>((await ok('GET', `${arts}/a`, 200)).json).labels, undefined, 'left out, not null');

    const q = (s: string) => `${arts}?with_label=true&q=${encodeURIComponent(s)}`;
    const digests = (r: ApiAnswer) => shape<Array<{ digest: string }>>(r.json).map((x) => x.digest);
    assert.deepEqual(digests(await ok('GET', q(`labels=(${g})`), 200)).sort(), [digestA, digestB].sort());
    assert.deepEqual(digests(await ok('GET', q(`labels=(${g} ${p})`), 200)), [digestA]);
    assert.deepEqual(digests(await ok('GET', q(`labels=(${p}),tags=b`), 200)), []);
    const bad = 'the value of "labels" query can only be integer list with intersetion relationship';
    for (const s of [`labels=${g}`, `labels={${g} ${p}}`, 'labels=(x)']) assert.equal(message(await ok('GET', q(s), 400)), bad, s);

    // ARTIFACT_LABELED: in the outbox for each add, delivered to the subscribed policy.
    const rows = await w.wharf.db.kysely.selectFrom('events').select(['operator', 'project_id', 'data']).where('type', '=', 'ARTIFACT_LABELED').orderBy('seq').execute();
    assert.equal(rows.length, 3);
    const first = shape<{ operator: string; label: unknown; artifact: { digest: string; tag: string | null; tags: string[] }; repository: { name: string } }>(JSON.parse(rows[0]?.data ?? '{}'));
    assert.deepEqual([rows[0]?.operator, rows[0]?.project_id, first.label, first.artifact.digest, first.artifact.tag, first.artifact.tags, first.repository.name], ['l-dev', projectId, { id: g, name: 'g-one', scope: 'g' }, digestA, 'a', ['a'], 'lab/app']);
    const delivered = await eventually(async () => (rx.requests.filter((r) => r.path === '/labels').length === 3 ? rx.requests.filter((r) => r.path === '/labels') : null));
    const body = shape<{ type: string; operator: string; event_data: { label: unknown; resources: Array<{ digest: string; tag: string }> } }>(jsonBody(delivered[0]!));
    assert.deepEqual([body.type, body.operator, body.event_data.label, body.event_data.resources[0]?.digest, body.event_data.resources[0]?.tag], ['ARTIFACT_LABELED', 'l-dev', { id: g, name: 'g-one', scope: 'g' }, digestA, 'a']);

    // Removing.
    await ok('DELETE', `${arts}/a/labels/${p}`, 200, undefined, basic('l-dev'));
    assert.equal(message(await ok('DELETE', `${arts}/a/labels/${p}`, 404)), `reference with label ${p} and artifact ${await artifactId('a')} not found`);
    assert.deepEqual(digests(await ok('GET', q(`labels=(${g} ${p})`), 200)), []);

    // Deleting a label removes it from artifacts; deleting an artifact removes its links.
    await ok('DELETE', `/labels/${g}`, 200);
    assert.deepEqual(shape<{ labels: LabelBody[] }>((await ok('GET', `${arts}/b?with_label=true`, 200)).json).labels, []);
    await ok('POST', `${arts}/b/labels`, 200, { id: p });
    const bId = await artifactId('b');
    await ok('DELETE', `${arts}/b`, 200);
    const left = await w.wharf.db.kysely.selectFrom('artifact_labels').select('label_id').where('artifact_id', '=', bId).execute();
    assert.deepEqual(left, []);
  });
});

async function artifactId(reference: string): Promise<number> {
  return shape<{ id: number }>((await ok('GET', `/projects/lab/repositories/app/artifacts/${reference}`, 200)).json).id;
}
