/**
 * Webhook relays: a project's endpoints for registries that are not Wharf. A project admin (or a
 * system admin) creates one and gets its URL, `<external_url>/api/v2.0/relay/<token>`, once; the
 * token is random (32 bytes), stored only as its SHA-256 and compared in constant time. A payload
 * posted there is parsed (./detect.ts) into Wharf events of the relay's project and written to the
 * outbox in one transaction with a receipt per source event, so that a redelivery (Harbor retries
 * with the same bytes) is recorded once; the dispatcher then routes them like any other event:
 * the project's policies, their filters and formats, retries and history. Receipts are kept
 * {@link receiptTtlMs}. The service knows nothing of HTTP.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { relayStore, type Database, type WebhookRelayRow } from '../../db/index.ts';
import type { AuditTrail, Authorizer } from '../../auth/index.ts';
import type { Config } from '../../config/index.ts';
import type { Consumer, Outbox, RelaySource } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';
import { resolveScope, type PolicyScope, type WebhookCallContext } from '../policy-scope.ts';
import { parseRelayPayload } from './detect.ts';
import type { RelayInput } from './types.ts';

/** How long a relay remembers a source event it recorded (Harbor's retries end within minutes). */
export const receiptTtlMs = 24 * 60 * 60 * 1000;

/** The path under /api/v2.0 that receives relayed payloads. */
export const relayPathPrefix = '/api/v2.0/relay/';

/** A relay as lists show it (never its token). */
export interface RelayView {
  id: number;
  name: string;
  description: string;
  creator: string;
  creation_time: string;
  /** When a payload was last accepted; null: never. */
  last_received_time: string | null;
}

/** A relay just created: its URL and token, shown this once. */
export interface CreatedRelayView extends RelayView {
  url: string;
  token: string;
}

/** What a receipt says. */
export interface RelayReceipt {
  source: RelaySource;
  /** Wharf events recorded. */
  accepted: number;
  /** Source events recorded before (redeliveries). */
  duplicates: number;
  /** Source events with no Wharf counterpart. */
  ignored: number;
}

/** What the relay service needs. */
export interface WebhookRelaysDeps {
  db: Kysely<Database>;
  outbox: Outbox;
  authorizer: Authorizer;
  /** Read at each call: `external_url` builds the relay URL. */
  config: Pick<Config, 'external_url'>;
  audit: AuditTrail;
}

const namePattern = /^[a-z0-9][a-z0-9._-]{0,127}$/i;

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function view(r: WebhookRelayRow): RelayView {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    creator: r.creator,
    creation_time: new Date(r.creation_time).toISOString(),
    last_received_time: r.last_received_at === null ? null : new Date(r.last_received_at).toISOString(),
  };
}

/** Parses `{name, description?}`. */
function parseCreate(body: unknown): { name: string; description: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail('BAD_REQUEST', 'the relay must be a JSON object with a "name"');
  const name: unknown = Reflect.get(body, 'name');
  const description: unknown = Reflect.get(body, 'description') ?? '';
  if (typeof name !== 'string' || !namePattern.test(name)) throw fail('BAD_REQUEST', 'relay name must be 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit');
  if (typeof description !== 'string' || description.length > 1024) throw fail('BAD_REQUEST', 'relay description must be a string of at most 1024 characters');
  return { name, description };
}

/** Webhook relays; see the module comment. */
export class WebhookRelays {
  constructor(private readonly deps: WebhookRelaysDeps) {}

  /** The URL a source registry posts to. */
  private url(token: string): string {
    return `${this.deps.config.external_url.replace(/\/+$/, '')}${relayPathPrefix}${token}`;
  }

  /** Creates a relay in a project (project admins and system admins). */
  async create(ctx: WebhookCallContext, scope: PolicyScope, body: unknown): Promise<CreatedRelayView> {
    if (scope.kind !== 'project') throw fail('BAD_REQUEST', 'relays belong to a project');
    const project = await resolveScope(this.deps, ctx, scope, 'manage');
    if (!project) throw fail('NOT_FOUND', `project ${scope.nameOrId} not found`);
    const spec = parseCreate(body);
    const token = `whr_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    const row = { project_id: project.id, name: spec.name, description: spec.description, token_hash: hashToken(token), creator: ctx.actor.username, creation_time: now };
    const id = await this.deps.db.transaction().execute(async (trx) => {
      const created = await relayStore.insert(trx, row);
      if (created === null) return null;
      await this.deps.audit.record(trx, { projectId: project.id, username: ctx.actor.username, operation: 'create', resourceType: 'webhook_relay', resource: `${project.name}/${spec.name}` });
      return created;
    });
    if (id === null) throw fail('CONFLICT', `relay ${spec.name} already exists in project ${project.name}`);
    return { ...view({ ...row, id, last_received_at: null }), url: this.url(token), token };
  }

  /** The relays of a project (maintainers and above; no tokens). */
  async list(ctx: WebhookCallContext, scope: PolicyScope): Promise<RelayView[]> {
    if (scope.kind !== 'project') throw fail('BAD_REQUEST', 'relays belong to a project');
    const project = await resolveScope(this.deps, ctx, scope, 'read-settings');
    if (!project) return [];
    return (await relayStore.listOfProject(this.deps.db, project.id)).map(view);
  }

  /**
   * The outbox consumer that deletes a deleted project's relays and their receipts. It starts from
   * the first event, so relays left behind by projects deleted before it existed go too.
   */
  cleanupConsumer(): Consumer {
    return {
      name: 'webhook-relays-cleanup',
      types: ['DELETE_PROJECT'],
      handle: async (batch, trx) => {
        for (const r of batch) {
          if (r.event?.type === 'DELETE_PROJECT') await relayStore.deleteOfProject(trx, r.event.project.id);
        }
      },
    };
  }

  /** Deletes a relay: its URL stops working at once. */
  async delete(ctx: WebhookCallContext, scope: PolicyScope, id: number): Promise<void> {
    if (scope.kind !== 'project') throw fail('BAD_REQUEST', 'relays belong to a project');
    const project = await resolveScope(this.deps, ctx, scope, 'manage');
    if (!project) throw fail('NOT_FOUND', `project ${scope.nameOrId} not found`);
    if (!Number.isSafeInteger(id) || id < 1) throw fail('BAD_REQUEST', 'invalid relay id');
    await this.deps.db.transaction().execute(async (trx) => {
      const r = await relayStore.getInProject(trx, project.id, id);
      if (!r) throw fail('NOT_FOUND', `relay ${id} not found`);
      await relayStore.delete(trx, id);
      await this.deps.audit.record(trx, { projectId: project.id, username: ctx.actor.username, operation: 'delete', resourceType: 'webhook_relay', resource: `${project.name}/${r.name}` });
    });
  }

  /**
   * Records a payload posted to a relay's URL. NOT_FOUND for a token no relay has (or whose
   * project is gone), BAD_REQUEST for a payload no parser reads.
   */
  async receive(token: string, input: RelayInput): Promise<RelayReceipt> {
    const hash = hashToken(token);
    const found = await relayStore.byTokenHash(this.deps.db, hash);
    // The lookup is by hash; the comparison of the stored hash is constant-time all the same.
    if (!found || !timingSafeEqual(Buffer.from(found.relay.token_hash, 'hex'), Buffer.from(hash, 'hex'))) throw fail('NOT_FOUND', 'relay not found');
    const { relay, project } = found;
    const now = Date.now();
    const parsed = parseRelayPayload(input, { project, relayName: relay.name, now });
    const duplicates = await this.deps.db.transaction().execute(async (trx) => {
      const fresh = [];
      for (const e of parsed.events) if (await relayStore.claim(trx, relay.id, e.sourceKey, now)) fresh.push(e.event);
      if (fresh.length > 0) await this.deps.outbox.appendMany(trx, fresh);
      await relayStore.touch(trx, relay.id, now);
      await relayStore.pruneReceipts(trx, relay.id, now - receiptTtlMs);
      return parsed.events.length - fresh.length;
    });
    return { source: parsed.source, accepted: parsed.events.length - duplicates, duplicates, ignored: parsed.ignored };
  }
}
