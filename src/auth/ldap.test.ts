/** LDAP filters, URLs and DNs (src/auth/ldap.ts): RFC 4515 escaping, Harbor's URL reading, DN comparison. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FilterParser } from 'ldapts';
import { dnKey, escapeFilterValue, ldapUrl, normalizeFilter, searchFilter, underDn } from './ldap.ts';

test('filter values are escaped as RFC 4515 says', () => {
  assert.equal(escapeFilterValue('alice'), 'alice');
  assert.equal(escapeFilterValue('*'), '\\2a');
  assert.equal(escapeFilterValue('a)(uid=*'), 'a\\29\\28uid=\\2a');
  assert.equal(escapeFilterValue('back\\slash'), 'back\\5cslash');
  assert.equal(escapeFilterValue('nul\0'), 'nul\\00');
  assert.equal(escapeFilterValue('ünï'), 'ünï');
  // Whatever the value, the filter parses to one equality test of that exact value.
  for (const v of ['*', 'a)(|(uid=*', '\\', '(', ')', 'x\0y', '*)(objectClass=*']) {
    const f = FilterParser.parseString(searchFilter('(objectClass=person)', 'uid', v));
    assert.match(f.toString(), /^\(&\(objectClass=person\)\(uid=[^()*]*\)\)$/, v);
  }
});

test('escaping is linear in the length', () => {
  const long = '*('.repeat(500_000);
  const t = process.hrtime.bigint();
  assert.equal(escapeFilterValue(long).length, 3_000_000);
  assert.ok(Number(process.hrtime.bigint() - t) / 1e6 < 2000);
});

test('search filters: the settings filter AND the attribute; empty value is everyone', () => {
  assert.equal(searchFilter('', 'uid', 'bob'), '(uid=bob)');
  assert.equal(searchFilter('objectClass=person', 'uid', 'bob'), '(&(objectClass=person)(uid=bob))');
  assert.equal(searchFilter('(objectClass=person)', 'cn', ''), '(&(objectClass=person)(cn=*))');
  assert.equal(normalizeFilter('  '), '');
});

test('ldap_url as Harbor reads it', () => {
  assert.equal(ldapUrl('ldap.example.com'), 'ldap://ldap.example.com:389');
  assert.equal(ldapUrl('ldaps://ldap.example.com'), 'ldaps://ldap.example.com:636');
  assert.equal(ldapUrl('ldap://ldap.example.com:636'), 'ldaps://ldap.example.com:636');
  assert.equal(ldapUrl('ldap://127.0.0.1:3890/'), 'ldap://127.0.0.1:3890');
  assert.throws(() => ldapUrl('http://x'), /unknown ldap protocol/);
  assert.throws(() => ldapUrl(''), /empty ldap url/);
});

test('DNs compare without case and spaces', () => {
  assert.equal(dnKey(' CN=Dev, OU=Groups ,DC=x'), 'cn=dev,ou=groups,dc=x');
  assert.ok(underDn('ou=groups,dc=x', 'cn=dev,OU=Groups,dc=x'));
  assert.ok(underDn('ou=groups,dc=x', 'ou=groups,dc=x'));
  assert.ok(!underDn('ou=groups,dc=x', 'cn=dev,ou=people,dc=x'));
  assert.ok(!underDn('ou=groups,dc=x', 'cn=dev,xou=groups,dc=x'));
});
