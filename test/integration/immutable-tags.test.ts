/**
 * Tag immutability over real HTTP: Harbor's /projects/{p}/immutabletagrules (who may, body rules
 * and messages, duplicates, PUT's toggle-only rule, delete), enforcement on every path with
 * Harbor's 412 code and messages (manifest PUT over an existing tag even with the same digest, tag
 * delete through the API and /v2, artifact delete through the API and /v2, repository delete, an
 * API tag create over an immutable tag), and `immutable` on tags in artifact and tag listings.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { error, ok } from '../helpers/answers.ts';

let tw: TestWharf;
const devAuth = 'Basic ' + Buffer.from('imm-dev:DevPass123').toString('base64');
const maintAuth = 'Basic ' + Buffer.from('imm-maint:DevPass123').toString('base64');

const api = (path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}) => {
  const headers = new Headers({ 'x-is-resource-name': 'true' });
  const auth = init.auth === undefined ? adminAuth : init.auth;
  if (auth) headers.set('authorization', auth);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${tw.url}/api/v2.0${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
};

/** /v2 errors carry a detail too: code and message are what clients show. */
async function v2Error(r: Response, status: number, code: string, message: string): Promise<void> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  const body = JSON.parse(text) as { errors: Array<{ code: string; message: string }> };
  assert.equal(body.errors.length, 1, text);
  assert.deepEqual([body.errors[0]?.code, body.errors[0]?.message], [code, message]);
}

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const ociManifest = 'application/vnd.oci.image.manifest.v1+json';

async function pushBlob(repo: string, data: Buffer): Promise<string> {
  const r = await fetch(`${tw.url}/v2/${repo}/blobs/uploads/?digest=${sha(data)}`, { method: 'POST', headers: { authorization: adminAuth, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
  assert.equal(r.status, 201, await r.text());
  return sha(data);
}

/** A one-layer image's manifest bytes (blobs pushed). */
async function image(repo: string): Promise<Buffer> {
  const layer = randomBytes(64);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
  const m = {
    schemaVersion: 2,
    mediaType: ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await pushBlob(repo, config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: await pushBlob(repo, layer), size: layer.length }],
  };
  return Buffer.from(JSON.stringify(m));
}

const putManifest = (repo: string, ref: string, bytes: Buffer) =>
  fetch(`${tw.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { authorization: adminAuth, 'content-type': ociManifest }, body: new Uint8Array(bytes) });

const rule = (tag: string, repo = '**', tagDecoration = 'matches', repoDecoration = 'repoMatches') => ({
  disabled: false,
  action: 'immutable',
  template: 'immutable_template',
  tag_selectors: [{ kind: 'doublestar', decoration: tagDecoration, pattern: tag }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: repoDecoration, pattern: repo }] },
});

async function createRule(project: string, body: unknown): Promise<number> {
  const r = await api(`/projects/${project}/immutabletagrules`, { method: 'POST', body });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  const loc = r.headers.get('location') ?? '';
  const m = new RegExp(`^/api/v2\\.0/projects/${project}/immutabletagrules/([0-9]+)$`).exec(loc);
  assert.ok(m, loc);
  return Number(m[1]);
}

interface RuleJson {
  id: number;
  project_id: number;
  disabled: boolean;
  priority: number;
  action: string;
  template: string;
  tag_selectors: Array<{ kind: string; decoration: string; pattern: string }>;
  scope_selectors: { repository: Array<{ kind: string; decoration: string; pattern: string }> };
}

describe('tag immutability', () => {
  let projectId = 0;
  before(async () => {
    tw = await startWharf();
    for (const u of ['imm-dev', 'imm-maint']) {
      await ok(await api('/users', { method: 'POST', body: { username: u, email: `${u}@example.com`, realname: u, password: 'DevPass123' } }), 201);
    }
    await ok(await api('/projects', { method: 'POST', body: { project_name: 'imm', metadata: { public: 'false' } } }), 201);
    await ok(await api('/projects/imm/members', { method: 'POST', body: { role_id: 4, member_user: { username: 'imm-maint' } } }), 201);
    await ok(await api('/projects/imm/members', { method: 'POST', body: { role_id: 2, member_user: { username: 'imm-dev' } } }), 201);
    projectId = (await ok<{ project_id: number }>(await api('/projects/imm'))).project_id;
    for (const p of ['immv', 'imme', 'immx']) await ok(await api('/projects', { method: 'POST', body: { project_name: p, metadata: { public: 'false' } } }), 201);
  });
  after(async () => tw?.close());

  test('CRUD: who may, Harbor’s shape, duplicates, PUT and DELETE', async () => {
    assert.deepEqual(await ok(await api('/projects/imm/immutabletagrules')), []);
    await error(await api('/projects/imm/immutabletagrules', { auth: devAuth }), 403, 'FORBIDDEN', 'imm-dev is not allowed to list-immutable-rules on project imm');
    await error(await api('/projects/imm/immutabletagrules', { method: 'POST', auth: devAuth, body: rule('x') }), 403, 'FORBIDDEN', 'imm-dev is not allowed to manage-immutable-rules on project imm');
    await error(await api('/projects/imm/immutabletagrules', { method: 'POST', auth: null, body: rule('x') }), 401, 'UNAUTHORIZED', 'authentication required to POST /api/v2.0/projects/imm/immutabletagrules');
    await error(await api('/projects/nope/immutabletagrules'), 404, 'NOT_FOUND', 'project nope not found');

    // A maintainer creates; `disabled` is forced false on create, as Harbor.
    const r = await api('/projects/imm/immutabletagrules', { method: 'POST', auth: maintAuth, body: { ...rule('rc-*'), disabled: true } });
    assert.equal(r.status, 201, await r.text());
    const id = Number((r.headers.get('location') ?? '').split('/').pop());
    const listed = await api('/projects/imm/immutabletagrules', { auth: maintAuth });
    assert.equal(listed.headers.get('x-total-count'), '1');
    assert.deepEqual(await ok<RuleJson[]>(listed), [
      {
        id,
        project_id: projectId,
        disabled: false,
        priority: 0,
        action: 'immutable',
        template: 'immutable_template',
        params: {},
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'rc-*' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
      },
    ]);
    await error(await api('/projects/imm/immutabletagrules', { method: 'POST', body: rule('rc-*') }), 409, 'CONFLICT', 'immutable rule already exists');
    // q and sort as on Harbor's other lists: a second rule, newest first with sort=-id, one by q=id=N, both enabled.
    const second = await api('/projects/imm/immutabletagrules', { method: 'POST', body: rule('v-*') });
    assert.equal(second.status, 201, await second.text());
    const id2 = Number((second.headers.get('location') ?? '').split('/').pop());
    assert.deepEqual((await ok<RuleJson[]>(await api('/projects/imm/immutabletagrules?sort=-id'))).map((x) => x.id), [id2, id]);
    assert.deepEqual((await ok<RuleJson[]>(await api(`/projects/imm/immutabletagrules?q=${encodeURIComponent(`id=${id2}`)}`))).map((x) => x.id), [id2]);
    assert.deepEqual((await ok<RuleJson[]>(await api(`/projects/imm/immutabletagrules?q=${encodeURIComponent('disabled=true')}`))).map((x) => x.id), []);
    await ok(await api(`/projects/imm/immutabletagrules/${id2}`, { method: 'DELETE' }));

    // PUT: the path id and the body id must agree; another project's or an unknown id is a 404.
    await error(await api(`/projects/imm/immutabletagrules/${id}`, { method: 'PUT', body: { ...rule('rc-*'), id: id + 1 } }), 400, 'BAD_REQUEST', "the immutable_rule_id doesn't match the id in the payload body of ImmutableRule");
    await error(await api(`/projects/imm/immutabletagrules/${id + 100}`, { method: 'PUT', body: rule('rc-*') }), 404, 'NOT_FOUND', `immutable rule ${id + 100} not found`);
    await error(await api(`/projects/imm/immutabletagrules/abc`, { method: 'PUT', body: rule('rc-*') }), 400, 'BAD_REQUEST', 'invalid immutable_rule_id "abc": expected a positive integer');
    // A changed `disabled` saves only the toggle (the pattern change is dropped), as Harbor.
    await ok(await api(`/projects/imm/immutabletagrules/${id}`, { method: 'PUT', auth: maintAuth, body: { ...rule('other-*'), id, disabled: true } }));
    let got = await ok<RuleJson[]>(await api('/projects/imm/immutabletagrules'));
    assert.deepEqual([got[0]?.disabled, got[0]?.tag_selectors[0]?.pattern], [true, 'rc-*']);
    // Same `disabled`: the rule is replaced.
    await ok(await api(`/projects/imm/immutabletagrules/${id}`, { method: 'PUT', body: { ...rule('other-*'), id, disabled: true } }));
    got = await ok<RuleJson[]>(await api('/projects/imm/immutabletagrules'));
    assert.deepEqual([got[0]?.disabled, got[0]?.tag_selectors[0]?.pattern], [true, 'other-*']);
    await error(await api(`/projects/imm/immutabletagrules/${id}`, { method: 'DELETE', auth: devAuth }), 403, 'FORBIDDEN', 'imm-dev is not allowed to manage-immutable-rules on project imm');
    await ok(await api(`/projects/imm/immutabletagrules/${id}`, { method: 'DELETE', auth: maintAuth }));
    await error(await api(`/projects/imm/immutabletagrules/${id}`, { method: 'DELETE' }), 404, 'NOT_FOUND', `immutable rule ${id} not found`);
    assert.deepEqual(await ok(await api('/projects/imm/immutabletagrules')), []);
  });

  test('validation: Harbor’s fields, selector kinds and decorations, pattern bounds', async () => {
    const post = (body: unknown) => api('/projects/immv/immutabletagrules', { method: 'POST', body });
    await error(await post([]), 400, 'BAD_REQUEST', 'the request body must be an ImmutableRule object');
    await error(await post({ ...rule('x'), action: 'retain' }), 400, 'BAD_REQUEST', 'action must be "immutable"');
    await error(await post({ ...rule('x'), template: 'always' }), 400, 'BAD_REQUEST', 'template must be "immutable_template"');
    await error(await post({ ...rule('x'), tag_selectors: [] }), 400, 'BAD_REQUEST', 'tag_selectors must be a non-empty array of selectors');
    await error(await post({ ...rule('x'), tag_selectors: [{ kind: 'regexp', decoration: 'matches', pattern: '.*' }] }), 400, 'BAD_REQUEST', 'tag_selectors[0].kind must be "doublestar"');
    await error(await post(rule('x', '**', 'repoMatches')), 400, 'BAD_REQUEST', 'tag_selectors[0].decoration must be one of "matches", "excludes"');
    await error(await post({ ...rule('x'), scope_selectors: {} }), 400, 'BAD_REQUEST', 'scope_selectors.repository must be a non-empty array of selectors');
    await error(await post(rule('x'.repeat(257))), 400, 'BAD_REQUEST', 'tag_selectors[0].pattern is longer than 256 characters');
    await error(await post(rule('[z-a]')), 400, 'BAD_REQUEST', 'tag_selectors[0].pattern is not a valid glob: range z-a is out of order');
    await error(await post(rule('x', `{${Array.from({ length: 33 }, (_, i) => `a${i}`).join(',')}}`)), 400, 'BAD_REQUEST', 'scope_selectors.repository[0].pattern has more than 32 {a,b} alternatives');
    await error(await post({ ...rule('x'), disabled: 'no' }), 400, 'BAD_REQUEST', 'disabled must be true or false');
    assert.deepEqual(await ok(await api('/projects/immv/immutabletagrules')), []);
  });

  test('enforcement on every path, with Harbor’s 412 code and messages; `immutable` in listings', async () => {
    const ruleId = await createRule('imme', rule('{v*,release-*}', 'app'));
    const v1 = await image('imme/app');
    // A new tag matching a rule may be pushed; only existing tags are protected.
    assert.equal((await putManifest('imme/app', 'v1', v1)).status, 201);
    const pushed = sha(v1);
    const refused = "Failed to process request due to 'app:v1' configured as immutable.";
    // Over an existing immutable tag: refused, even with the same digest.
    await v2Error(await putManifest('imme/app', 'v1', v1), 412, 'PRECONDITION', refused);
    await v2Error(await putManifest('imme/app', 'v1', await image('imme/app')), 412, 'PRECONDITION', refused);
    // Tags no rule selects, and other repositories, are untouched.
    const latest = await image('imme/app');
    assert.equal((await putManifest('imme/app', 'latest', latest)).status, 201);
    assert.equal((await putManifest('imme/app', 'latest', await image('imme/app'))).status, 201);
    const other = await image('imme/other');
    assert.equal((await putManifest('imme/other', 'v1', other)).status, 201);
    assert.equal((await putManifest('imme/other', 'v1', other)).status, 201);
    // Push by digest is never checked.
    assert.equal((await putManifest('imme/app', pushed, v1)).status, 201);

    const deleted = 'the tag v1 configured as immutable, cannot be deleted';
    await error(await api(`/projects/imme/repositories/app/artifacts/v1/tags/v1`, { method: 'DELETE' }), 412, 'PRECONDITION', deleted);
    await v2Error(await fetch(`${tw.url}/v2/imme/app/manifests/v1`, { method: 'DELETE', headers: { authorization: adminAuth } }), 412, 'PRECONDITION', deleted);
    await error(await api(`/projects/imme/repositories/app/artifacts/${pushed}`, { method: 'DELETE' }), 412, 'PRECONDITION', deleted);
    await v2Error(await fetch(`${tw.url}/v2/imme/app/manifests/${pushed}`, { method: 'DELETE', headers: { authorization: adminAuth } }), 412, 'PRECONDITION', deleted);
    await error(await api(`/projects/imme/repositories/app`, { method: 'DELETE' }), 412, 'PRECONDITION', deleted);
    // Moving the immutable tag onto another artifact through the API.
    const latestDigest = (await ok<Array<{ digest: string }>>(await api(`/projects/imme/repositories/app/artifacts?q=tags%3Dlatest`)))[0]?.digest ?? '';
    await error(await api(`/projects/imme/repositories/app/artifacts/${latestDigest}/tags`, { method: 'POST', body: { name: 'v1' } }), 412, 'PRECONDITION', 'the tag v1 configured as immutable, cannot be updated');
    // A second immutable tag on `latest` may be created; it then protects that artifact too.
    await ok(await api(`/projects/imme/repositories/app/artifacts/${latestDigest}/tags`, { method: 'POST', body: { name: 'release-1' } }), 201);

    // Listings: `immutable` on matching tags only.
    const arts = await ok<Array<{ digest: string; tags: Array<{ name: string; immutable: boolean }> | null }>>(await api('/projects/imme/repositories/app/artifacts?with_tag=true'));
    const flags = new Map(arts.flatMap((a) => (a.tags ?? []).map((t) => [t.name, t.immutable] as const)));
    assert.deepEqual(Object.fromEntries([...flags].sort()), { latest: false, 'release-1': true, v1: true });
    const tags = await ok<Array<{ name: string; immutable: boolean }>>(await api(`/projects/imme/repositories/app/artifacts/${latestDigest}/tags`));
    assert.deepEqual(tags.map((t) => [t.name, t.immutable]).sort(), [['latest', false], ['release-1', true]]);
    const otherTags = await ok<Array<{ name: string; immutable: boolean }>>(await api(`/projects/imme/repositories/other/artifacts/v1/tags`));
    assert.deepEqual(otherTags.map((t) => [t.name, t.immutable]), [['v1', false]]);

    // Disabling the rule lifts everything at once on this instance (its cache entry is dropped).
    await ok(await api(`/projects/imme/immutabletagrules/${ruleId}`, { method: 'PUT', body: { ...rule('{v*,release-*}', 'app'), id: ruleId, disabled: true } }));
    assert.equal((await putManifest('imme/app', 'v1', v1)).status, 201);
    const relisted = await ok<Array<{ name: string; immutable: boolean }>>(await api(`/projects/imme/repositories/app/artifacts/v1/tags`));
    assert.deepEqual(relisted.map((t) => [t.name, t.immutable]), [['v1', false]]);
    await ok(await api(`/projects/imme/repositories/app/artifacts/v1/tags/v1`, { method: 'DELETE' }));
    await ok(await api(`/projects/imme/immutabletagrules/${ruleId}`, { method: 'DELETE' }));
  });

  test('excludes: every tag but the pattern is immutable, in repositories the scope selects', async () => {
    const id = await createRule('immx', rule('dev-*', 'team/**', 'excludes', 'repoMatches'));
    const a = await image('immx/team/api');
    assert.equal((await putManifest('immx/team/api', 'dev-1', a)).status, 201);
    assert.equal((await putManifest('immx/team/api', '2.0', a)).status, 201);
    assert.equal((await putManifest('immx/team/api', 'dev-1', a)).status, 201);
    await v2Error(await putManifest('immx/team/api', '2.0', a), 412, 'PRECONDITION', "Failed to process request due to 'team/api:2.0' configured as immutable.");
    // A repository the scope excludes.
    const id2 = await createRule('immx', rule('**', 'team/**', 'matches', 'repoExcludes'));
    const b = await image('immx/solo');
    assert.equal((await putManifest('immx/solo', 'x', b)).status, 201);
    assert.equal((await putManifest('immx/solo', 'x', b)).status, 412);
    assert.equal((await putManifest('immx/team/api', 'dev-1', a)).status, 201);
    await ok(await api(`/projects/immx/immutabletagrules/${id}`, { method: 'DELETE' }));
    await ok(await api(`/projects/immx/immutabletagrules/${id2}`, { method: 'DELETE' }));
  });
});
