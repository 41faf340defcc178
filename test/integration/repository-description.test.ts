/**
 * A repository's description over real HTTP (Harbor's `PUT /projects/{p}/repositories/{r}`,
 * migration 0017): only `description` changes, every repository view shows it, a push keeps it;
 * its bound, its body checks and Harbor's permission (project admin, maintainer, developer).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { RepositoryView } from '../../src/projects/index.ts';
import { maxRepositoryDescriptionLength } from '../../src/registry/index.ts';

let w: TestWharf;
const password = 'Passw0rdDesc';
const basic = (u: string) => 'Basic ' + Buffer.from(`${u}:${password}`).toString('base64');
const repoPath = '/projects/desc/repositories/a%252Fb';

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'PUT', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { auth, ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

function message(a: ApiAnswer): string {
  return shape<{ errors: Array<{ message: string }> }>(a.json).errors[0]?.message ?? '';
}

before(async () => {
  w = await startWharf();
  await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'desc', metadata: { public: 'false' } } });
  for (const [username, role] of [['d-dev', 2], ['d-guest', 3], ['d-maint', 4]] as const) {
    await api(w.url, 'POST', '/api/v2.0/users', { auth: adminAuth, body: { username, password, email: `${username}@example.com`, realname: username } });
    await api(w.url, 'POST', '/api/v2.0/projects/desc/members', { auth: adminAuth, body: { role_id: role, member_user: { username } } });
  }
  await pushSmallImage(w.url, 'desc/a/b', smallImage('desc-1'), { tag: 'v1', auth: adminAuth });
});

after(async () => {
  await w.close();
});

describe('repository description', () => {
  it('is empty until set, then shown by every repository view; nothing else changes', async () => {
    const before = shape<RepositoryView>((await call('GET', repoPath, 200)).json);
    assert.equal(before.description, '');
    await call('PUT', repoPath, 200, { description: 'The A/B service', name: 'ignored/name', pull_count: 99, artifact_count: 7 }, basic('d-dev'));
    const after = shape<RepositoryView>((await call('GET', repoPath, 200)).json);
    assert.deepEqual(after, { ...before, description: 'The A/B service' });
    const listed = shape<RepositoryView[]>((await call('GET', '/projects/desc/repositories', 200)).json);
    assert.deepEqual(listed.map((r) => [r.name, r.description]), [['desc/a/b', 'The A/B service']]);
    const all = shape<RepositoryView[]>((await call('GET', '/repositories?q=name%3Ddesc%2Fa%2Fb', 200)).json);
    assert.deepEqual(all.map((r) => [r.name, r.description]), [['desc/a/b', 'The A/B service']]);
    // A push keeps it.
    await pushSmallImage(w.url, 'desc/a/b', smallImage('desc-2'), { tag: 'v2', auth: adminAuth });
    assert.equal(shape<RepositoryView>((await call('GET', repoPath, 200)).json).description, 'The A/B service');
  });

  it('takes Harbor’s Repository body: no description clears it; the length is bounded', async () => {
    await call('PUT', repoPath, 200, {}, basic('d-maint'));
    assert.equal(shape<RepositoryView>((await call('GET', repoPath, 200)).json).description, '');
    const longest = 'é'.repeat(maxRepositoryDescriptionLength);
    await call('PUT', repoPath, 200, { description: longest });
    assert.equal(shape<RepositoryView>((await call('GET', repoPath, 200)).json).description, longest);
    const tooLong = await call('PUT', repoPath, 400, { description: 'x'.repeat(maxRepositoryDescriptionLength + 1) });
    assert.equal(message(tooLong), `the description is ${maxRepositoryDescriptionLength + 1} characters long; at most ${maxRepositoryDescriptionLength} are allowed`);
    assert.equal(message(await call('PUT', repoPath, 400, { description: 5 })), 'description must be a string');
    assert.equal(message(await call('PUT', repoPath, 400, ['x'])), "the body must be a JSON object (Harbor's Repository)");
    assert.equal(shape<RepositoryView>((await call('GET', repoPath, 200)).json).description, longest);
  });

  it('needs Harbor’s repository update permission and an existing repository', async () => {
    assert.equal((await call('PUT', repoPath, 403, { description: 'no' }, basic('d-guest'))).status, 403);
    assert.equal((await call('PUT', repoPath, 401, { description: 'no' }, '')).status, 401);
    assert.equal(message(await call('PUT', '/projects/desc/repositories/none', 404, { description: 'x' })), 'repository desc/none not found');
    assert.equal(message(await call('PUT', '/projects/nosuch/repositories/none', 404, { description: 'x' })), 'project nosuch not found');
    await call('PUT', repoPath, 200, { description: 'by the maintainer' }, basic('d-maint'));
    assert.equal(shape<RepositoryView>((await call('GET', repoPath, 200, undefined, basic('d-guest'))).json).description, 'by the maintainer');
  });
});
