import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPolicy, classifyAddress, embeddedIPv4 } from './address-policy.ts';
import ipaddr from 'ipaddr.js';

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

test('private and loopback ranges: allowed with allowPrivate, refused without', () => {
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

test('every IPv6 form that embeds an IPv4 address is judged by that address', () => {
  // [form, the IPv4 address it carries, its class]
  const cases: Array<[string, string, string]> = [
    ['::a9fe:a9fe', '169.254.169.254', 'metadata'], // IPv4-compatible
    ['::169.254.169.254', '169.254.169.254', 'metadata'],
    ['::7f00:1', '127.0.0.1', 'private'],
    ['::a00:1', '10.0.0.1', 'private'],
    ['::a9fe:101', '169.254.1.1', 'link-local'],
    ['::ffff:7f00:1', '127.0.0.1', 'private'], // IPv4-mapped
    ['::ffff:169.254.169.254', '169.254.169.254', 'metadata'],
    ['::ffff:0:7f00:1', '127.0.0.1', 'private'], // IPv4-translated (SIIT)
    ['64:ff9b::7f00:1', '127.0.0.1', 'private'], // NAT64 well-known prefix
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 'metadata'],
    ['64:ff9b:1::a9fe:a9fe', '169.254.169.254', 'metadata'], // local-use NAT64, /96 layout
    ['64:ff9b:1:a9fe:a9:fe00::', '169.254.169.254', 'metadata'], // local-use NAT64, /48 layout (u octet zero)
    ['2002:7f00:1::1', '127.0.0.1', 'private'], // 6to4
    ['2002:a9fe:a9fe::', '169.254.169.254', 'metadata'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', '127.0.0.1', 'private'], // Teredo: client = NOT 80ff:fffe
    ['2001:0:4136:e378:8000:63bf:5601:5601', '169.254.169.254', 'metadata'], // NOT 5601:5601
  ];
  for (const [form, v4, cls] of cases) {
    const inner = embeddedIPv4(ipaddr.IPv6.parse(form)).map((a) => a.toString());
    assert.ok(inner.includes(v4), `${form} carries ${v4} (got ${inner.join(', ')})`);
    assert.equal(classifyAddress(form), cls, form);
    assert.equal(classifyAddress(`[${form}]`), cls, `[${form}]`);
    assert.notEqual(closed.check(form, form), null, `${form} refused without allowPrivate`);
    if (cls !== 'private') assert.notEqual(open.check(form, form), null, `${form} refused even with allowPrivate`);
  }
});

test('embedding forms that carry a public IPv4 address are public; plain IPv6 is judged as itself', () => {
  for (const ip of ['::ffff:8.8.8.8', '::808:808', '64:ff9b::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7', '2606:4700::1111']) {
    assert.equal(classifyAddress(ip), 'public', ip);
    assert.equal(closed.check(ip, ip), null, ip);
  }
  assert.equal(classifyAddress('::1'), 'private');
  assert.equal(classifyAddress('::'), 'private');
  assert.deepEqual(embeddedIPv4(ipaddr.IPv6.parse('::1')), []);
  assert.deepEqual(embeddedIPv4(ipaddr.IPv6.parse('2606:4700::1111')), []);
});

test('an allow-listed IPv4 network also covers its embedded IPv6 forms, never the metadata ones', () => {
  const p = new AddressPolicy({ allowPrivate: false, allowList: ['10.0.0.0/8', '169.254.0.0/16'] });
  assert.equal(p.check('a', '::a00:1'), null);
  assert.equal(p.check('a', '64:ff9b::a00:1'), null);
  assert.equal(p.check('a', '::7f00:1')?.reason, 'private');
  assert.equal(p.check('a', '::a9fe:a9fe')?.reason, 'metadata');
});
