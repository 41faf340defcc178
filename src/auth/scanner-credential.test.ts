import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Authorizer, matrix, type Action } from './authorizer.ts';
import { isScannerActor, isScannerPull, scannerActor, scannerUsername } from './scanner-credential.ts';
import { tokenActor } from './actor.ts';

const az = new Authorizer();
const priv = { name: 'priv', public: false };

test('a scanner credential pulls its one repository and does nothing else', () => {
  const s = scannerActor('priv/app');
  assert.equal(s.username, scannerUsername);
  assert.ok(isScannerActor(s));
  for (const a of Object.keys(matrix) as Action[]) {
    assert.equal(az.allows(s, a, priv, 'priv/app'), a === 'pull', a);
    assert.equal(az.allows(s, a, priv, 'priv/other'), false, `${a} on another repository`);
    assert.equal(az.allows(s, a, { name: 'other', public: false }, 'other/app'), false, `${a} in another project`);
    assert.equal(az.allows(s, a), false, `${a} without a project`);
  }
});

test('isScannerPull: the scanner actor on its repository only; never a user or a token actor', () => {
  assert.equal(isScannerPull(scannerActor('priv/app'), 'priv/app'), true);
  assert.equal(isScannerPull(scannerActor('priv/app'), 'priv/other'), false);
  const user = { kind: 'user' as const, username: 'u', userId: 1, sysadmin: true, tokenAccess: new Map([['priv/app', new Set(['pull', 'scanner-pull'])]]) };
  assert.equal(isScannerPull(user, 'priv/app'), false);
  assert.equal(isScannerPull(tokenActor(scannerActor('priv/app'), new Map([['priv/app', new Set(['pull', 'scanner-pull'])]])), 'priv/app'), false);
});
