import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer, matrix, type Action } from './authorizer.ts';
import { anonymous, systemActor, tokenActor, type Actor, type ProjectRole } from './actor.ts';
import { isDomainError } from '../domain/index.ts';
import { parseRobotPermissions, robotExpired, robotGrants } from './principals.ts';
import { robotResources } from './robots.ts';

const az = new Authorizer();
const priv = { name: 'priv', public: false };
const pub = { name: 'pub', public: true };
const user = (role?: ProjectRole): Actor => ({ kind: 'user', username: 'u', userId: 7, sysadmin: false, roles: new Map(role ? [['priv', role]] : []) });
const robot = (grants: Array<[string, string, string]>): Actor => ({
  kind: 'robot',
  username: 'robot$r',
  userId: null,
  sysadmin: false,
  robot: { id: 1, projectName: null, permissions: grants.map(([namespace, resource, action]) => ({ namespace, resource, action })) },
});

describe('Authorizer', () => {
  it('the system admin and the system actor may do everything, with or without a project', () => {
    const admin: Actor = { kind: 'user', username: 'admin', userId: 1, sysadmin: true };
    for (const a of Object.keys(matrix) as Action[]) {
      assert.ok(az.allows(admin, a, priv));
      assert.ok(az.allows(systemActor, a));
    }
  });

  it('anyone pulls from a public project, nothing more; actions without a project are the admin’s', () => {
    assert.ok(az.allows(anonymous, 'pull', pub));
    assert.ok(!az.allows(anonymous, 'pull', priv));
    assert.ok(!az.allows(anonymous, 'push', pub));
    assert.ok(!az.allows(user(), 'read-members', pub));
    assert.ok(!az.allows(user('projectAdmin'), 'admin'));
    assert.ok(!az.allows(user('projectAdmin'), 'read-logs'));
  });

  it('roles follow Harbor’s matrix', () => {
    assert.ok(az.allows(user('developer'), 'push', priv));
    assert.ok(!az.allows(user('guest'), 'push', priv));
    assert.ok(!az.allows(user('developer'), 'delete', priv));
    assert.ok(az.allows(user('maintainer'), 'delete-tag', priv));
    assert.ok(az.allows(user('maintainer'), 'list-webhooks', priv));
    assert.ok(!az.allows(user('maintainer'), 'manage-webhooks', priv));
    assert.ok(az.allows(user('projectAdmin'), 'manage-members', priv));
    assert.ok(!az.allows(user('limitedGuest'), 'read-members', priv));
    assert.ok(!az.allows(user('limitedGuest'), 'read-logs', priv));
    assert.ok(az.allows(user('guest'), 'read-logs', priv));
    // A role in one project says nothing about another.
    assert.ok(!az.allows(user('projectAdmin'), 'pull', { name: 'other', public: false }));
  });

  it('robots hold exactly their grants, in their namespace or *', () => {
    const r = robot([['priv', 'repository', 'pull']]);
    assert.ok(az.allows(r, 'pull', priv));
    assert.ok(!az.allows(r, 'push', priv));
    assert.ok(!az.allows(r, 'pull', { name: 'other', public: false }));
    const star = robot([['*', 'artifact', 'delete']]);
    assert.ok(az.allows(star, 'delete', { name: 'any', public: false }));
    assert.ok(!az.allows(star, 'delete-tag', priv));
  });

  it('bearer-token callers also need the action in the token for that repository', () => {
    const dev: Actor = { ...user('developer'), tokenAccess: new Map([['priv/app', new Set(['pull'])]]) };
    assert.ok(az.allows(dev, 'pull', priv, 'priv/app'));
    assert.ok(!az.allows(dev, 'push', priv, 'priv/app'));
    assert.ok(!az.allows(dev, 'pull', priv, 'priv/other'));
    const admin: Actor = { kind: 'user', username: 'admin', userId: 1, sysadmin: true, tokenAccess: new Map([['priv/app', new Set(['*'])]]) };
    assert.ok(az.allows(admin, 'delete', priv, 'priv/app'));
    assert.ok(!az.allows(admin, 'pull', priv, 'priv/x'));
  });

  it('a bearer token on the API: public reads, and its repository actions intersected with its account; nothing else', () => {
    const admin: Actor = { kind: 'user', username: 'admin', userId: 1, sysadmin: true };
    const access = (actions: string[]) => new Map([['priv/app', new Set(actions)]]);
    const all = Object.keys(matrix) as Action[];
    // A scope-less token of the system admin: no action anywhere, except public reads.
    const bare = tokenActor(admin, new Map());
    for (const a of all) {
      assert.equal(az.allows(bare, a, priv, 'priv/app'), false, a);
      assert.equal(az.allows(bare, a, priv), false, a);
      assert.equal(az.allows(bare, a), false, a);
      assert.equal(az.allows(bare, a, pub), a === 'pull', a);
    }
    // Each token action allows exactly its repository actions on that repository, and only there.
    const want: Record<string, Action[]> = { pull: ['pull'], push: ['push', 'create-tag'], delete: ['delete', 'delete-tag'], '*': ['pull', 'push', 'create-tag', 'delete', 'delete-tag'] };
    for (const [granted, allowed] of Object.entries(want)) {
      const t = tokenActor(admin, access([granted]));
      for (const a of all) {
        assert.equal(az.allows(t, a, priv, 'priv/app'), allowed.includes(a), `${granted}: ${a}`);
        assert.equal(az.allows(t, a, priv, 'priv/other'), false, `${granted}: ${a} on another repository`);
        assert.equal(az.allows(t, a, priv), false, `${granted}: ${a} without a repository`);
        assert.equal(az.allows(t, a, { name: 'other', public: false }, 'priv/app'), false, `${granted}: ${a} in another project`);
      }
    }
    // Never more than the account: a guest's push token does not tag; a robot needs tag:create.
    assert.equal(az.allows(tokenActor(user('guest'), access(['*'])), 'create-tag', priv, 'priv/app'), false);
    assert.equal(az.allows(tokenActor(user('guest'), access(['*'])), 'pull', priv, 'priv/app'), true);
    assert.equal(az.allows(tokenActor(user('developer'), access(['push'])), 'create-tag', priv, 'priv/app'), true);
    assert.equal(az.allows(tokenActor(robot([['priv', 'repository', 'push']]), access(['push'])), 'create-tag', priv, 'priv/app'), false);
    assert.equal(az.allows(tokenActor(robot([['priv', 'tag', 'create']]), access(['push'])), 'create-tag', priv, 'priv/app'), true);
    // It carries no identity a service could match, and its refusals say why.
    const t = tokenActor(robot([['priv', 'robot', 'update']]), access(['*']));
    assert.equal(t.userId, null);
    assert.equal(t.robot, undefined);
    assert.equal(t.sysadmin, false);
    assert.equal(t.username, 'robot$r');
    assert.throws(() => az.check(t, 'manage-robots', priv), (e) => isDomainError(e, 'DENIED') && /bearer token/.test(e.message));
    assert.throws(() => az.check(tokenActor(anonymous, new Map()), 'push', priv, 'priv/app'), (e) => isDomainError(e, 'UNAUTHORIZED'));
  });

  it('a /v2 token caller needs the tag actions in its token too (push for create-tag, delete for delete-tag)', () => {
    const dev: Actor = { ...user('maintainer'), tokenAccess: new Map([['priv/app', new Set(['pull'])]]) };
    assert.ok(!az.allows(dev, 'create-tag', priv, 'priv/app'));
    assert.ok(!az.allows(dev, 'delete-tag', priv, 'priv/app'));
    const full: Actor = { ...dev, tokenAccess: new Map([['priv/app', new Set(['push', 'delete'])]]) };
    assert.ok(az.allows(full, 'create-tag', priv, 'priv/app'));
    assert.ok(az.allows(full, 'delete-tag', priv, 'priv/app'));
  });

  it('check throws UNAUTHORIZED for anonymous callers and DENIED for others', () => {
    assert.throws(() => az.check(anonymous, 'pull', priv), (e) => isDomainError(e, 'UNAUTHORIZED'));
    assert.throws(() => az.check(user('guest'), 'push', priv), (e) => isDomainError(e, 'DENIED'));
    assert.doesNotThrow(() => az.check(user('guest'), 'pull', priv));
  });
});

describe('robot permissions', () => {
  it('parses stored permissions defensively and drops deny effects and system-kind entries', () => {
    assert.deepEqual(parseRobotPermissions('not json'), []);
    assert.deepEqual(parseRobotPermissions('{"a":1}'), []);
    const perms = parseRobotPermissions(
      JSON.stringify([
        { kind: 'project', namespace: 'p', access: [{ resource: 'repository', action: 'pull' }, { resource: 'repository', action: 'push', effect: 'deny' }, { bad: 1 }] },
        { kind: 'system', namespace: '/', access: [{ resource: 'project', action: 'create' }] },
      ]),
    );
    assert.deepEqual(robotGrants(perms), [{ namespace: 'p', resource: 'repository', action: 'pull' }]);
  });

  it('expiry: -1 never, otherwise Unix seconds', () => {
    assert.equal(robotExpired(-1), false);
    assert.equal(robotExpired(Math.floor(Date.now() / 1000) + 60), false);
    assert.equal(robotExpired(Math.floor(Date.now() / 1000) - 1), true);
  });

  it('every robot grant the matrix checks can be given to a robot', () => {
    const refused: string[] = [];
    for (const [action, r] of Object.entries(matrix)) {
      for (const grant of r.robot) {
        const [resource = '', verb = ''] = grant.split(':');
        if (!robotResources[resource]?.has(verb)) refused.push(`${action}: ${grant}`);
      }
    }
    assert.deepEqual(refused, []);
  });
});
