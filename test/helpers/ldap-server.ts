/**
 * A private OpenLDAP server for tests: Debian's slapd on 127.0.0.1 and a free port, run as the
 * current user from a generated slapd.conf in a temporary folder (mdb backend, the memberof
 * overlay), seeded through LDAP with a few people (passwords stored as {SSHA} made here) and
 * groupOfNames groups. `ldapAvailable()` says whether slapd is installed; CI installs it, and
 * there (or with WHARF_E2E_REQUIRED) a missing slapd fails the test instead of skipping it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { freePort } from './wharf.ts';
import { e2eRequired } from './skopeo.ts';

const slapdPath = ['/usr/sbin/slapd', '/usr/local/sbin/slapd', '/usr/local/libexec/slapd'].find((p) => existsSync(p));
const schemaDir = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'].find((p) => existsSync(join(p, 'core.schema')));
const moduleDir = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap'].find((p) => existsSync(join(p, 'back_mdb.so')) || existsSync(join(p, 'back_mdb.la')));

/** True when slapd and its schema files are installed (Debian: `apt-get install slapd ldap-utils`). */
export function ldapAvailable(): boolean {
  return slapdPath !== undefined && schemaDir !== undefined;
}

/** A reason to skip when slapd is missing and e2e tests are optional; false when the test must run (CI). */
export function skipWithoutSlapd(): string | false {
  if (ldapAvailable() || e2eRequired()) return false;
  return 'slapd is not installed (apt-get install slapd ldap-utils)';
}

/** `{SSHA}` of a password with a random salt, as slappasswd makes it. */
export function sshaPassword(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return '{SSHA}' + Buffer.concat([digest, salt]).toString('base64');
}

/** A person of the seeded directory. */
export interface LdapPerson {
  uid: string;
  cn: string;
  mail?: string;
  displayName?: string;
  password: string;
}

/** What the seeded directory holds. */
export interface LdapSeed {
  people: LdapPerson[];
  /** groupOfNames under ou=groups: cn and the uids of its members. */
  groups: Array<{ cn: string; members: string[] }>;
}

/** A running slapd. */
export interface TestLdap {
  /** ldap://127.0.0.1:PORT */
  url: string;
  port: number;
  baseDn: string;
  /** The search (manager) DN and its password. */
  bindDn: string;
  bindPassword: string;
  peopleDn: string;
  groupsDn: string;
  /** A person's DN. */
  userDn(uid: string): string;
  /** A group's DN. */
  groupDn(cn: string): string;
  stop(): Promise<void>;
}

/** The people and groups most tests use. */
export const defaultSeed: LdapSeed = {
  people: [
    { uid: 'alice', cn: 'Alice Liddell', displayName: 'Alice L.', mail: 'alice@example.test', password: 'AlicePass1' },
    { uid: 'bob', cn: 'Bob Builder', mail: 'bob@example.test', password: 'BobPass12' },
    { uid: 'carol', cn: 'Carol Admin', mail: 'carol@example.test', password: 'CarolPass1' },
    { uid: 'star*', cn: 'Star Name', mail: 'star@example.test', password: 'StarPass1' },
  ],
  groups: [
    { cn: 'developers', members: ['alice', 'bob'] },
    { cn: 'harbor-admins', members: ['carol'] },
  ],
};

function slapdConf(dir: string, baseDn: string, bindDn: string, bindHash: string): string {
  const lines = [
    `include ${schemaDir}/core.schema`,
    `include ${schemaDir}/cosine.schema`,
    `include ${schemaDir}/inetorgperson.schema`,
    `include ${schemaDir}/nis.schema`,
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    ...(moduleDir ? [`modulepath ${moduleDir}`, 'moduleload back_mdb', 'moduleload memberof'] : []),
    'database mdb',
    `suffix "${baseDn}"`,
    `rootdn "${bindDn}"`,
    `rootpw ${bindHash}`,
    `directory ${join(dir, 'db')}`,
    'maxsize 10485760',
    'overlay memberof',
    'memberof-group-oc groupOfNames',
    'memberof-member-ad member',
    'memberof-memberof-ad memberOf',
    'memberof-refint true',
    'access to attrs=userPassword by anonymous auth by * none',
    'access to * by * read',
  ];
  return lines.join('\n') + '\n';
}

/** Starts slapd with `seed`; waits until it answers and is seeded. */
export async function startLdap(seed: LdapSeed = defaultSeed): Promise<TestLdap> {
  if (!slapdPath || !schemaDir) throw new Error('slapd is not installed (apt-get install slapd ldap-utils)');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-ldap-'));
  mkdirSync(join(dir, 'db'));
  const baseDn = 'dc=wharf,dc=test';
  const bindDn = `cn=admin,${baseDn}`;
  const bindPassword = 'LdapAdmin1';
  writeFileSync(join(dir, 'slapd.conf'), slapdConf(dir, baseDn, bindDn, sshaPassword(bindPassword)));
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  let out = '';
  const proc: ChildProcess = spawn(slapdPath, ['-d', '0', '-f', join(dir, 'slapd.conf'), '-h', `${url}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      proc.kill('SIGTERM');
      await Promise.race([exit, sleep(5000)]);
      if (!exited) proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const peopleDn = `ou=people,${baseDn}`;
  const groupsDn = `ou=groups,${baseDn}`;
  const userDn = (uid: string) => `uid=${uid.replace(/[\\,+"<>;]/g, (c) => '\\' + c)},${peopleDn}`;
  const groupDn = (cn: string) => `cn=${cn},${groupsDn}`;
  try {
    const client = await connectWhenUp(url, bindDn, bindPassword, () => exited, () => out);
    try {
      await client.add(baseDn, { objectClass: ['top', 'dcObject', 'organization'], dc: 'wharf', o: 'Wharf tests' });
      await client.add(peopleDn, { objectClass: ['top', 'organizationalUnit'], ou: 'people' });
      await client.add(groupsDn, { objectClass: ['top', 'organizationalUnit'], ou: 'groups' });
      for (const p of seed.people) {
        await client.add(userDn(p.uid), {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          uid: p.uid,
          cn: p.cn,
          sn: p.cn.split(' ').at(-1) ?? p.cn,
          ...(p.mail ? { mail: p.mail } : {}),
          ...(p.displayName ? { displayName: p.displayName } : {}),
          userPassword: sshaPassword(p.password),
        });
      }
      for (const g of seed.groups) {
        await client.add(groupDn(g.cn), { objectClass: ['top', 'groupOfNames'], cn: g.cn, member: g.members.map(userDn) });
      }
    } finally {
      await client.unbind();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, baseDn, bindDn, bindPassword, peopleDn, groupsDn, userDn, groupDn, stop };
}

async function connectWhenUp(url: string, dn: string, password: string, exited: () => boolean, output: () => string): Promise<Client> {
  const until = Date.now() + 15_000;
  for (;;) {
    if (exited()) throw new Error(`slapd exited:\n${output()}`);
    const client = new Client({ url, timeout: 2000, connectTimeout: 1000 });
    try {
      await client.bind(dn, password);
      return client;
    } catch (err) {
      await client.unbind().catch(() => {});
      if (Date.now() > until) throw new Error(`slapd did not answer at ${url}: ${String(err)}\n${output()}`);
      await sleep(100);
    }
  }
}
