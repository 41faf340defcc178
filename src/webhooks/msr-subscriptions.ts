/**
 * MSR's webhook subscription API (Mirantis Secure Registry 2/3, `/api/v0/webhooks`) on Wharf's
 * webhook engine. An MSR subscription IS a webhook policy: created through the policy service (so
 * parsing, address vetting, the audit log and history all apply) with one http target in the MSR
 * payload format whose `msr_type` option names the subscribed type; the policy's project is the
 * key's namespace and its `repo_filters` the key's repository; TAG_* types add `tag_filters: ["*"]`
 * so events without a tag (pushes by digest) do not fire them.
 *
 * The other way round, every policy with an enabled-or-not http MSR target shows as MSR entries
 * where the shapes allow: a key (no repository filter, or one literal repository name) and no tag
 * filters beyond `*`. A target without `msr_type` shows one entry per MSR type its policy's event
 * types render to. An entry is `String(policy id)` when the policy is a plain subscription (one
 * target, one type); otherwise `<policy>-<target>-<TYPE>`, which DELETE refuses (edit such a
 * policy with the Harbor API).
 *
 * Permissions (MSR's rules on Wharf's roles): a key in a project needs project admin there (the
 * policy service's `manage-webhooks`); no key needs a system admin. Lists show the entries of the
 * projects the caller administers (all for a system admin).
 *
 * Types Wharf has no event for (PROMOTION, PUSH_MIRRORING, POLL_MIRRORING, REPO_UPDATED,
 * SCANNER_UPDATE_COMPLETED) are refused with a message saying so; `/test` sends their samples.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, WebhookPolicyRow, WebhookTargetRow } from '../db/index.ts';
import type { Actor, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import type { EventType } from '../events/index.ts';
import { fail, isDomainError, isValidProjectName, parseRepoName } from '../domain/index.ts';
import { storedObject, storedStringArray } from '../domain/index.ts';
import type { Resolver } from './http-client.ts';
import type { PolicyService, TestSender } from './policy-service.ts';
import type { PolicyScope, WebhookCallContext } from './policy-scope.ts';
import { applyTrust, parseTarget } from './policy-spec.ts';
import { vetAddresses } from './target-vetting.ts';
import { redactAddress } from './redaction.ts';
import { isRecord, rfc3339Nano } from './formats/common.ts';
import { isMsrType, msrSampleOption, msrTypeOption, msrTypes, type MsrWebhookType } from './formats/msr.ts';

/** What each MSR type subscribes to: Wharf event types (and whether only tagged events count), or why it never fires. */
export type MsrMapping = { events: readonly EventType[]; tagged: boolean } | { unavailable: string };

/** The one table from MSR's types to Wharf's events (docs/webhook-api.md, "MSR's webhook API"). */
export const msrTypeMapping: Readonly<Record<MsrWebhookType, MsrMapping>> = {
  TAG_PUSH: { events: ['PUSH_ARTIFACT'], tagged: true },
  TAG_PULL: { events: ['PULL_ARTIFACT'], tagged: true },
  TAG_DELETE: { events: ['DELETE_TAG'], tagged: true },
  MANIFEST_PUSH: { events: ['PUSH_ARTIFACT'], tagged: false },
  MANIFEST_PULL: { events: ['PULL_ARTIFACT'], tagged: false },
  MANIFEST_DELETE: { events: ['DELETE_ARTIFACT'], tagged: false },
  SCAN_COMPLETED: { events: ['SCANNING_COMPLETED'], tagged: false },
  SCAN_FAILED: { events: ['SCANNING_FAILED', 'SCANNING_STOPPED'], tagged: false },
  PROMOTION: { unavailable: 'Wharf has no promotion policies, so PROMOTION never fires' },
  PUSH_MIRRORING: { unavailable: 'Wharf mirrors with replication policies: subscribe to REPLICATION with the Harbor webhook API instead' },
  POLL_MIRRORING: { unavailable: 'Wharf mirrors with replication policies: subscribe to REPLICATION with the Harbor webhook API instead' },
  REPO_CREATED: { events: ['CREATE_REPOSITORY'], tagged: false },
  REPO_UPDATED: { unavailable: 'Wharf records no event when a repository is updated, so REPO_UPDATED never fires' },
  REPO_DELETED: { events: ['DELETE_REPOSITORY'], tagged: false },
  SCANNER_UPDATE_COMPLETED: { unavailable: 'Wharf records no event when the vulnerability database is updated, so SCANNER_UPDATE_COMPLETED never fires' },
};

/** The MSR types an MSR target without `msr_type` sends for each Wharf event type (./formats/msr.ts). */
const untypedRenders: Partial<Record<string, readonly MsrWebhookType[]>> = {
  PUSH_ARTIFACT: ['TAG_PUSH', 'MANIFEST_PUSH'],
  PULL_ARTIFACT: ['TAG_PULL', 'MANIFEST_PULL'],
  DELETE_ARTIFACT: ['MANIFEST_DELETE'],
  CREATE_TAG: ['TAG_PUSH'],
  DELETE_TAG: ['TAG_DELETE'],
  SCANNING_COMPLETED: ['SCAN_COMPLETED'],
  SCANNING_FAILED: ['SCAN_FAILED'],
  SCANNING_STOPPED: ['SCAN_FAILED'],
  CREATE_REPOSITORY: ['REPO_CREATED'],
  DELETE_REPOSITORY: ['REPO_DELETED'],
};

/** One MSR webhook subscription as MSR's API shows it. */
export interface MsrWebhookView {
  id: string;
  type: MsrWebhookType;
  key: string;
  endpoint: string;
  authorID: string;
  createdAt: string;
  /** The end of the newest successful delivery of this type to this endpoint; null when none. */
  lastSuccessfulAt: string | null;
  inactive: boolean;
  tlsCert: string;
  skipTLSVerification: boolean;
}

/** The receiver's answer to a test send (Wharf's reading of MSR's test endpoint). */
export interface MsrTestResult {
  statusCode: number;
  body: string;
}

/** A parsed key: all (system), a namespace, or a repository in a namespace. */
export type MsrKey = { kind: 'all' } | { kind: 'namespace'; namespace: string } | { kind: 'repository'; namespace: string; repository: string };

/** Parses MSR's `key`: '' or absent is all; `ns` a namespace (project); `ns/repo` a repository. BAD_REQUEST otherwise. */
export function parseMsrKey(raw: unknown): MsrKey {
  if (raw === undefined || raw === null || raw === '') return { kind: 'all' };
  if (typeof raw !== 'string') throw fail('BAD_REQUEST', 'key must be a string: a namespace or namespace/repository');
  if (!raw.includes('/')) {
    if (!isValidProjectName(raw)) throw fail('BAD_REQUEST', `invalid key "${raw}": not a namespace name`);
    return { kind: 'namespace', namespace: raw };
  }
  try {
    parseRepoName(raw);
  } catch {
    throw fail('BAD_REQUEST', `invalid key "${raw}": not a namespace/repository name`);
  }
  return { kind: 'repository', namespace: raw.slice(0, raw.indexOf('/')), repository: raw };
}

/** A validated `POST /api/v0/webhooks` body. */
export interface MsrSubscriptionSpec {
  type: MsrWebhookType;
  key: MsrKey;
  endpoint: string;
  tlsCert: string;
  skipTLSVerification: boolean;
}

function msrTypeOf(v: unknown): MsrWebhookType {
  if (typeof v !== 'string' || v === '') throw fail('BAD_REQUEST', 'type is required: one of ' + msrTypes.join(', '));
  if (!isMsrType(v)) throw fail('BAD_REQUEST', `unknown webhook type ${v}: use one of ${msrTypes.join(', ')}`);
  return v;
}

/** Parses a subscription (or, without `key`, a test) body. */
export function parseMsrSubscription(body: unknown): MsrSubscriptionSpec {
  if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object {type, key, endpoint}', { msrCode: 'INVALID_JSON' });
  const type = msrTypeOf(body.type);
  if (typeof body.endpoint !== 'string' || body.endpoint.trim() === '') throw fail('BAD_REQUEST', 'endpoint is required');
  if (body.tlsCert !== undefined && body.tlsCert !== null && typeof body.tlsCert !== 'string') throw fail('BAD_REQUEST', 'tlsCert must be a string (PEM)');
  const skip = body.skipTLSVerification;
  if (skip !== undefined && skip !== null && typeof skip !== 'boolean') throw fail('BAD_REQUEST', 'skipTLSVerification must be true or false');
  return { type, key: parseMsrKey(body.key), endpoint: body.endpoint, tlsCert: typeof body.tlsCert === 'string' ? body.tlsCert : '', skipTLSVerification: skip === true };
}

/** The Harbor policy body of a subscription (what POST /api/v0/webhooks creates). */
export function subscriptionPolicyBody(spec: MsrSubscriptionSpec): Record<string, unknown> {
  const mapping = msrTypeMapping[spec.type];
  if ('unavailable' in mapping) throw fail('BAD_REQUEST', `webhook type ${spec.type} is not available: ${mapping.unavailable}`);
  return {
    name: `msr-${spec.type.toLowerCase()}-${randomBytes(6).toString('hex')}`,
    description: `MSR webhook subscription (${spec.type}${spec.key.kind === 'all' ? '' : ` on ${spec.key.kind === 'namespace' ? spec.key.namespace : spec.key.repository}`}), created with /api/v0/webhooks`,
    enabled: true,
    event_types: [...mapping.events],
    repo_filters: spec.key.kind === 'repository' ? [spec.key.repository] : [],
    tag_filters: mapping.tagged ? ['*'] : [],
    targets: [targetBody(spec)],
  };
}

function targetBody(spec: Pick<MsrSubscriptionSpec, 'type' | 'endpoint' | 'tlsCert' | 'skipTLSVerification'>): Record<string, unknown> {
  return {
    type: 'http',
    address: spec.endpoint,
    payload_format: 'MSR',
    msr_type: spec.type,
    skip_cert_verify: spec.skipTLSVerification,
    ...(spec.tlsCert === '' ? {} : { ca_cert: spec.tlsCert }),
  };
}

/** A literal repository name (no glob characters) a repo filter may be read as a key. */
function literalRepository(filter: string, namespace: string): boolean {
  return filter.startsWith(`${namespace}/`) && !/[*?[\]{}\\!]/.test(filter);
}

/** The key of a policy, or null when its filters are not a key's shape. */
export function policyKey(projectName: string | null, repoFilters: readonly string[], tagFilters: readonly string[]): string | null {
  if (tagFilters.some((f) => f !== '*')) return null;
  if (repoFilters.length === 0) return projectName ?? '';
  const [only] = repoFilters;
  if (repoFilters.length !== 1 || only === undefined || projectName === null || !literalRepository(only, projectName)) return null;
  return only;
}

/** The MSR types one target of a policy sends (its `msr_type`, else what its event types render to). */
export function targetTypes(eventTypes: readonly string[], options: Record<string, unknown>): MsrWebhookType[] {
  const typed = options[msrTypeOption];
  if (typeof typed === 'string' && isMsrType(typed)) {
    const m = msrTypeMapping[typed];
    return 'events' in m && m.events.some((e) => eventTypes.includes(e)) ? [typed] : [];
  }
  const out = new Set<MsrWebhookType>();
  for (const e of eventTypes) for (const t of untypedRenders[e] ?? []) out.add(t);
  return msrTypes.filter((t) => out.has(t));
}

/** What the subscription service needs. */
export interface MsrSubscriptionsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  config: Config;
  policies: PolicyService;
  sender: TestSender;
  resolver?: Resolver;
}

/** Which entries a list returns. */
export type MsrListFilter = { kind: 'mine' } | { kind: 'key'; key: string; namespace: string };

interface Entry {
  view: MsrWebhookView;
  policyId: number;
  projectId: number | null;
  projectName: string | null;
  plain: boolean;
}

/** MSR's webhook subscriptions over webhook policies; see the module comment. */
export class MsrSubscriptions {
  constructor(private readonly deps: MsrSubscriptionsDeps) {}

  /** Creates a subscription (a policy) and returns it as MSR shows it. */
  async create(ctx: WebhookCallContext, body: unknown): Promise<MsrWebhookView> {
    const spec = parseMsrSubscription(body);
    if (spec.key.kind === 'all' && !ctx.actor.sysadmin) {
      if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'authentication required');
      throw fail('FORBIDDEN', 'only system admins may omit key (a subscription to every repository); give a namespace or namespace/repository');
    }
    const policyBody = subscriptionPolicyBody(spec);
    const scope: PolicyScope = spec.key.kind === 'all' ? { kind: 'system' } : { kind: 'project', nameOrId: spec.key.namespace, isName: true };
    const id = await this.deps.policies.createPolicy(ctx, scope, policyBody).catch((err: unknown) => {
      if (isDomainError(err, 'NOT_FOUND') && spec.key.kind !== 'all') throw fail('NOT_FOUND', `namespace ${spec.key.namespace} not found`, { msrCode: 'NAMESPACE_NOT_FOUND' });
      throw err;
    });
    const [entry] = await this.entries({ policyIds: [id] });
    if (!entry) throw new Error(`subscription ${id} was created but does not read back as one`);
    return entry.view;
  }

  /** The entries the caller may see: everything for a system admin, else those of the projects it administers. */
  async list(ctx: WebhookCallContext, filter: MsrListFilter): Promise<MsrWebhookView[]> {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'authentication required');
    if (filter.kind === 'key') {
      const project = await this.deps.db.selectFrom('projects').select(['id', 'name', 'public']).where('name', '=', filter.namespace).executeTakeFirst();
      if (!project) throw fail('NOT_FOUND', `namespace ${filter.namespace} not found`, { msrCode: 'NAMESPACE_NOT_FOUND' });
      this.deps.authorizer.check(ctx.actor, 'manage-webhooks', { name: project.name, public: project.public === 1 });
      return (await this.entries({ projectId: project.id })).filter((e) => e.view.key === filter.key).map((e) => e.view);
    }
    const all = await this.entries({});
    return all.filter((e) => this.mayManage(ctx.actor, e)).map((e) => e.view);
  }

  /** Deletes a plain subscription (its policy and history). NOT_FOUND for an unknown id; CONFLICT for an entry of a larger policy. */
  async delete(ctx: WebhookCallContext, id: string): Promise<void> {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'authentication required');
    const notFound = () => fail('NOT_FOUND', `webhook subscription ${id} not found`, { msrCode: 'WEBHOOK_NOT_FOUND' });
    const m = /^([0-9]{1,15})(?:-([0-9]{1,15})-([A-Z_]+))?$/.exec(id);
    if (!m) throw notFound();
    const entry = (await this.entries({ policyIds: [Number(m[1])] })).find((e) => e.view.id === id);
    if (!entry || !this.mayManage(ctx.actor, entry)) throw notFound();
    if (!entry.plain) {
      const where = entry.projectName === null ? '/api/v2.0/system/webhook/policies' : `/api/v2.0/projects/${entry.projectName}/webhook/policies`;
      throw fail('CONFLICT', `webhook ${id} is one target and type of webhook policy ${entry.policyId}, which sends more; change it at ${where}/${entry.policyId}`);
    }
    const scope: PolicyScope = entry.projectId === null ? { kind: 'system' } : { kind: 'project', nameOrId: String(entry.projectId), isName: false };
    await this.deps.policies.deletePolicy(ctx, scope, entry.policyId);
  }

  /**
   * Sends MSR's fixed sample of `type` to `endpoint` now, through the engine's client, address
   * policy and TLS settings; nothing is stored. Any signed-in user may test (MSR lets whoever
   * can create a webhook test one first); private addresses follow the policy API's rules.
   */
  async test(ctx: WebhookCallContext, body: unknown): Promise<MsrTestResult> {
    if (ctx.actor.username === '') throw fail('UNAUTHORIZED', 'authentication required');
    const spec = parseMsrSubscription(isRecord(body) ? { ...body, key: undefined } : body);
    const target = parseTarget(targetBody(spec), 0, '', undefined);
    applyTrust(ctx.actor, [target], [], await vetAddresses(this.deps, ctx.actor, [target], [], true));
    const r = await this.deps.sender.sendTest({ ...target, options: { ...target.options, [msrSampleOption]: true } }, { operator: ctx.actor.username });
    if (r.responseStatus === null) throw fail('BAD_REQUEST', `the test webhook could not be delivered: ${r.error ?? 'no answer'}`, { msrCode: 'WEBHOOK_TEST_FAILED' });
    return { statusCode: r.responseStatus, body: r.responseBody ?? '' };
  }

  private mayManage(actor: Actor, e: Entry): boolean {
    if (actor.sysadmin) return true;
    if (e.projectName === null) return false;
    return this.deps.authorizer.allows(actor, 'manage-webhooks', { name: e.projectName, public: false });
  }

  /** Every MSR entry of the selected policies (by id, by project, or all). */
  private async entries(sel: { policyIds?: number[]; projectId?: number }): Promise<Entry[]> {
    const { db } = this.deps;
    // The MSR targets first (few), then only their policies: the policy table may be large.
    let tq = db
      .selectFrom('webhook_targets')
      .innerJoin('webhook_policies', 'webhook_policies.id', 'webhook_targets.policy_id')
      .selectAll('webhook_targets')
      .where('webhook_targets.type', '=', 'http')
      .where('webhook_targets.payload_format', '=', 'MSR');
    if (sel.policyIds) tq = tq.where('webhook_targets.policy_id', 'in', sel.policyIds);
    if (sel.projectId !== undefined) tq = tq.where('webhook_policies.project_id', '=', sel.projectId);
    const targets = await tq.orderBy('webhook_targets.position').orderBy('webhook_targets.id').execute();
    if (targets.length === 0) return [];
    const policies = await db.selectFrom('webhook_policies').selectAll().where('id', 'in', [...new Set(targets.map((t) => t.policy_id))]).orderBy('id').execute();
    const projectIds = [...new Set(policies.map((p) => p.project_id).filter((x): x is number => x !== null))];
    const projects = projectIds.length === 0 ? [] : await db.selectFrom('projects').select(['id', 'name']).where('id', 'in', projectIds).execute();
    const projectNames = new Map(projects.map((p) => [p.id, p.name]));
    const creators = [...new Set(policies.map((p) => p.creator))];
    const users = await db.selectFrom('users').select(['id', 'username']).where('username', 'in', creators).execute();
    const userIds = new Map(users.map((u) => [u.username, String(u.id)]));
    const successes = await db
      .selectFrom('webhook_executions')
      .select(['target_id', 'event_type'])
      .select((eb) => eb.fn.max('end_time').as('last'))
      .where('target_id', 'in', targets.map((t) => t.id))
      .where('status', '=', 'Success')
      .groupBy(['target_id', 'event_type'])
      .execute();
    const byPolicy = new Map<number, WebhookTargetRow[]>();
    for (const t of targets) byPolicy.set(t.policy_id, [...(byPolicy.get(t.policy_id) ?? []), t]);
    const out: Entry[] = [];
    for (const p of policies) {
      const ts = byPolicy.get(p.id) ?? [];
      const projectName = p.project_id === null ? null : (projectNames.get(p.project_id) ?? null);
      if (p.project_id !== null && projectName === null) continue;
      const key = policyKey(projectName, storedStringArray(p.repo_filters), storedStringArray(p.tag_filters));
      if (key === null) continue;
      const events = storedStringArray(p.event_types);
      const perTarget = ts.map((t) => ({ t, types: targetTypes(events, storedObject(t.options)) }));
      const total = perTarget.reduce((n, x) => n + x.types.length, 0);
      const plain = total === 1 && ts.length === 1;
      for (const { t, types } of perTarget) {
        for (const type of types) {
          out.push({ view: this.view(p, t, type, key, plain, userIds, successes), policyId: p.id, projectId: p.project_id, projectName, plain });
        }
      }
    }
    return out;
  }

  private view(
    p: WebhookPolicyRow,
    t: WebhookTargetRow,
    type: MsrWebhookType,
    key: string,
    plain: boolean,
    userIds: ReadonlyMap<string, string>,
    successes: ReadonlyArray<{ target_id: number; event_type: string; last: number | string | null }>,
  ): MsrWebhookView {
    const m = msrTypeMapping[type];
    const events: readonly string[] = 'events' in m ? m.events : [];
    let last: number | null = null;
    for (const s of successes) {
      if (s.target_id !== t.id || !events.includes(s.event_type) || s.last === null) continue;
      const v = Number(s.last); // PostgreSQL returns bigint aggregates as text
      if (last === null || v > last) last = v;
    }
    const opts = storedObject(t.options);
    return {
      id: plain ? String(p.id) : `${p.id}-${t.id}-${type}`,
      type,
      key,
      endpoint: redactAddress(t.address),
      authorID: userIds.get(p.creator) ?? '',
      createdAt: rfc3339Nano(p.creation_time),
      lastSuccessfulAt: last === null ? null : rfc3339Nano(last),
      inactive: p.enabled !== 1 || t.enabled !== 1,
      tlsCert: typeof opts.ca_cert === 'string' ? opts.ca_cert : '',
      skipTLSVerification: t.skip_cert_verify === 1,
    };
  }
}
