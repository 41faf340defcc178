import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy } from './address-policy.ts';

const open = new AddressPolicy({ allowPrivate: true, allowList: [] });
const closed = new AddressPolicy({ allowPrivate: false, allowList: [] });

test('link-local, metadata and reserved addresses are always refused', () => {
  for (const p of [open, new AddressPolicy({ allowPrivate: true, allowList: ['169.254.0.0/16', 'fe80::/10', '0.0.0.0/0'] })]) {
    for (const ip of ['169.254.169.254', '169.254.0.1', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '224.0.0.1', '255.255.255.255', '240.0.0.1', 'ff02::1']) {
      assert.notEqual(p.check(ip, ip), null, ip);
    }
  }
  assert.equal(open.check('x', '169.254.169.254')?.reason, 'metadata');
  assert.equal(open.check('x', '169.254.3.3')?.reason, 'link-local');
  assert.equal(open.check('x', 'fd00:ec2::254')?.reason, 'metadata');
});

test('public addresses are always allowed', () => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
    assert.equal(open.check(ip, ip), null, ip);
    assert.equal(closed.check(ip, ip), null, ip);
  }
});

test('private and loopback ranges: allowed by default, refused when switched off', () => {
  for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '::1', 'fc00::1', 'fd12::1', '0.0.0.0', '::', '::ffff:10.0.0.1']) {
    assert.equal(open.check(ip, ip), null, ip);
    assert.equal(closed.check(ip, ip)?.reason, 'private', ip);
  }
});

test('the allow-list: CIDRs, single addresses, exact hosts and *.suffix hosts', () => {
  const p = new AddressPolicy({ allowPrivate: false, allowList: ['10.0.0.0/8', '192.168.1.5', 'hooks.internal', '*.corp.example', 'fd00::/8', 'bad/entry/x'] });
  assert.equal(p.check('a', '10.9.9.9'), null);
  assert.equal(p.check('a', '::ffff:10.9.9.9'), null);
  assert.equal(p.check('a', '192.168.1.5'), null);
  assert.equal(p.check('a', '192.168.1.6')?.reason, 'private');
  assert.equal(p.check('hooks.internal', '172.16.0.9'), null);
  assert.equal(p.check('HOOKS.internal.', '172.16.0.9'), null);
  assert.equal(p.check('ci.corp.example', '172.16.0.9'), null);
  assert.equal(p.check('corp.example', '172.16.0.9')?.reason, 'private');
  assert.equal(p.check('a', 'fd12::1'), null);
  assert.equal(p.check('a', '127.0.0.1')?.reason, 'private');
  assert.deepEqual(AddressPolicy.invalidEntries(['10.0.0.0/8', 'bad/entry/x', '']), ['bad/entry/x']);
});

test('garbage is refused as invalid', () => {
  assert.equal(open.check('x', 'not-an-ip')?.reason, 'invalid');
});
