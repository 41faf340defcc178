/**
 * P2P preheat over real HTTP (src/preheat/, docs/preheat.md), against a real local HTTP server
 * that plays both providers: Dragonfly (`GET /healthy`, `POST /oapi/v1/jobs`, `GET
 * /oapi/v1/jobs/{id}`) and Kraken (`GET /health`, `POST /registry/notifications`). It records
 * every request, so the tests check what Wharf sent: the health path, the instance's credentials.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, eventually, explain, pushSmallImage, smallImage, type ApiAnswer } from '../helpers/webhook-client.ts';
import type { InstanceView, ProviderMetadata } from '../../src/preheat/index.ts';

/** One request the fake provider received. */
interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** The fake provider: `healthy` switches its health answers; Dragonfly jobs answer `jobState`. */
interface Provider {
  url: string;
  seen: Seen[];
  healthy: boolean;
  jobState: 'PENDING' | 'SUCCESS' | 'FAILURE';
  close(): Promise<void>;
}

async function startProvider(): Promise<Provider> {
  const seen: Seen[] = [];
  let nextJob = 100;
  const jobPolls = new Map<string, number>();
  const state: Pick<Provider, 'healthy' | 'jobState'> = { healthy: true, jobState: 'SUCCESS' };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      // An instance may sit under a path prefix (`/kraken/health`, `/df3/oapi/v1/jobs`).
      const path = (req.url ?? '').replace(/^\/[A-Za-z0-9-]+(?=\/(?:healthy|health|oapi|registry)(?:\/|$))/, '');
      const json = (status: number, v: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(v));
      };
      if (req.method === 'GET' && (path === '/healthy' || path === '/health')) return json(state.healthy ? 200 : 503, state.healthy ? {} : { message: 'down' });
      if (req.method === 'POST' && path === '/oapi/v1/jobs') return json(200, { id: nextJob++, state: 'PENDING', created_at: new Date().toISOString(), updated_at: new Date().toISOString() });
      const m = /^\/oapi\/v1\/jobs\/(\d+)$/.exec(path);
      if (req.method === 'GET' && m) {
        // Each job is PENDING at its first check.
        const polls = (jobPolls.get(m[1] ?? '') ?? 0) + 1;
        jobPolls.set(m[1] ?? '', polls);
        return json(200, {
          id: Number(m[1]),
          state: polls === 1 ? 'PENDING' : state.jobState,
          result: {
            job_states:
              state.jobState === 'FAILURE'
                ? [{ error: 'seed peer unreachable', results: [] }]
                : [{ error: '', results: [{ scheduler_cluster_id: 1, success_tasks: [{ url: 'blob-url', hostname: 'peer-1', ip: '10.0.0.1' }], failure_tasks: [] }] }],
          },
        });
      }
      if (req.method === 'POST' && path === '/registry/notifications') return json(200, {});
      json(404, { message: 'not found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port; // a TCP server's address is an AddressInfo
  const p: Provider = {
    url: `http://127.0.0.1:${port}`,
    seen,
    get healthy() {
      return state.healthy;
    },
    set healthy(v: boolean) {
      state.healthy = v;
    },
    get jobState() {
      return state.jobState;
    },
    set jobState(v: Provider['jobState']) {
      state.jobState = v;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  return p;
}

let w: TestWharf;
let provider: Provider;

/** A parsed JSON body typed as the test reads it. */
function shape<T>(v: unknown): T {
  return v as T; // test-only: the assertions that follow check every field they use
}

async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH', path: string, status: number, body?: unknown, auth = adminAuth): Promise<ApiAnswer> {
  const a = await api(w.url, method, `/api/v2.0${path}`, { ...(auth === '' ? {} : { auth }), ...(body === undefined ? {} : { body }) });
  assert.equal(a.status, status, explain(method, path, a));
  return a;
}

function message(a: ApiAnswer): string {
  return shape<{ errors: Array<{ message: string }> }>(a.json).errors[0]?.message ?? '';
}

async function makeUser(name: string, password: string): Promise<string> {
  await call('POST', '/users', 201, { username: name, email: `${name}@example.com`, realname: name, password });
  return 'Basic ' + Buffer.from(`${name}:${password}`).toString('base64');
}

before(async () => {
  provider = await startProvider();
  w = await startWharf();
});

after(async () => {
  await w?.close();
  await provider?.close();
});

describe('providers and instances', () => {
  it('lists Dragonfly and Kraken as Harbor does', async () => {
    const list = shape<ProviderMetadata[]>((await call('GET', '/p2p/preheat/providers', 200)).json);
    assert.deepEqual(
      list.map((p) => [p.id, p.name]),
      [
        ['dragonfly', 'Dragonfly'],
        ['kraken', 'Kraken'],
      ],
    );
    assert.ok(list.every((p) => p.version !== '' && p.source.startsWith('https://') && p.maintainers.length > 0));
  });

  it('creates, reads, lists, updates and deletes an instance; auth_info is never shown', async () => {
    const seenBefore = provider.seen.length;
    const a = await call('POST', '/p2p/preheat/instances', 201, { name: 'df-one', vendor: 'dragonfly', endpoint: `${provider.url}/`, auth_mode: 'BASIC', auth_info: { username: 'dfuser', password: 'df-Secret-1' }, enabled: true, default: true, description: 'first' });
    assert.equal(a.headers.location, '/api/v2.0/p2p/preheat/instances/df-one');
    const got = shape<InstanceView & { auth_info?: unknown }>((await call('GET', '/p2p/preheat/instances/df-one', 200)).json);
    assert.equal(got.name, 'df-one');
    assert.equal(got.vendor, 'dragonfly');
    assert.equal(got.endpoint, provider.url, 'the trailing slash is dropped');
    assert.equal(got.auth_mode, 'BASIC');
    assert.equal(got.enabled, true);
    assert.equal(got.default, true);
    assert.equal(got.insecure, false);
    assert.equal(got.status, 'Unknown');
    assert.equal(got.auth_info, undefined);
    assert.ok(got.setup_timestamp > 1_600_000_000 && got.setup_timestamp < 4_000_000_000, 'setup_timestamp in seconds');
    assert.equal(provider.seen.length, seenBefore, 'a create calls nothing');

    // Name unique; endpoint unique; Harbor's name rule; a known vendor.
    assert.equal(message(await call('POST', '/p2p/preheat/instances', 409, { name: 'df-one', vendor: 'kraken', endpoint: 'http://127.0.0.1:1' })), 'instance df-one already exists');
    await call('POST', '/p2p/preheat/instances', 409, { name: 'other', vendor: 'dragonfly', endpoint: provider.url });
    assert.equal(message(await call('POST', '/p2p/preheat/instances', 400, { name: '-bad', vendor: 'kraken', endpoint: 'http://127.0.0.1:1' })), 'name -bad is invalid');
    assert.match(message(await call('POST', '/p2p/preheat/instances', 400, { name: 'x1', vendor: 'nydus', endpoint: 'http://127.0.0.1:1' })), /^no driver registered for provider nydus/);
    await call('POST', '/p2p/preheat/instances', 400, { name: 'x2', vendor: 'kraken', endpoint: 'ftp://127.0.0.1:1' });
    await call('POST', '/p2p/preheat/instances', 400, { name: 'x3', vendor: 'kraken', endpoint: 'http://127.0.0.1:1', auth_mode: 'BASIC', auth_info: {} });

    // A second default takes the flag over.
    await call('POST', '/p2p/preheat/instances', 201, { name: 'kr-one', vendor: 'kraken', endpoint: `${provider.url}/kraken`, auth_mode: 'OAUTH', auth_info: { token: 'kr-Token-9' }, enabled: true, default: true });
    const listed = await call('GET', '/p2p/preheat/instances?page=1&page_size=10&sort=name', 200);
    assert.equal(listed.headers['x-total-count'], '2');
    const items = shape<InstanceView[]>(listed.json);
    assert.deepEqual(
      items.map((i) => [i.name, i.default]),
      [
        ['df-one', false],
        ['kr-one', true],
      ],
    );
    assert.deepEqual(
      shape<InstanceView[]>((await call('GET', '/p2p/preheat/instances?q=vendor%3Dkraken', 200)).json).map((i) => i.name),
      ['kr-one'],
    );

    // An update without auth_info keeps the stored credentials: the ping by id sends them.
    await call('PUT', '/p2p/preheat/instances/df-one', 200, { description: 'changed', auth_info: {} });
    const n = provider.seen.length;
    await call('POST', '/p2p/preheat/instances/ping', 200, { id: got.id });
    const ping = provider.seen.slice(n);
    assert.deepEqual(
      ping.map((s) => `${s.method} ${s.path}`),
      ['GET /healthy'],
    );
    assert.equal(ping[0]?.headers.authorization, 'Basic ' + Buffer.from('dfuser:df-Secret-1').toString('base64'));
    assert.equal(shape<InstanceView>((await call('GET', '/p2p/preheat/instances/df-one', 200)).json).description, 'changed');
    assert.equal(message(await call('PUT', '/p2p/preheat/instances/df-one', 400, { vendor: 'kraken' })), 'provider [df-one] vendor cannot be changed');
    assert.equal(message(await call('PUT', '/p2p/preheat/instances/nope', 404, { description: 'x' })), 'instance nope not found');

    // Kraken's health path, with the OAuth token.
    const k = shape<InstanceView>((await call('GET', '/p2p/preheat/instances/kr-one', 200)).json);
    const m = provider.seen.length;
    await call('POST', '/p2p/preheat/instances/ping', 200, { id: k.id });
    assert.equal(provider.seen[m]?.path, '/kraken/health');
    assert.equal(provider.seen[m]?.headers.authorization, 'Bearer kr-Token-9');

    await call('DELETE', '/p2p/preheat/instances/kr-one', 200);
    await call('GET', '/p2p/preheat/instances/kr-one', 404);
    await call('DELETE', '/p2p/preheat/instances/kr-one', 404);
  });

  it('pings by endpoint: healthy is 200, unhealthy or unreachable is 400, unknown id is 404', async () => {
    const n = provider.seen.length;
    await call('POST', '/p2p/preheat/instances/ping', 200, { vendor: 'kraken', endpoint: provider.url, auth_mode: 'CUSTOM', auth_info: { 'X-Kraken-Key': 'k-1' } });
    assert.equal(provider.seen[n]?.path, '/health');
    assert.equal(provider.seen[n]?.headers['x-kraken-key'], 'k-1');
    provider.healthy = false;
    try {
      assert.match(message(await call('POST', '/p2p/preheat/instances/ping', 400, { vendor: 'dragonfly', endpoint: provider.url })), /^preheat provider instance dragonfly-.*is not healthy: GET \/healthy answered 503/);
    } finally {
      provider.healthy = true;
    }
    await call('POST', '/p2p/preheat/instances/ping', 400, { vendor: 'dragonfly', endpoint: 'http://127.0.0.1:9' });
    await call('POST', '/p2p/preheat/instances/ping', 404, { id: 999_999 });
    await call('POST', '/p2p/preheat/instances/ping', 400, { vendor: 'dragonfly' });
  });

  it('is for system admins only', async () => {
    const user = await makeUser('preheatuser', 'Passw0rdPreheat');
    await call('GET', '/p2p/preheat/providers', 403, undefined, user);
    await call('GET', '/p2p/preheat/instances', 403, undefined, user);
    await call('POST', '/p2p/preheat/instances', 403, { name: 'u1', vendor: 'kraken', endpoint: 'http://127.0.0.1:1' }, user);
    await call('GET', '/p2p/preheat/instances', 401, undefined, 'Basic ' + Buffer.from('admin:wrong').toString('base64'));
    await call('POST', '/p2p/preheat/instances', 401, { name: 'u2', vendor: 'kraken', endpoint: 'http://127.0.0.1:1' }, '');
  });
});

const manual = JSON.stringify({ type: 'manual', trigger_setting: {} });
const allImages = JSON.stringify([
  { type: 'repository', value: '**' },
  { type: 'tag', value: '**' },
]);

async function instanceId(name: string): Promise<number> {
  return shape<InstanceView>((await call('GET', `/p2p/preheat/instances/${name}`, 200)).json).id;
}

describe('policies', () => {
  let projectAdmin: string;
  let developer: string;
  let providerId: number;

  before(async () => {
    await call('POST', '/projects', 201, { project_name: 'ph', metadata: { public: 'false' } });
    projectAdmin = await makeUser('phadmin', 'Passw0rdPhAdmin');
    developer = await makeUser('phdev', 'Passw0rdPhDev');
    await call('POST', '/projects/ph/members', 201, { role_id: 1, member_user: { username: 'phadmin' } });
    await call('POST', '/projects/ph/members', 201, { role_id: 2, member_user: { username: 'phdev' } });
    await call('POST', '/p2p/preheat/instances', 201, { name: 'df-policies', vendor: 'dragonfly', endpoint: `${provider.url}/df2`, enabled: true });
    providerId = await instanceId('df-policies');
  });

  it('creates, reads, lists, updates and deletes a policy with Harbor’s fields and messages', async () => {
    const body = { name: 'nightly', description: 'all images', provider_id: providerId, filters: allImages, trigger: manual, enabled: true, extra_attrs: JSON.stringify({ scope: 'all_peers' }) };
    const a = await call('POST', '/projects/ph/preheat/policies', 201, body, projectAdmin);
    assert.equal(a.headers.location, '/api/v2.0/projects/ph/preheat/policies/nightly');
    const got = shape<Record<string, unknown>>((await call('GET', '/projects/ph/preheat/policies/nightly', 200, undefined, projectAdmin)).json);
    assert.equal(got.name, 'nightly');
    assert.equal(got.provider_id, providerId);
    assert.equal(got.provider_name, 'df-policies');
    assert.equal(got.filters, allImages);
    assert.equal(got.trigger, manual);
    assert.equal(got.enabled, true);
    assert.equal(got.extra_attrs, JSON.stringify({ scope: 'all_peers' }));
    assert.ok(typeof got.project_id === 'number' && got.project_id > 0);
    assert.match(String(got.creation_time), /^\d{4}-\d\d-\d\dT/);

    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 409, body, projectAdmin)), 'policy nightly already exists');
    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'bad name' }, projectAdmin)), 'name bad name is invalid');
    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 404, { ...body, name: 'p2', provider_id: 999_999 }, projectAdmin)), 'instance 999999 not found');
    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p3', filters: '' }, projectAdmin)), 'missing filters in preheat policy schema');
    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p4', trigger: '' }, projectAdmin)), 'missing trigger settings in preheat policy schema');
    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p5', filters: JSON.stringify([{ type: 'tag', value: 3 }]) }, projectAdmin)), 'invalid string pattern format(int) for filter: tag');
    assert.equal(message(await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p6', filters: JSON.stringify([{ type: 'size', value: 'x' }]) }, projectAdmin)), 'unknown filter type: size');
    assert.match(message(await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p7', trigger: JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '0 0 * * *' } }) }, projectAdmin)), /^invalid cron string for scheduled preheat: 0 0 \* \* \*, error: /);
    await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p8', extra_attrs: JSON.stringify({ scope: 'everyone' }) }, projectAdmin);
    await call('POST', '/projects/ph/preheat/policies', 400, { ...body, name: 'p9', filters: '[{"type":"repository","value":"[z-a]"}]' }, projectAdmin);
    await call('POST', '/projects/nope/preheat/policies', 404, body);

    const listed = await call('GET', '/projects/ph/preheat/policies?page=1&page_size=10', 200, undefined, projectAdmin);
    assert.equal(listed.headers['x-total-count'], '1');
    assert.deepEqual(
      shape<Array<{ name: string; provider_name: string }>>(listed.json).map((p) => [p.name, p.provider_name]),
      [['nightly', 'df-policies']],
    );

    // The instance is in use: no delete, no disabling.
    assert.equal(message(await call('DELETE', '/p2p/preheat/instances/df-policies', 412)), 'Provider [df-policies] cannot be deleted as some preheat policies are using it');
    assert.equal(message(await call('PUT', '/p2p/preheat/instances/df-policies', 412, { enabled: false })), 'Provider [df-policies] cannot be disabled as some preheat policies are using it');

    await call('PUT', '/projects/ph/preheat/policies/nightly', 200, { ...body, name: 'nightly2', description: 'renamed', enabled: false }, projectAdmin);
    await call('GET', '/projects/ph/preheat/policies/nightly', 404, undefined, projectAdmin);
    const updated = shape<Record<string, unknown>>((await call('GET', '/projects/ph/preheat/policies/nightly2', 200, undefined, projectAdmin)).json);
    assert.equal(updated.description, 'renamed');
    assert.equal(updated.enabled, false);
    assert.equal(message(await call('GET', '/projects/ph/preheat/policies/none', 404, undefined, projectAdmin)), 'policy none not found');

    await call('DELETE', '/projects/ph/preheat/policies/nightly2', 200, undefined, projectAdmin);
    await call('GET', '/projects/ph/preheat/policies/nightly2', 404, undefined, projectAdmin);
  });

  it('lists the providers a project may use', async () => {
    const list = shape<Array<{ id: number; provider: string; enabled: boolean; default: boolean }>>((await call('GET', '/projects/ph/preheat/providers', 200, undefined, projectAdmin)).json);
    const mine = list.find((p) => p.id === providerId);
    assert.deepEqual(mine, { id: providerId, provider: `dragonfly df-policies-${provider.url}/df2`, enabled: true, default: false });
  });

  it('frees the instance of a deleted project’s policies', async () => {
    await call('POST', '/projects', 201, { project_name: 'gone', metadata: { public: 'false' } });
    await call('POST', '/p2p/preheat/instances', 201, { name: 'solo', vendor: 'kraken', endpoint: `${provider.url}/solo`, enabled: true });
    await call('POST', '/projects/gone/preheat/policies', 201, { name: 'p', provider_id: await instanceId('solo'), filters: allImages, trigger: manual, enabled: true });
    await call('DELETE', '/p2p/preheat/instances/solo', 412);
    await call('DELETE', '/projects/gone', 200);
    await call('DELETE', '/p2p/preheat/instances/solo', 200);
  });

  it('is for the project admin: a developer gets 403, anonymous 401', async () => {
    await call('GET', '/projects/ph/preheat/policies', 403, undefined, developer);
    await call('GET', '/projects/ph/preheat/providers', 403, undefined, developer);
    await call('POST', '/projects/ph/preheat/policies', 403, { name: 'x', provider_id: providerId, filters: allImages, trigger: manual }, developer);
    await call('GET', '/projects/ph/preheat/policies', 401, undefined, '');
    await call('POST', '/projects/ph/preheat/policies', 401, { name: 'x', provider_id: providerId, filters: allImages, trigger: manual }, '');
  });
});

interface ExecutionBody {
  id: number;
  vendor_type: string;
  vendor_id: number;
  status: string;
  status_message: string;
  trigger: string;
  metrics: { task_count: number; success_task_count: number; error_task_count: number };
  extra_attrs: { totalCount: number; trigger: string };
}

interface TaskBody {
  id: number;
  execution_id: number;
  status: string;
  extra_attrs: { artifact: string; digest: string; kind: string };
}

function jobBody(s: Seen): { type: string; args: { type: string; url: string; headers: Record<string, string>; scope?: string } } {
  return shape(JSON.parse(s.body));
}

describe('executions', { timeout: 120_000 }, () => {
  const policies = '/projects/pr/preheat/policies';
  let df: number;
  let kr: number;
  const digests = new Map<string, string>();

  before(async () => {
    await call('POST', '/projects', 201, { project_name: 'pr', metadata: { public: 'false' } });
    for (const [repo, tag] of [
      ['app', 'v1'],
      ['app', 'v2'],
      ['app', 'latest'],
      ['other', 'v1'],
    ] as const) {
      digests.set(`${repo}:${tag}`, await pushSmallImage(w.url, `pr/${repo}`, smallImage(`${repo}-${tag}`), { tag, auth: adminAuth }));
    }
    await call('POST', '/p2p/preheat/instances', 201, { name: 'df-runs', vendor: 'dragonfly', endpoint: `${provider.url}/df3`, enabled: true });
    await call('POST', '/p2p/preheat/instances', 201, { name: 'kr-runs', vendor: 'kraken', endpoint: `${provider.url}/kr3`, enabled: true });
    df = await instanceId('df-runs');
    kr = await instanceId('kr-runs');
  });

  async function finished(policy: string, id: number): Promise<ExecutionBody> {
    return eventually(async () => {
      const e = shape<ExecutionBody>((await call('GET', `${policies}/${policy}/executions/${id}`, 200)).json);
      return ['Success', 'Error', 'Stopped'].includes(e.status) ? e : undefined;
    });
  }

  async function start(policy: string): Promise<number> {
    const a = await call('POST', `${policies}/${policy}`, 201);
    const loc = String(a.headers.location);
    assert.match(loc, new RegExp(`^/api/v2\\.0/projects/pr/preheat/policies/${policy}/executions/\\d+$`));
    return Number(loc.split('/').pop());
  }

  it('preheats the matching images on Dragonfly with a credential that pulls them', async () => {
    const filters = JSON.stringify([
      { type: 'repository', value: 'app' },
      { type: 'tag', value: 'v*' },
    ]);
    await call('POST', policies, 201, { name: 'df-app', provider_id: df, filters, trigger: manual, enabled: true, extra_attrs: JSON.stringify({ scope: 'all_peers' }) });
    const n = provider.seen.length;
    const id = await start('df-app');
    const e = await finished('df-app', id);
    assert.equal(e.status, 'Success', JSON.stringify(e));
    assert.equal(e.vendor_type, 'P2P_PREHEAT');
    assert.equal(e.trigger, 'manual');
    assert.equal(e.metrics.task_count, 2);
    assert.equal(e.metrics.success_task_count, 2);
    assert.equal(e.extra_attrs.totalCount, 2);

    const listed = await call('GET', `${policies}/df-app/executions?page=1&page_size=10`, 200);
    assert.equal(listed.headers['x-total-count'], '1');
    assert.deepEqual(
      shape<ExecutionBody[]>(listed.json).map((x) => x.id),
      [id],
    );
    const tasks = shape<TaskBody[]>((await call('GET', `${policies}/df-app/executions/${id}/tasks`, 200)).json);
    assert.deepEqual(tasks.map((t) => t.extra_attrs.artifact).sort(), ['pr/app:v1', 'pr/app:v2']);
    assert.ok(tasks.every((t) => t.status === 'Success' && t.execution_id === id && t.extra_attrs.kind === 'image'));
    assert.equal(tasks.find((t) => t.extra_attrs.artifact === 'pr/app:v1')?.extra_attrs.digest, digests.get('app:v1'));

    const first = tasks[0];
    assert.ok(first);
    const log = await call('GET', `${policies}/df-app/executions/${id}/tasks/${first.id}/logs`, 200);
    assert.match(String(log.headers['content-type']), /^text\/plain/);
    assert.match(log.text, /preheat done/);
    assert.match(log.text, /SUCCESS blob-url peer-1 10\.0\.0\.1 cluster 1/);
    await call('GET', `${policies}/df-app/executions/${id}/tasks/999999/logs`, 404);
    await call('GET', `${policies}/df-app/executions/999999`, 404);

    // What Dragonfly received: a health check, one job per image, and polls of each job.
    const seen = provider.seen.slice(n);
    assert.equal(seen[0]?.path, '/df3/healthy');
    const jobs = seen.filter((s) => s.method === 'POST' && s.path === '/df3/oapi/v1/jobs').map(jobBody);
    assert.equal(jobs.length, 2);
    assert.ok(seen.some((s) => s.method === 'GET' && /^\/df3\/oapi\/v1\/jobs\/\d+$/.test(s.path)));
    for (const j of jobs) {
      assert.equal(j.type, 'preheat');
      assert.equal(j.args.type, 'image');
      assert.equal(j.args.scope, 'all_peers');
      assert.match(j.args.url, new RegExp(`^${w.url}/v2/pr/app/manifests/v[12]$`));
      const auth = j.args.headers.Authorization;
      assert.match(String(auth), /^Bearer \S+$/);
      // The provider can pull the image with what it was given...
      const pulled = await fetch(j.args.url, { headers: { authorization: String(auth), accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(pulled.status, 200);
      assert.equal(pulled.headers.get('docker-content-digest'), digests.get(`app:${j.args.url.endsWith('v1') ? 'v1' : 'v2'}`));
      // ...and nothing else.
      const other = await fetch(`${w.url}/v2/pr/other/manifests/v1`, { headers: { authorization: String(auth) } });
      assert.notEqual(other.status, 200);
    }
  });

  it('ends Error with the provider’s reason when Dragonfly fails the job', async () => {
    await call('POST', policies, 201, { name: 'df-fail', provider_id: df, filters: JSON.stringify([{ type: 'repository', value: 'other' }]), trigger: manual, enabled: true });
    provider.jobState = 'FAILURE';
    try {
      const id = await start('df-fail');
      const e = await finished('df-fail', id);
      assert.equal(e.status, 'Error');
      const [t] = shape<TaskBody[]>((await call('GET', `${policies}/df-fail/executions/${id}/tasks`, 200)).json);
      assert.ok(t);
      assert.match((await call('GET', `${policies}/df-fail/executions/${id}/tasks/${t.id}/logs`, 200)).text, /seed peer unreachable/);
    } finally {
      provider.jobState = 'SUCCESS';
    }
  });

  it('stops a running execution; a policy with a running execution cannot be deleted', async () => {
    await call('POST', policies, 201, { name: 'df-stop', provider_id: df, filters: JSON.stringify([{ type: 'repository', value: 'other' }]), trigger: manual, enabled: true });
    provider.jobState = 'PENDING';
    try {
      const id = await start('df-stop');
      await eventually(async () => shape<TaskBody[]>((await call('GET', `${policies}/df-stop/executions/${id}/tasks`, 200)).json).some((t) => t.status === 'Running'));
      assert.equal(message(await call('DELETE', `${policies}/df-stop`, 412)), `execution ${id} under the policy df-stop is running, stop it and retry`);
      await call('PATCH', `${policies}/df-stop/executions/${id}`, 400, { status: 'Running' });
      await call('PATCH', `${policies}/df-stop/executions/${id}`, 200, { status: 'Stopped' });
      assert.equal((await finished('df-stop', id)).status, 'Stopped');
      await call('DELETE', `${policies}/df-stop`, 200);
    } finally {
      provider.jobState = 'SUCCESS';
    }
  });

  it('refuses a disabled policy, and says when nothing matches', async () => {
    await call('POST', policies, 201, { name: 'off', provider_id: df, filters: allImages, trigger: manual, enabled: false });
    assert.match(message(await call('POST', `${policies}/off`, 400)), /^policy \d+:off is not enabled$/);
    await call('POST', policies, 201, { name: 'none', provider_id: df, filters: JSON.stringify([{ type: 'tag', value: 'nope*' }]), trigger: manual, enabled: true });
    const e = await finished('none', await start('none'));
    assert.equal(e.status, 'Success');
    assert.equal(e.status_message, 'no artifacts to preheat');
    assert.equal(e.metrics.task_count, 0);
  });

  it('keeps only artifacts below the project’s severity when prevent_vul is on (never scanned: none)', async () => {
    await call('PUT', '/projects/pr', 200, { metadata: { prevent_vul: 'true', severity: 'critical' } });
    try {
      await call('POST', policies, 201, { name: 'vul', provider_id: df, filters: allImages, trigger: manual, enabled: true });
      const e = await finished('vul', await start('vul'));
      assert.equal(e.metrics.task_count, 0);
    } finally {
      await call('PUT', '/projects/pr', 200, { metadata: { prevent_vul: 'false' } });
    }
  });

  it('starts an event-based policy on a matching push, with Kraken’s notification', async () => {
    await call('POST', policies, 201, { name: 'kr-push', provider_id: kr, filters: JSON.stringify([{ type: 'tag', value: 'v9*' }]), trigger: JSON.stringify({ type: 'event_based', trigger_setting: {} }), enabled: true });
    // A push the filters do not pass starts nothing; the matching one starts one run.
    await pushSmallImage(w.url, 'pr/app', smallImage('app-v8'), { tag: 'v8', auth: adminAuth });
    const digest = await pushSmallImage(w.url, 'pr/app', smallImage('app-v9'), { tag: 'v9', auth: adminAuth });
    const runs = await eventually(async () => {
      const list = shape<ExecutionBody[]>((await call('GET', `${policies}/kr-push/executions`, 200)).json);
      return list.length > 0 && list.every((x) => x.status === 'Success') ? list : undefined;
    });
    assert.equal(runs.length, 1);
    assert.equal(runs[0]?.trigger, 'event_based');
    const note = await eventually(async () => provider.seen.find((s) => s.method === 'POST' && s.path === '/kr3/registry/notifications'));
    const body = shape<{ events: Array<{ action: string; target: { repository: string; tag: string; digest: string; url: string; mediaType: string } }> }>(JSON.parse(note.body));
    assert.equal(body.events.length, 1);
    assert.equal(body.events[0]?.action, 'push');
    assert.deepEqual(
      { repository: body.events[0]?.target.repository, tag: body.events[0]?.target.tag, digest: body.events[0]?.target.digest, url: body.events[0]?.target.url },
      { repository: 'pr/app', tag: 'v9', digest, url: `${w.url}/v2/pr/app/manifests/v9` },
    );
  });

  it('installs a scheduled policy’s schedule and drops it with the policy', async () => {
    const trigger = JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '0 0 3 * * *' } });
    await call('POST', policies, 201, { name: 'nightly', provider_id: df, filters: allImages, trigger, enabled: true });
    const schedules = async () => shape<Array<{ vendor_type: string; vendor_id: number; cron: string }>>((await call('GET', '/schedules?page_size=100', 200)).json).filter((x) => x.vendor_type === 'P2P_PREHEAT_SCHEDULE');
    const [sched] = await schedules();
    assert.equal(sched?.cron, '0 0 3 * * *');
    await call('PUT', `${policies}/nightly`, 200, { name: 'nightly', provider_id: df, filters: allImages, trigger: manual, enabled: true });
    assert.deepEqual(await schedules(), []);
    await call('PUT', `${policies}/nightly`, 200, { name: 'nightly', provider_id: df, filters: allImages, trigger, enabled: true });
    assert.equal((await schedules()).length, 1);
    await call('DELETE', `${policies}/nightly`, 200);
    assert.deepEqual(await schedules(), []);
  });
});
