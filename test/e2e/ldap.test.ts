/**
 * End-to-end: LDAP sign-in (docs/ldap.md) with the real skopeo against a Wharf in `ldap_auth`
 * mode and a real OpenLDAP slapd (test/helpers/ldap-server.ts). An LDAP user imported and made a
 * project developer pushes with its directory password through the Bearer token flow; a user
 * whose LDAP group is a guest of the project pulls; a wrong password and a user without a role
 * are refused. Skips (or fails under WHARF_REQUIRE_E2E=1) without skopeo or slapd.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { describeRun, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { defaultSeed, skipWithoutSlapd, startLdap, type TestLdap } from '../helpers/ldap-server.ts';
import { readLayoutIndex, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { api } from '../helpers/webhook-client.ts';

const timeout = 120_000;
const noSlapd = skipWithoutSlapd();
let ldap: TestLdap | undefined;

async function ok(w: TestWharf, method: 'POST' | 'PUT', path: string, body: unknown, status: number): Promise<void> {
  const r = await api(w.url, method, `/api/v2.0${path}`, { auth: adminAuth, body });
  assert.equal(r.status, status, `${method} ${path} -> ${r.status} ${r.text}`);
}

const { skip, wharf, layout } = useE2eWharf(async (w) => {
  if (noSlapd) return;
  const l = (ldap = await startLdap());
  await ok(w, 'PUT', '/configurations', {
    auth_mode: 'ldap_auth',
    ldap_url: l.url,
    ldap_search_dn: l.bindDn,
    ldap_search_password: l.bindPassword,
    ldap_base_dn: l.peopleDn,
    ldap_uid: 'uid',
    ldap_group_base_dn: l.groupsDn,
    ldap_group_search_filter: '(objectClass=groupOfNames)',
  }, 200);
  await ok(w, 'POST', '/projects', { project_name: 'ldapteam', metadata: { public: 'false' } }, 201);
  await ok(w, 'POST', '/ldap/users/import', { ldap_uid_list: ['alice'] }, 200);
  await ok(w, 'POST', '/projects/ldapteam/members', { role_id: 2, member_user: { username: 'alice' } }, 201);
  // harbor-admins (carol) is a guest group of the project.
  await ok(w, 'POST', '/projects/ldapteam/members', { role_id: 3, member_group: { ldap_group_dn: l.groupDn('harbor-admins'), group_type: 1 } }, 201);
});

after(async () => {
  await ldap?.stop();
});

const password = (uid: string) => defaultSeed.people.find((p) => p.uid === uid)?.password ?? '';
const remote = (repo: string, tag: string) => `docker://${wharf().host}/${repo}:${tag}`;

test('e2e: an LDAP user pushes with its directory password; its LDAP group’s role pulls', { skip: skip || noSlapd, timeout }, async () => {
  wharf();
  const src = layout();
  const img = await writeSingleLayerImage(src, 'v1');
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `alice:${password('alice')}`, src.ref('v1'), remote('ldapteam/app', 'v1')]);
  const out = layout();
  await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-creds', `carol:${password('carol')}`, remote('ldapteam/app', 'v1'), out.ref('pulled')]);
  assert.equal(readLayoutIndex(out.dir)[0]?.digest, img.manifest.digest);
});

test('e2e: a wrong LDAP password and an LDAP user without a role are refused', { skip: skip || noSlapd, timeout }, async () => {
  wharf();
  const src = layout();
  await writeSingleLayerImage(src, 'w1');
  const wrong = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', 'alice:NotAlicePass1', src.ref('w1'), remote('ldapteam/app', 'w1')]);
  assert.notEqual(wrong.code, 0, describeRun(wrong));
  assert.match(wrong.stderr, /unauthorized|401|authentication required/i, describeRun(wrong));
  const stranger = await skopeo(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `bob:${password('bob')}`, src.ref('w1'), remote('ldapteam/app', 'w1')]);
  assert.notEqual(stranger.code, 0, describeRun(stranger));
  const tags = await api(wharf().url, 'GET', '/v2/ldapteam/app/tags/list', { auth: adminAuth });
  assert.deepEqual((tags.json as { tags: string[] }).tags, ['v1']);
});
