/**
 * End-to-end: Harbor's tag retention (`/api/v2.0/retentions`) over a project whose artifacts were
 * pushed with the real skopeo and retagged through the API: multi-tag artifacts, untagged ones
 * (pushed by digest), two-platform indexes with their children, an accessory (a manifest with a
 * subject) and an immutable tag, in three repositories. A table of cases (every template, the
 * tag and repository selectors, untagged on and off, several rules ORed, a disabled rule) each
 * replaces the policy and dry-runs it; the task logs must show exactly the expected RETAIN, DEL and
 * IMMUTABLE digests. Some cases then run for real on a freshly pushed project: exactly those
 * digests (and the children of deleted indexes) are gone, everything else is still served.
 * Then TAG_RETENTION reaches a real receiver with Harbor's Default payload (golden file
 * test/fixtures/retention/tag-retention-default.json), per repository or once per run with
 * `summary_event`, never on a dry run, next to one DELETE_ARTIFACT per deleted digest.
 * Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { adminCreds, skopeoOk } from '../helpers/skopeo.ts';
import { writeArtifact, writePlatformIndex, writeSingleLayerImage, type OciLayout } from '../helpers/oci-layout.ts';
import { api, createPolicy, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { jsonBody, startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.ts';
import {
  createRetention,
  executionTasks,
  parseRetentionTable,
  replaceRetention,
  resolveDigest,
  rule,
  startRetentionRun,
  taskLog,
  waitForExecution,
  type RetentionRule,
} from '../helpers/retention.ts';

const { skip, wharf, layout } = useE2eWharf();
const timeout = 170_000;
const day = 24 * 3600 * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the data set ------------------------------------------------------------------------------

type Repo = 'app' | 'multi' | 'tools/cli';
const repos: readonly Repo[] = ['app', 'multi', 'tools/cli'];

/** One push of the data set, in push order. `name` is also the image's tag in the OCI layout. */
interface Step {
  name: string;
  repo: Repo;
  /** Tags pushed with skopeo (none: pushed by digest). */
  tags: string[];
  /** Tags added afterwards with `POST …/artifacts/{digest}/tags`. */
  retag?: string[];
  kind: 'image' | 'index' | 'accessory';
  /** For the accessory: the step whose artifact is its subject. */
  subject?: string;
}

/**
 * Push order is the push-time order (each skopeo call takes well over a millisecond, Wharf's
 * resolution). `release-*` is immutable in `app`. X1 is an accessory of the index I2.
 */
const steps: readonly Step[] = [
  { name: 'A1', repo: 'app', tags: ['v1'], kind: 'image' },
  { name: 'A2', repo: 'app', tags: ['v2'], retag: ['stable'], kind: 'image' },
  { name: 'R1', repo: 'app', tags: ['release-1'], kind: 'image' },
  { name: 'U1', repo: 'app', tags: [], kind: 'image' },
  { name: 'A3', repo: 'app', tags: ['v3', 'latest'], kind: 'image' },
  { name: 'A4', repo: 'app', tags: ['v4'], kind: 'image' },
  { name: 'I1', repo: 'multi', tags: ['m1'], kind: 'index' },
  { name: 'S1', repo: 'multi', tags: ['s1'], kind: 'image' },
  { name: 'I2', repo: 'multi', tags: ['m2'], kind: 'index' },
  { name: 'X1', repo: 'multi', tags: [], kind: 'accessory', subject: 'I2' },
  { name: 'T1', repo: 'tools/cli', tags: ['1.0'], kind: 'image' },
  { name: 'T2', repo: 'tools/cli', tags: ['2.0'], kind: 'image' },
  { name: 'U2', repo: 'tools/cli', tags: [], kind: 'image' },
];

/** Pulled (a manifest GET with `skopeo inspect --raw`) in this order, after every push. */
const pulls: ReadonlyArray<{ name: string; repo: Repo; tag: string }> = [
  { name: 'A1', repo: 'app', tag: 'v1' },
  { name: 'A3', repo: 'app', tag: 'v3' },
  { name: 'T1', repo: 'tools/cli', tag: '1.0' },
  { name: 'I2', repo: 'multi', tag: 'm2' },
];

/**
 * Times moved back in the database after pushing and pulling, keeping the push and pull orders
 * (no wall-clock wait can make an artifact 10 days old): push times of A1, A2, I1 and T1, the
 * pull time of A1 (artifact and tags alike).
 */
const pushedDaysAgo: Readonly<Record<string, number>> = { A1: 20, A2: 10, I1: 15, T1: 20 };
const pulledDaysAgo: Readonly<Record<string, number>> = { A1: 10 };

/** What the OCI layout holds for a step: the digest, and an index's children. */
interface Built {
  digest: string;
  children: string[];
}

let built: Promise<{ src: OciLayout; images: Map<string, Built> }> | undefined;

/** Builds every image of the data set once, in one OCI layout (so every project gets the same digests). */
function images(): Promise<{ src: OciLayout; images: Map<string, Built> }> {
  built ??= (async () => {
    const src = layout();
    const out = new Map<string, Built>();
    const descriptors = new Map<string, Parameters<typeof writeArtifact>[1]>();
    for (const s of steps) {
      if (s.kind === 'index') {
        const idx = await writePlatformIndex(src, s.name);
        out.set(s.name, { digest: idx.index.digest, children: idx.children.map((c) => c.manifest.digest) });
        descriptors.set(s.name, idx.index);
      } else if (s.kind === 'accessory') {
        const subject = descriptors.get(s.subject ?? '');
        assert.ok(subject, `the subject of ${s.name} comes first`);
        const art = writeArtifact(src, subject, s.name);
        out.set(s.name, { digest: art.manifest.digest, children: [] });
      } else {
        const img = await writeSingleLayerImage(src, s.name);
        out.set(s.name, { digest: img.manifest.digest, children: [] });
        descriptors.set(s.name, img.manifest);
      }
    }
    return { src, images: out };
  })();
  return built;
}

/** A project filled with the data set. */
interface Seeded {
  project: string;
  projectId: number;
  /** Step name → digest. */
  digest: Map<string, string>;
  /** Every digest pushed (children included) → a readable name (`I1`, `I1/child0`, ...). */
  names: Map<string, string>;
  /** Step name → index children digests. */
  children: Map<string, string[]>;
}

const enc = (repo: string) => encodeURIComponent(encodeURIComponent(repo));

async function createProject(w: TestWharf, name: string): Promise<number> {
  const a = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, metadata: { public: 'true' } } });
  assert.equal(a.status, 201, explain('POST', '/api/v2.0/projects', a));
  const id = Number(String(a.headers.location).split('/').pop());
  assert.ok(Number.isInteger(id), `project id in ${String(a.headers.location)}`);
  return id;
}

/** Pushes the data set into a new project `project` with skopeo and the API, pulls, and ages. */
async function seed(w: TestWharf, project: string): Promise<Seeded> {
  const { src, images: imgs } = await images();
  const projectId = await createProject(w, project);
  const rulePath = `/api/v2.0/projects/${project}/immutabletagrules`;
  const imm = await api(w.url, 'POST', rulePath, {
    auth: adminAuth,
    headers: { 'x-is-resource-name': 'true' },
    body: {
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'release-*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: 'app' }] },
    },
  });
  assert.equal(imm.status, 201, explain('POST', rulePath, imm));

  const digest = new Map<string, string>();
  const names = new Map<string, string>();
  const children = new Map<string, string[]>();
  for (const s of steps) {
    const b = imgs.get(s.name);
    assert.ok(b);
    digest.set(s.name, b.digest);
    names.set(b.digest, s.name);
    children.set(s.name, b.children);
    b.children.forEach((c, i) => names.set(c, `${s.name}/child${i}`));
    const dest = `docker://${w.host}/${project}/${s.repo}`;
    const allPlatforms = s.kind === 'index' ? ['--all'] : [];
    const refs = s.tags.length > 0 ? s.tags.map((t) => `${dest}:${t}`) : [`${dest}@${b.digest}`];
    for (const ref of refs) await skopeoOk(['copy', '--quiet', ...allPlatforms, '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref(s.name), ref]);
    for (const t of s.retag ?? []) {
      const path: string = `/api/v2.0/projects/${project}/repositories/${enc(s.repo)}/artifacts/${b.digest}/tags`;
      const a = await api(w.url, 'POST', path, { auth: adminAuth, body: { name: t } });
      assert.equal(a.status, 201, explain('POST', path, a));
    }
  }
  for (const p of pulls) {
    await skopeoOk(['inspect', '--raw', '--tls-verify=false', '--creds', adminCreds, `docker://${w.host}/${project}/${p.repo}:${p.tag}`]);
  }
  // Age some artifacts (and their tags) in the database: there is no other way to be 10 days old.
  const db = w.wharf.db.kysely;
  const now = Date.now();
  const artifactId = async (name: string): Promise<number> => {
    const s = steps.find((x) => x.name === name);
    assert.ok(s);
    const row = await db
      .selectFrom('artifacts')
      .innerJoin('repositories', 'repositories.id', 'artifacts.repository_id')
      .select('artifacts.id')
      .where('repositories.name', '=', `${project}/${s.repo}`)
      .where('artifacts.digest', '=', digest.get(name) ?? '')
      .executeTakeFirstOrThrow();
    return row.id;
  };
  for (const [name, days] of Object.entries(pushedDaysAgo)) {
    const id = await artifactId(name);
    await db.updateTable('artifacts').set({ push_time: now - days * day }).where('id', '=', id).execute();
    await db.updateTable('tags').set({ push_time: now - days * day }).where('artifact_id', '=', id).execute();
  }
  for (const [name, days] of Object.entries(pulledDaysAgo)) {
    const id = await artifactId(name);
    await db.updateTable('artifacts').set({ pull_time: now - days * day }).where('id', '=', id).execute();
    await db.updateTable('tags').set({ pull_time: now - days * day }).where('artifact_id', '=', id).where('pull_time', 'is not', null).execute();
  }
  return { project, projectId, digest, names, children };
}

// ---- the cases ---------------------------------------------------------------------------------

type Decision = 'RETAIN' | 'DEL' | 'IMMUTABLE';

/** A case: the rules, and per selected repository the decision for each candidate (a repository left out gets no task). */
interface Case {
  name: string;
  rules: RetentionRule[];
  expect: Partial<Record<Repo, Record<string, Decision>>>;
  /** Also run for real on a fresh project. */
  real?: boolean;
}

const all = (untagged: boolean, pattern = '**') => ({ decoration: 'matches' as const, pattern, untagged });

const cases: readonly Case[] = [
  {
    name: 'latestPushedK=2, every tag and untagged, every repository',
    rules: [rule({ template: 'latestPushedK', n: 2 })],
    expect: {
      app: { A1: 'DEL', A2: 'DEL', R1: 'IMMUTABLE', U1: 'DEL', A3: 'RETAIN', A4: 'RETAIN' },
      multi: { I1: 'DEL', S1: 'RETAIN', I2: 'RETAIN' },
      'tools/cli': { T1: 'DEL', T2: 'RETAIN', U2: 'RETAIN' },
    },
    real: true,
  },
  {
    name: 'latestPushedK=1 with untagged false: untagged artifacts are deleted',
    rules: [rule({ template: 'latestPushedK', n: 1, tags: all(false) })],
    expect: {
      app: { A1: 'DEL', A2: 'DEL', R1: 'IMMUTABLE', U1: 'DEL', A3: 'DEL', A4: 'RETAIN' },
      multi: { I1: 'DEL', S1: 'DEL', I2: 'RETAIN' },
      'tools/cli': { T1: 'DEL', T2: 'RETAIN', U2: 'DEL' },
    },
  },
  {
    name: 'always, excludes v* (untagged false selects untagged), repoMatches app',
    rules: [rule({ template: 'always', tags: { decoration: 'excludes', pattern: 'v*', untagged: false }, repos: { decoration: 'repoMatches', pattern: 'app' } })],
    // A2 (v2, stable) and A3 (v3, latest) have a tag outside v*; A1 and A4 have none.
    expect: { app: { A1: 'DEL', A2: 'RETAIN', R1: 'RETAIN', U1: 'RETAIN', A3: 'RETAIN', A4: 'DEL' } },
    real: true,
  },
  {
    name: 'latestPulledN=1, repoExcludes multi',
    rules: [rule({ template: 'latestPulledN', n: 1, repos: { decoration: 'repoExcludes', pattern: 'multi' } })],
    expect: {
      app: { A1: 'DEL', A2: 'DEL', R1: 'IMMUTABLE', U1: 'DEL', A3: 'RETAIN', A4: 'DEL' },
      'tools/cli': { T1: 'RETAIN', T2: 'DEL', U2: 'DEL' },
    },
  },
  {
    name: 'nDaysSinceLastPush=7',
    rules: [rule({ template: 'nDaysSinceLastPush', n: 7 })],
    expect: {
      app: { A1: 'DEL', A2: 'DEL', R1: 'RETAIN', U1: 'RETAIN', A3: 'RETAIN', A4: 'RETAIN' },
      multi: { I1: 'DEL', S1: 'RETAIN', I2: 'RETAIN' },
      'tools/cli': { T1: 'DEL', T2: 'RETAIN', U2: 'RETAIN' },
    },
  },
  {
    name: 'nDaysSinceLastPull=7: never pulled is never kept',
    rules: [rule({ template: 'nDaysSinceLastPull', n: 7 })],
    expect: {
      app: { A1: 'DEL', A2: 'DEL', R1: 'IMMUTABLE', U1: 'DEL', A3: 'RETAIN', A4: 'DEL' },
      multi: { I1: 'DEL', S1: 'DEL', I2: 'RETAIN' },
      'tools/cli': { T1: 'RETAIN', T2: 'DEL', U2: 'DEL' },
    },
  },
  {
    name: 'three rules ORed; multi is selected by a rule that keeps nothing there',
    rules: [
      rule({ template: 'latestPushedK', n: 1, tags: all(false, 'v*'), repos: { decoration: 'repoMatches', pattern: 'app' } }),
      rule({ template: 'always', tags: all(false, 'stable') }),
      rule({ template: 'latestPushedK', n: 1, tags: all(true), repos: { decoration: 'repoMatches', pattern: 'tools/*' } }),
    ],
    expect: {
      app: { A1: 'DEL', A2: 'RETAIN', R1: 'IMMUTABLE', U1: 'DEL', A3: 'DEL', A4: 'RETAIN' },
      multi: { I1: 'DEL', S1: 'DEL', I2: 'DEL' },
      'tools/cli': { T1: 'DEL', T2: 'DEL', U2: 'RETAIN' },
    },
    real: true,
  },
  {
    name: 'a disabled rule selects nothing: only multi is touched',
    rules: [
      rule({ template: 'always', disabled: true }),
      rule({ template: 'latestPushedK', n: 1, repos: { decoration: 'repoMatches', pattern: 'multi' } }),
    ],
    expect: { multi: { I1: 'DEL', S1: 'DEL', I2: 'RETAIN' } },
    real: true,
  },
  {
    name: 'always, matches m* on indexes, repoMatches multi',
    rules: [rule({ template: 'always', tags: all(false, 'm*'), repos: { decoration: 'repoMatches', pattern: 'multi' } })],
    expect: { multi: { I1: 'RETAIN', S1: 'DEL', I2: 'RETAIN' } },
  },
];

// ---- checks ------------------------------------------------------------------------------------

/**
 * Runs the policy (dry or real), waits for the execution, and asserts its tasks and logs against
 * `expect`: one Success task per expected repository, each log row's decision and tags, total and
 * retained.
 */
async function runAndCheck(w: TestWharf, s: Seeded, policyId: number, c: Case, dryRun: boolean): Promise<void> {
  const eid = await startRetentionRun(w.url, policyId, dryRun);
  const ex = await waitForExecution(w.url, policyId, eid);
  assert.deepEqual(
    { id: ex.id, policy_id: ex.policy_id, status: ex.status, trigger: ex.trigger, dry_run: ex.dry_run },
    { id: eid, policy_id: policyId, status: 'Success', trigger: 'MANUAL', dry_run: dryRun },
    `${c.name}: the execution`,
  );
  const tasks = await executionTasks(w.url, policyId, eid);
  assert.deepEqual(
    tasks.map((t) => t.repository).sort(),
    Object.keys(c.expect).sort(),
    `${c.name}: one task per selected repository (repository without the project)`,
  );
  for (const t of tasks) {
    const want = c.expect[t.repository as Repo] ?? {}; // a repository of the data set (checked just above)
    assert.equal(t.execution_id, eid);
    assert.equal(t.status, 'Success', `${c.name}: task ${t.repository}`);
    const log = await taskLog(w.url, policyId, eid, t.id);
    const rows = parseRetentionTable(log);
    const got: Record<string, string> = {};
    for (const r of rows) {
      const d = resolveDigest(r.digest, s.names.keys());
      const name = d === undefined ? `unknown ${r.digest}` : (s.names.get(d) ?? d);
      got[name] = r.retention;
      const step = steps.find((x) => x.name === name);
      if (step) assert.deepEqual([...r.tags].sort(), [...step.tags, ...(step.retag ?? [])].sort(), `${c.name}: tags of ${name} in the log`);
    }
    assert.deepEqual(got, want, `${c.name}: decisions in ${t.repository}:\n${log}`);
    const deleted = Object.values(want).filter((v) => v === 'DEL').length;
    assert.deepEqual({ total: t.total, retained: t.retained }, { total: rows.length, retained: rows.length - deleted }, `${c.name}: counts of ${t.repository}`);
  }
}

/** A manifest GET by digest: 200 or 404 (anything else fails). */
async function manifestStatus(w: TestWharf, project: string, repo: string, digest: string): Promise<number> {
  const res = await fetch(`${w.url}/v2/${project}/${repo}/manifests/${digest}`, {
    headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' },
  });
  await res.arrayBuffer();
  assert.ok(res.status === 200 || res.status === 404, `GET /v2/${project}/${repo}/manifests/${digest}: ${res.status}`);
  return res.status;
}

/**
 * After a real run: every digest expected deleted (and its index children) answers 404, every
 * other one 200, and each repository's artifact list holds exactly the kept top-level artifacts
 * with all their tags. An accessory whose subject was deleted is not judged (Harbor deletes it
 * with its subject; Wharf's design does not say).
 */
async function assertRegistryAfter(w: TestWharf, s: Seeded, c: Case): Promise<void> {
  const deleted = new Set<string>();
  for (const decisions of Object.values(c.expect)) for (const [n, d] of Object.entries(decisions)) if (d === 'DEL') deleted.add(n);
  const unjudged = new Set(steps.filter((x) => x.kind === 'accessory' && deleted.has(x.subject ?? '')).map((x) => x.name));
  const want: string[] = [];
  const got: string[] = [];
  for (const st of steps) {
    if (unjudged.has(st.name)) continue;
    const labels = [st.name, ...(s.children.get(st.name) ?? []).map((_, i) => `${st.name}/child${i}`)];
    const digests = [s.digest.get(st.name) ?? '', ...(s.children.get(st.name) ?? [])];
    for (let i = 0; i < digests.length; i++) {
      want.push(`${labels[i]} ${deleted.has(st.name) ? 404 : 200}`);
      got.push(`${labels[i]} ${await manifestStatus(w, s.project, st.repo, digests[i] ?? '')}`);
    }
  }
  assert.deepEqual(got, want, `${c.name}: what the registry serves after the real run`);

  for (const repo of repos) {
    const path = `/api/v2.0/projects/${s.project}/repositories/${enc(repo)}/artifacts?with_tag=true&page_size=100`;
    const a = await api(w.url, 'GET', path, { auth: adminAuth });
    assert.equal(a.status, 200, explain('GET', path, a));
    // The documented artifact list (status checked).
    const listed = (a.json as Array<{ digest: string; tags: Array<{ name: string }> | null }>)
      .map((x) => `${s.names.get(x.digest) ?? x.digest} [${(x.tags ?? []).map((t) => t.name).sort().join(',')}]`)
      .filter((x) => !unjudged.has(x.split(' ')[0] ?? ''))
      .sort();
    const expected = steps
      .filter((x) => x.repo === repo && x.kind !== 'accessory' && !deleted.has(x.name))
      .map((x) => `${x.name} [${[...x.tags, ...(x.retag ?? [])].sort().join(',')}]`)
      .sort();
    assert.deepEqual(listed, expected, `${c.name}: artifacts and tags of ${repo} after the real run`);
  }
}

// ---- tests -------------------------------------------------------------------------------------

test('e2e: retention dry runs report exactly the expected kept and deleted digests', { skip, timeout }, async (t) => {
  const w = wharf();
  const s = await seed(w, 'ret-table');
  const policyId = await createRetention(w.url, s.projectId, [rule({ template: 'always' })]);
  await t.test('the project names its policy in metadata.retention_id', async () => {
    const p = await api(w.url, 'GET', `/api/v2.0/projects/${s.project}`, { auth: adminAuth });
    assert.equal(p.status, 200, explain('GET', `/api/v2.0/projects/${s.project}`, p));
    assert.equal((p.json as { metadata?: Record<string, string> }).metadata?.retention_id, String(policyId), p.text); // the documented project (status checked)
  });
  for (const c of cases) {
    await t.test(c.name, async () => {
      await replaceRetention(w.url, policyId, s.projectId, c.rules);
      await runAndCheck(w, s, policyId, c, true);
    });
  }
  // The dry runs deleted nothing.
  const still: string[] = [];
  for (const st of steps) still.push(`${st.name} ${await manifestStatus(w, s.project, st.repo, s.digest.get(st.name) ?? '')}`);
  assert.deepEqual(still, steps.map((st) => `${st.name} 200`));

  await t.test('DELETE /retentions/{id} unlinks the project', async () => {
    const path = `/api/v2.0/retentions/${policyId}`;
    const del = await api(w.url, 'DELETE', path, { auth: adminAuth });
    assert.equal(del.status, 200, explain('DELETE', path, del));
    const gone = await api(w.url, 'GET', path, { auth: adminAuth });
    assert.equal(gone.status, 404, explain('GET', path, gone));
    const p = await api(w.url, 'GET', `/api/v2.0/projects/${s.project}`, { auth: adminAuth });
    assert.equal(p.status, 200, explain('GET', `/api/v2.0/projects/${s.project}`, p));
    assert.equal((p.json as { metadata?: Record<string, string> }).metadata?.retention_id, undefined, p.text); // the documented project (status checked)
  });
});

test('e2e: real retention runs delete exactly the expected digests and nothing else', { skip, timeout }, async (t) => {
  const w = wharf();
  let n = 0;
  for (const c of cases.filter((x) => x.real)) {
    await t.test(c.name, async () => {
      const s = await seed(w, `ret-real-${n++}`);
      const policyId = await createRetention(w.url, s.projectId, c.rules);
      await runAndCheck(w, s, policyId, c, false);
      await assertRegistryAfter(w, s, c);
    });
  }
});

test('e2e: a tagged platform manifest of a kept index is a candidate whose delete fails: ERR, counted retained', { skip, timeout }, async () => {
  const w = wharf();
  const projectId = await createProject(w, 'ret-err');
  const src = layout();
  const idx = await writePlatformIndex(src, 'e1');
  const solo = await writeSingleLayerImage(src, 'e2');
  await skopeoOk(['copy', '--quiet', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('e1'), `docker://${w.host}/ret-err/edge:e1`]);
  const [child0, child1] = idx.children.map((c) => c.manifest.digest);
  assert.ok(child0 && child1);
  const retag = `/api/v2.0/projects/ret-err/repositories/edge/artifacts/${child0}/tags`;
  const tagged = await api(w.url, 'POST', retag, { auth: adminAuth, body: { name: 'c0' } });
  assert.equal(tagged.status, 201, explain('POST', retag, tagged));
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('e2'), `docker://${w.host}/ret-err/edge:e2`]);
  const names = new Map([
    [idx.index.digest, 'E1'],
    [child0, 'E1/child0'],
    [child1, 'E1/child1'],
    [solo.manifest.digest, 'E2'],
  ]);
  // Keeps e1 and e2; the child tagged c0 is selected by no rule.
  const policyId = await createRetention(w.url, projectId, [rule({ template: 'always', tags: all(false, 'e*') })]);

  const decisions = async (dryRun: boolean) => {
    const eid = await startRetentionRun(w.url, policyId, dryRun);
    assert.equal((await waitForExecution(w.url, policyId, eid)).status, 'Success');
    const [task, ...more] = await executionTasks(w.url, policyId, eid);
    assert.ok(task && more.length === 0, 'one task');
    assert.equal(task.status, 'Success');
    const log = await taskLog(w.url, policyId, eid, task.id);
    const got: Record<string, string> = {};
    for (const r of parseRetentionTable(log)) {
      const d = resolveDigest(r.digest, names.keys());
      got[d === undefined ? `unknown ${r.digest}` : (names.get(d) ?? d)] = r.retention;
    }
    return { got, total: task.total, retained: task.retained, log };
  };
  const dry = await decisions(true);
  assert.deepEqual({ got: dry.got, total: dry.total, retained: dry.retained }, { got: { E1: 'RETAIN', 'E1/child0': 'DEL', E2: 'RETAIN' }, total: 3, retained: 2 }, dry.log);
  const real = await decisions(false);
  assert.deepEqual({ got: real.got, total: real.total, retained: real.retained }, { got: { E1: 'RETAIN', 'E1/child0': 'ERR', E2: 'RETAIN' }, total: 3, retained: 3 }, real.log);
  assert.ok(real.log.includes(child0), `the log names the failed deletion:\n${real.log}`);
  for (const d of names.keys()) assert.equal(await manifestStatus(w, 'ret-err', 'edge', d), 200, `${names.get(d)} is still served`);
  const listed = await api(w.url, 'GET', `/api/v2.0/projects/ret-err/repositories/edge/artifacts/${child0}/tags`, { auth: adminAuth });
  assert.equal(listed.status, 200, listed.text);
  assert.deepEqual((listed.json as Array<{ name: string }>).map((x) => x.name), ['c0'], 'the child keeps its tag'); // the documented tag list (status checked)
});

// ---- events ------------------------------------------------------------------------------------

const webImages = [
  { seed: 'ret-web-1', tag: '1.0' },
  { seed: 'ret-web-2', tag: '1.1' },
  { seed: 'ret-web-u', tag: undefined },
  { seed: 'ret-web-3', tag: '1.2' },
];
const apiImages = [
  { seed: 'ret-api-1', tag: 'a' },
  { seed: 'ret-api-2', tag: 'b' },
];

/** A project with `web` (4 artifacts, one untagged) and `api` (2), pushed over /v2 with fixed contents (fixed digests for the golden file). */
async function seedEvents(w: TestWharf, project: string): Promise<number> {
  const id = await createProject(w, project);
  for (const [repo, list] of [['web', webImages], ['api', apiImages]] as const) {
    for (const i of list) await pushSmallImage(w.url, `${project}/${repo}`, smallImage(i.seed), { tag: i.tag, auth: adminAuth });
  }
  return id;
}

/** Waits for `n` deliveries of `type` on `path`, then listens 1.5 s more; returns all of that type. */
async function deliveries(recv: Receiver, path: string, type: string, n: number): Promise<ReceivedRequest[]> {
  const isType = (r: ReceivedRequest) => r.path === path && (jsonBody(r) as { type?: string }).type === type; // Default body
  if (n > 0) await recv.waitFor(n, 20_000, isType);
  await sleep(1500);
  return recv.requests.filter(isType);
}

/** A TAG_RETENTION body with occur_at, harbor_hostname and retention_policy_id checked and replaced by placeholders, deleted_artifact sorted by name_tag. */
function normalized(r: ReceivedRequest, w: TestWharf, policyId: number): unknown {
  // The Default TAG_RETENTION body (its fields are asserted below and by the comparison).
  const b = jsonBody(r) as { occur_at: unknown; event_data: { retention: Record<string, unknown> & { deleted_artifact?: Array<{ name_tag: string }> } } };
  assert.ok(Number.isInteger(b.occur_at) && Math.abs(Number(b.occur_at) - Date.now() / 1000) < 300, `occur_at is now in seconds: ${String(b.occur_at)}`);
  const ret = b.event_data.retention;
  assert.equal(ret.harbor_hostname, w.host, 'harbor_hostname is the external host');
  assert.equal(ret.retention_policy_id, policyId);
  return {
    ...b,
    occur_at: '<occur_at>',
    event_data: {
      ...b.event_data,
      retention: {
        ...ret,
        harbor_hostname: '<harbor_hostname>',
        retention_policy_id: '<retention_policy_id>',
        deleted_artifact: [...(ret.deleted_artifact ?? [])].sort((x, y) => (x.name_tag < y.name_tag ? -1 : x.name_tag > y.name_tag ? 1 : 0)),
      },
    },
  };
}

function golden(): { event_data: { retention: Record<string, unknown> } } {
  const path = join(import.meta.dirname, '../fixtures/retention/tag-retention-default.json');
  return JSON.parse(readFileSync(path, 'utf8')) as { event_data: { retention: Record<string, unknown> } }; // our own fixture
}

const deleteDigests = (rs: ReceivedRequest[]) =>
  rs.map((r) => String((jsonBody(r) as { event_data?: { resources?: Array<{ digest?: string }> } }).event_data?.resources?.[0]?.digest)).sort(); // Default body

test('e2e: TAG_RETENTION reaches a receiver with Harbor’s Default payload, per repository, never on a dry run', { skip, timeout }, async () => {
  const w = wharf();
  const recv = await startReceiver();
  try {
    const projectId = await seedEvents(w, 'ret-hook');
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/ret-hook', {
      name: 'retention',
      event_types: ['TAG_RETENTION', 'DELETE_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/hook`, payload_format: 'Default' }],
    });
    const policyId = await createRetention(w.url, projectId, [rule({ template: 'latestPushedK', n: 1, tags: all(false) })]);

    const dry = await startRetentionRun(w.url, policyId, true);
    assert.equal((await waitForExecution(w.url, policyId, dry)).status, 'Success');
    assert.deepEqual(await deliveries(recv, '/hook', 'TAG_RETENTION', 0), [], 'no TAG_RETENTION on a dry run');
    assert.deepEqual(await deliveries(recv, '/hook', 'DELETE_ARTIFACT', 0), [], 'a dry run deletes nothing');

    const real = await startRetentionRun(w.url, policyId, false);
    assert.equal((await waitForExecution(w.url, policyId, real)).status, 'Success');
    const events = await deliveries(recv, '/hook', 'TAG_RETENTION', 2);
    assert.equal(events.length, 2, 'one TAG_RETENTION per repository that deleted something');
    const got = events.map((r) => normalized(r, w, policyId));
    // Which repository an event is about: the name_tag prefix of its deleted artifacts.
    const about = (e: unknown, repo: string) => JSON.stringify(e).includes(`"name_tag":"${repo}`);
    const want = golden();
    assert.deepEqual(got.filter((e) => about(e, 'web')), [want], 'the web task’s event equals the golden file');
    const apiEvent = structuredClone(want);
    apiEvent.event_data.retention.total = 2;
    apiEvent.event_data.retention.retained = 1;
    apiEvent.event_data.retention.deleted_artifact = [{ type: 'image', status: 'SUCCESS', name_tag: 'api:a', references: null }];
    assert.deepEqual(got.filter((e) => about(e, 'api')), [apiEvent], 'the api task’s event');

    const removed = await deliveries(recv, '/hook', 'DELETE_ARTIFACT', 4);
    assert.deepEqual(deleteDigests(removed), ['ret-web-1', 'ret-web-2', 'ret-web-u', 'ret-api-1'].map((x) => smallImage(x).digest).sort(), 'one DELETE_ARTIFACT per deleted digest');
  } finally {
    await recv.close();
  }
});

test('e2e: summary_event sends exactly one TAG_RETENTION per run with the totals summed', { skip, timeout }, async () => {
  const w = wharf();
  const recv = await startReceiver();
  try {
    const projectId = await seedEvents(w, 'ret-summary');
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/ret-summary', {
      name: 'retention-summary',
      event_types: ['TAG_RETENTION', 'DELETE_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}/summary`, payload_format: 'Default' }],
    });
    const policyId = await createRetention(w.url, projectId, [rule({ template: 'latestPushedK', n: 1, tags: all(false) })], true);

    const dry = await startRetentionRun(w.url, policyId, true);
    assert.equal((await waitForExecution(w.url, policyId, dry)).status, 'Success');
    assert.deepEqual(await deliveries(recv, '/summary', 'TAG_RETENTION', 0), [], 'no TAG_RETENTION on a dry run');

    const real = await startRetentionRun(w.url, policyId, false);
    assert.equal((await waitForExecution(w.url, policyId, real)).status, 'Success');
    const events = await deliveries(recv, '/summary', 'TAG_RETENTION', 1);
    assert.equal(events.length, 1, 'exactly one TAG_RETENTION for the run');
    const want = golden();
    const r = want.event_data.retention;
    r.project_name = 'ret-summary';
    r.total = 6;
    r.retained = 2;
    r.deleted_artifact = [{ type: 'image', status: 'SUCCESS', name_tag: 'api:a', references: null }, ...(r.deleted_artifact as unknown[])]; // the fixture's list
    // Wharf's additions to its own summary event: the execution and each repository's counts.
    r.execution_id = real;
    r.repositories = [
      { repository: 'api', total: 2, retained: 1 },
      { repository: 'web', total: 4, retained: 1 },
    ];
    const [only] = events;
    assert.ok(only);
    assert.deepEqual(normalized(only, w, policyId), want);
    assert.equal((await deliveries(recv, '/summary', 'DELETE_ARTIFACT', 4)).length, 4, 'DELETE_ARTIFACT still per artifact');
  } finally {
    await recv.close();
  }
});
