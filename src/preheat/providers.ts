/**
 * The P2P providers Wharf drives, as Harbor's drivers do: Dragonfly (health `GET /healthy`;
 * preheat `POST /oapi/v1/jobs`, progress `GET /oapi/v1/jobs/{id}`) and Kraken (health `GET
 * /health`; preheat `POST /registry/notifications` with a distribution-style push notification,
 * done once accepted). Requests go through undici with the same outgoing rules as replication's
 * admin-saved endpoints: the system roots plus `tls.trusted_ca_files` (or no verification when
 * the instance is `insecure`), a timeout on connect, headers and body, and a cap on what is read.
 * Instances are saved by a system admin only, as registry endpoints are. The instance's
 * credentials go into request headers only: never into a URL, a log line or an error message.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import { trustedCa } from '../platform/index.ts';
import type { RemoteLimits } from '../replication/index.ts';

/** The vendors Wharf serves. */
export const vendors = ['dragonfly', 'kraken'] as const;
/** One vendor id. */
export type Vendor = (typeof vendors)[number];

/** True when `v` names a served vendor. */
export function isVendor(v: string): v is Vendor {
  return (vendors as readonly string[]).includes(v);
}

/** Harbor's auth modes of an instance. */
export const authModes = ['NONE', 'BASIC', 'OAUTH', 'CUSTOM'] as const;
/** One auth mode. */
export type AuthMode = (typeof authModes)[number];

/** True when `m` names an auth mode. */
export function isAuthMode(m: string): m is AuthMode {
  return (authModes as readonly string[]).includes(m);
}

/** Harbor's Metadata of a provider. */
export interface ProviderMetadata {
  id: string;
  name: string;
  icon: string;
  maintainers: string[];
  version: string;
  source: string;
}

/** The providers' metadata, as Harbor lists them (`GET /p2p/preheat/providers`). */
export const providerMetadata: readonly ProviderMetadata[] = [
  {
    id: 'dragonfly',
    name: 'Dragonfly',
    icon: 'https://raw.githubusercontent.com/dragonflyoss/Dragonfly2/master/docs/images/logo/dragonfly-linear.png',
    maintainers: ['chlins.zhang@gmail.com', 'gaius.qi@gmail.com'],
    version: '2.1.59',
    source: 'https://github.com/dragonflyoss/Dragonfly2',
  },
  {
    id: 'kraken',
    name: 'Kraken',
    icon: 'https://github.com/uber/kraken/blob/master/assets/kraken-logo-color.svg',
    maintainers: ['mmpei/peimingming@corp.netease.com'],
    version: '0.1.3',
    source: 'https://github.com/uber/kraken',
  },
];

/** How to reach one instance. */
export interface ProviderAccess {
  vendor: Vendor;
  /** Normalized: http(s), no trailing slash. */
  endpoint: string;
  authMode: AuthMode;
  /** Holds secrets: never log it or show it. */
  authInfo: Record<string, string>;
  insecure: boolean;
}

/** What a provider is asked to preheat. */
export interface PreheatImage {
  /** The manifest URL the provider pulls: `<registry>/v2/<repository>/manifests/<tag or digest>`. */
  url: string;
  /** Headers the provider sends with its pulls (the short-lived Authorization). */
  headers: Record<string, string>;
  /** The repository path (`project/repo`). */
  image: string;
  tag: string;
  digest: string;
}

/** Harbor's preheating states. */
export type PreheatState = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAIL';

/** A provider's answer about one preheat. */
export interface PreheatProgress {
  /** The provider's id of the preheat (Dragonfly's job id, Kraken's event id). */
  taskId: string;
  state: PreheatState;
  /** What failed, when `state` is FAIL. */
  error?: string;
  /** The provider's account of what was done (lines), when it gives one. */
  detail?: string[];
}

/** The Dragonfly scopes Harbor accepts in a policy's `extra_attrs.scope`. */
export const dragonflyScopes = ['single_seed_peer', 'all_seed_peers', 'all_peers'] as const;

/** Extra attributes a Dragonfly preheat takes from its policy. */
export interface DragonflyAttrs {
  scope?: string;
  clusterIds?: number[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The Authorization (or custom) headers of an instance's auth mode. */
export function authHeaders(access: Pick<ProviderAccess, 'authMode' | 'authInfo'>): Record<string, string> {
  const info = access.authInfo;
  switch (access.authMode) {
    case 'NONE':
      return {};
    case 'BASIC':
      return { authorization: `Basic ${Buffer.from(`${info.username ?? ''}:${info.password ?? ''}`).toString('base64')}` };
    case 'OAUTH':
      return { authorization: `Bearer ${info.token ?? ''}` };
    case 'CUSTOM':
      return Object.fromEntries(Object.entries(info).map(([k, v]) => [k.toLowerCase(), v]));
  }
}

/** Calls to one provider instance; close it when done. */
export class ProviderClient {
  private readonly agent: Agent;

  constructor(
    private readonly access: ProviderAccess,
    private readonly limits: RemoteLimits,
  ) {
    const connect = access.insecure ? { rejectUnauthorized: false } : { ca: trustedCa(), rejectUnauthorized: true };
    const t = limits.timeoutMs;
    this.agent = new Agent({ connect: { ...connect, timeout: t }, headersTimeout: t, bodyTimeout: t });
  }

  /** Releases the connections. */
  async close(): Promise<void> {
    await this.agent.close();
  }

  /** One call; an Error naming the method, path and status unless it answers 2xx. */
  private async call(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const url = `${this.access.endpoint}${path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(this.access) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(url, {
      method,
      headers,
      dispatcher: this.agent,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += b.length;
      if (size > this.limits.maxBodyBytes) {
        res.body.destroy();
        throw new Error(`${method} ${path} answered more than ${this.limits.maxBodyBytes} bytes`);
      }
      chunks.push(b);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`${method} ${path} answered ${res.statusCode}${text.trim() === '' ? '' : `: ${text.trim().slice(0, 200)}`}`);
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  /** The health check: resolves when the provider answers 2xx at its health path. */
  async health(signal?: AbortSignal): Promise<void> {
    await this.call('GET', this.access.vendor === 'dragonfly' ? '/healthy' : '/health', undefined, signal);
  }

  /** Starts a preheat of one image. */
  async preheat(image: PreheatImage, attrs: DragonflyAttrs, signal?: AbortSignal): Promise<PreheatProgress> {
    if (this.access.vendor === 'kraken') {
      const id = randomUUID();
      const notification = {
        events: [
          {
            id,
            timestamp: new Date().toISOString(),
            action: 'push',
            target: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: image.digest, repository: image.image, url: image.url, tag: image.tag },
          },
        ],
      };
      await this.call('POST', '/registry/notifications', notification, signal);
      return { taskId: id, state: 'SUCCESS' };
    }
    const job = {
      type: 'preheat',
      args: { type: 'image', url: image.url, headers: image.headers, ...(attrs.scope ? { scope: attrs.scope } : {}) },
      ...(attrs.clusterIds && attrs.clusterIds.length > 0 ? { scheduler_cluster_ids: attrs.clusterIds } : {}),
    };
    const answer = await this.call('POST', '/oapi/v1/jobs', job, signal);
    if (!isObj(answer) || (typeof answer.id !== 'number' && typeof answer.id !== 'string')) throw new Error('POST /oapi/v1/jobs answered no job id');
    return { taskId: String(answer.id), state: 'PENDING' };
  }

  /** Where a started preheat stands (Kraken's are done once accepted). */
  async progress(taskId: string, signal?: AbortSignal): Promise<PreheatProgress> {
    if (this.access.vendor === 'kraken') return { taskId, state: 'SUCCESS' };
    const answer = await this.call('GET', `/oapi/v1/jobs/${encodeURIComponent(taskId)}`, undefined, signal);
    if (!isObj(answer)) throw new Error(`GET /oapi/v1/jobs/${taskId} answered no job`);
    return dragonflyProgress(taskId, answer);
  }
}

function jobStates(answer: Obj): Obj[] {
  const result = answer.result;
  if (!isObj(result) || !Array.isArray(result.job_states)) return [];
  return result.job_states.filter(isObj);
}

/** Reads a Dragonfly job answer: PENDING is running, SUCCESS lists the peers, FAILURE the errors. */
export function dragonflyProgress(taskId: string, answer: Obj): PreheatProgress {
  const state = answer.state;
  if (state === 'PENDING') return { taskId, state: 'RUNNING' };
  if (state === 'SUCCESS') {
    const detail: string[] = [];
    for (const js of jobStates(answer)) {
      for (const r of Array.isArray(js.results) ? js.results.filter(isObj) : []) {
        const cluster = String(r.scheduler_cluster_id ?? '');
        for (const t of Array.isArray(r.success_tasks) ? r.success_tasks.filter(isObj) : []) detail.push(`SUCCESS ${String(t.url ?? '')} ${String(t.hostname ?? '')} ${String(t.ip ?? '')} cluster ${cluster}`);
        for (const t of Array.isArray(r.failure_tasks) ? r.failure_tasks.filter(isObj) : []) detail.push(`FAILURE ${String(t.url ?? '')} ${String(t.hostname ?? '')} ${String(t.ip ?? '')} cluster ${cluster}: ${String(t.description ?? '')}`);
      }
    }
    return { taskId, state: 'SUCCESS', detail };
  }
  if (state === 'FAILURE') {
    const errors = jobStates(answer).map((js) => String(js.error ?? '')).filter((e) => e !== '');
    return { taskId, state: 'FAIL', error: errors.length > 0 ? errors.join('; ') : 'the provider reported a failure' };
  }
  return { taskId, state: 'FAIL', error: `unknown state: ${String(state)}` };
}
