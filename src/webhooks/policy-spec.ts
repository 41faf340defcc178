/**
 * The policy API's input parsed into typed values, before any I/O: Harbor's `ParseEndpoint`, its
 * target and policy rules with its exact messages (targets first, then event types, as Harbor's
 * handler checks them), and Wharf's fields on the same objects (signing secret, custom headers,
 * timeout, signature style, CloudEvents mode, Distribution content type, filters).
 *
 * Secrets are write-only: an update that leaves a secret out, or sends the placeholder a read
 * gave, keeps the stored value, but only for a target whose address did not change, so editing a
 * policy cannot redirect a stored secret to a new receiver. An address sent back as a view shows
 * it (userinfo secret and secret query values replaced by the marker, ./redaction.ts) keeps the
 * stored one.
 *
 * Everything here is pure; it throws BAD_REQUEST (and CONFLICT from `applyTrust`) DomainErrors.
 */
import type { WebhookTargetRow } from '../db/index.ts';
import type { Actor } from '../auth/index.ts';
import { isEventType } from '../events/index.ts';
import { fail, globLimits, globPatternProblem, storedObject } from '../domain/index.ts';
import { validateSecret } from './signer.ts';
import { adminTrustedOption, isAdminTrusted, type TargetSpecLike } from './target-row.ts';
import { hasMarker, redactionMarker, restoreAddress } from './redaction.ts';
import { isRecord } from './formats/common.ts';
import { checkTemplate, defaultTemplateContentType, distributionContentTypes, httpPayloadFormats, isNotifyType, teamsPayloadFormats, type NotifyType } from './formats/index.ts';
import { stringMap } from './stored-json.ts';
import { parseStatusFilters, type StatusFilters } from './status-filters.ts';
import { caCertOf, parseCaCert } from './ca-cert.ts';
import { isMsrType, type MsrWebhookType } from './formats/msr.ts';

/** Signature header styles (Wharf). */
export const signatureStyles = ['standard', 'github'] as const;
/** CloudEvents content modes (Wharf). */
export const cloudEventsModes = ['structured', 'binary'] as const;
/** The placeholder views show instead of a secret (the one redaction marker), and that updates accept to keep it. */
export const redacted = redactionMarker;
/** Longest per-target timeout accepted, ms. */
export const maxTimeoutMs = 120_000;

/** Headers a target may not set: transport headers and the ones Wharf computes. */
const reservedHeaders = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'authorization',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-hub-signature-256',
  'x-signature',
  'user-agent',
  'x-wharf-event-id',
  'x-wharf-event-type',
  'x-wharf-delivery',
]);

/** A validated target, ready to store or to test. Secrets are in clear here (never in a view). */
export interface TargetSpec extends TargetSpecLike {
  /** The id of the stored target this one updates, when known. */
  id: number | null;
  type: NotifyType;
  options: { signature_style: string; cloudevents_mode?: string; distribution_content_type?: string; template?: string; template_content_type?: string; [adminTrustedOption]?: true; ca_cert?: string; msr_type?: string };
}

function oneOf(list: readonly string[], s: string): boolean {
  return list.includes(s);
}

/**
 * Harbor's `utils.ParseEndpoint`: trims spaces (and, for the check, a trailing `/`), refuses
 * schemes other than http/https, assumes `http://` when there is none. Returns the address to
 * store: trimmed, with its scheme, otherwise as given (path and query kept; Harbor stores them).
 */
export function parseEndpoint(raw: string): string {
  const trimmed = raw.trim();
  // The look-behind starts a match only at the first `/` of a run: linear, where `/\/+$/` was
  // quadratic on an address full of slashes (a 1 MB body of them ran for hours).
  const checked = trimmed.replace(/(?<!\/)\/+$/, '');
  if (checked === '') throw fail('BAD_REQUEST', 'empty URL');
  const i = trimmed.indexOf('://');
  let address = trimmed;
  if (i >= 0) {
    const scheme = trimmed.slice(0, i);
    if (scheme !== 'http' && scheme !== 'https') throw fail('BAD_REQUEST', `invalid scheme: ${scheme}`);
  } else {
    address = `http://${trimmed}`;
  }
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw fail('BAD_REQUEST', `parse "${address}": invalid URL`);
  }
  if (url.hostname === '') throw fail('BAD_REQUEST', `parse "${address}": missing host`);
  if (/[\s]/.test(address)) throw fail('BAD_REQUEST', `parse "${address}": invalid character in URL`);
  return address;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${field} must be a string`);
  return v;
}

function optionalBool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${field} must be true or false`);
  return v;
}

function globList(v: unknown, field: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw fail('BAD_REQUEST', `${field} must be an array of glob patterns`);
  if (v.length > globLimits.maxPatterns) throw fail('BAD_REQUEST', `${field}: at most ${globLimits.maxPatterns} patterns`);
  return v.map((p, i) => {
    if (typeof p !== 'string' || p.trim() === '') throw fail('BAD_REQUEST', `${field}[${i}] must be a non-empty glob pattern`);
    // Length, alternatives and syntax (src/domain/glob.ts); matching is linear whatever is stored.
    const problem = globPatternProblem(p.trim());
    if (problem !== null) throw fail('BAD_REQUEST', `${field}[${i}] ${problem}`);
    return p.trim();
  });
}

/** The stored state of a target an update may carry secrets over from. */
export type StoredTarget = Pick<WebhookTargetRow, 'id' | 'type' | 'address' | 'auth_header' | 'secret' | 'headers' | 'position'> & { options?: string };

/**
 * Validates one target object (Harbor's rules and messages, then Wharf's fields). `previous` is
 * the stored target this one updates, if any: omitted or placeholder secrets are taken from it
 * when the address is unchanged; an omitted `ca_cert` keeps its CA (not a secret; null or ''
 * removes it), so a Harbor client's full replace does not drop it.
 */
export function parseTarget(input: unknown, index: number, policyName: string, previous: StoredTarget | undefined): TargetSpec {
  if (!isRecord(input)) throw fail('BAD_REQUEST', `targets[${index}] must be an object`);
  const rawAddress = optionalString(input.address, `targets[${index}].address`) ?? '';
  let address = parseEndpoint(rawAddress);
  const restored = previous === undefined ? null : restoreAddress(address, previous.address);
  if (restored !== null) address = restored;
  else if (hasMarker(address)) {
    throw fail('BAD_REQUEST', `targets[${index}].address contains "${redacted}": send the full address (a redacted one is kept only for the target it was read from, unchanged)`);
  }
  const type = optionalString(input.type, `targets[${index}].type`) ?? '';
  if (!isNotifyType(type)) throw fail('BAD_REQUEST', `unsupported target type ${type} with policy ${policyName}`);
  let payloadFormat = optionalString(input.payload_format, `targets[${index}].payload_format`) ?? '';
  // Harbor: only http takes a payload format. Wharf: teams too (AdaptiveCard or MessageCard).
  if (payloadFormat !== '' && type !== 'http' && type !== 'teams') throw fail('BAD_REQUEST', `set payload format is not allowed for ${type}`);
  if (payloadFormat !== '' && !oneOf(type === 'teams' ? teamsPayloadFormats : httpPayloadFormats, payloadFormat)) {
    throw fail('BAD_REQUEST', `unsupported payload format type: ${payloadFormat}`);
  }
  if (payloadFormat === '' && type === 'http') payloadFormat = 'Default';
  if (payloadFormat === '' && type === 'teams') payloadFormat = 'AdaptiveCard';

  const keep = previous !== undefined && previous.address === address && previous.type === type;
  const authHeader = secretField(input, 'auth_header', keep ? previous.auth_header : '', index);
  const secret = secretField(input, 'secret', keep ? previous.secret : '', index);
  if (secret.length > 512) throw fail('BAD_REQUEST', `targets[${index}].secret is longer than 512 characters`);
  validateSecret(secret);
  const headers = parseHeaders(input.headers, keep ? stringMap(previous.headers) : {}, index);

  let timeoutMs: number | null = null;
  if (input.timeout_ms !== undefined && input.timeout_ms !== null) {
    const t = input.timeout_ms;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > maxTimeoutMs) {
      throw fail('BAD_REQUEST', `targets[${index}].timeout_ms must be an integer from 1 to ${maxTimeoutMs}`);
    }
    timeoutMs = t;
  }
  const style = optionalString(input.signature_style, `targets[${index}].signature_style`) ?? 'standard';
  if (!oneOf(signatureStyles, style)) {
    throw fail('BAD_REQUEST', `unsupported signature style: ${style} (use ${signatureStyles.join(' or ')})`);
  }
  const options: TargetSpec['options'] = { signature_style: style };
  const mode = optionalString(input.cloudevents_mode, `targets[${index}].cloudevents_mode`);
  if (mode !== undefined && mode !== '') {
    if (payloadFormat !== 'CloudEvents') throw fail('BAD_REQUEST', 'cloudevents_mode applies only to the CloudEvents payload format');
    if (!oneOf(cloudEventsModes, mode)) {
      throw fail('BAD_REQUEST', `unsupported cloudevents_mode: ${mode} (use ${cloudEventsModes.join(' or ')})`);
    }
  }
  if (payloadFormat === 'CloudEvents') options.cloudevents_mode = mode === undefined || mode === '' ? 'structured' : mode;
  const dct = optionalString(input.distribution_content_type, `targets[${index}].distribution_content_type`);
  if (dct !== undefined && dct !== '') {
    if (payloadFormat !== 'Distribution') throw fail('BAD_REQUEST', 'distribution_content_type applies only to the Distribution payload format');
    if (!oneOf(distributionContentTypes, dct)) {
      throw fail('BAD_REQUEST', `unsupported distribution_content_type: ${dct} (use ${distributionContentTypes.join(', ')})`);
    }
  }
  if (payloadFormat === 'Distribution') options.distribution_content_type = dct === undefined || dct === '' ? distributionContentTypes[0] : dct;
  const msrType = parseMsrType(input, index, payloadFormat, previous?.options);
  if (msrType !== undefined) options.msr_type = msrType;
  parseTemplateFields(input, index, payloadFormat, options);
  const ca = input.ca_cert === undefined ? (previous?.options === undefined ? null : caCertOf(previous.options)) : parseCaCert(input.ca_cert, `targets[${index}].ca_cert`);
  if (ca !== null) options.ca_cert = ca;
  const id = typeof input.id === 'number' && Number.isSafeInteger(input.id) ? input.id : null;
  return {
    id,
    type,
    address,
    payloadFormat,
    authHeader,
    skipCertVerify: optionalBool(input.skip_cert_verify, `targets[${index}].skip_cert_verify`) ?? false,
    secret,
    headers,
    timeoutMs,
    options,
  };
}

/** The Template format's fields (`template`, `template_content_type`): only with payload_format Template, parsed here. */
function parseTemplateFields(input: Record<string, unknown>, index: number, payloadFormat: string, options: TargetSpec['options']): void {
  const template = optionalString(input.template, `targets[${index}].template`);
  const ct = optionalString(input.template_content_type, `targets[${index}].template_content_type`);
  if (payloadFormat !== 'Template') {
    if ((template ?? '') !== '' || (ct ?? '') !== '') throw fail('BAD_REQUEST', 'template and template_content_type apply only to the Template payload format');
    return;
  }
  if (template === undefined || template === '') throw fail('BAD_REQUEST', `targets[${index}].template is required with the Template payload format`);
  try {
    checkTemplate(template);
  } catch (err) {
    throw fail('BAD_REQUEST', `targets[${index}].template: ${err instanceof Error ? err.message : String(err)}`);
  }
  const contentType = ct === undefined || ct === '' ? defaultTemplateContentType : ct.trim();
  if (contentType.length > 255 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[\x20-\x7e]*)?$/.test(contentType)) {
    throw fail('BAD_REQUEST', `targets[${index}].template_content_type must be a media type such as application/json or text/plain; charset=utf-8`);
  }
  options.template = template;
  options.template_content_type = contentType;
}

/**
 * `msr_type` (Wharf; MSR's subscription API sets it): the MSR type an MSR-format target renders
 * (./formats/msr.ts). Left out of an update, the stored target's type is kept (a Harbor client
 * knows no such field); `null` or `''` removes it.
 */
function parseMsrType(input: Record<string, unknown>, index: number, payloadFormat: string, previousOptions: string | undefined): MsrWebhookType | undefined {
  if (input.msr_type === undefined) {
    const kept = previousOptions === undefined || payloadFormat !== 'MSR' ? undefined : storedObject(previousOptions).msr_type;
    return typeof kept === 'string' && isMsrType(kept) ? kept : undefined;
  }
  const t = optionalString(input.msr_type, `targets[${index}].msr_type`);
  if (t === undefined || t === '') return undefined;
  if (payloadFormat !== 'MSR') throw fail('BAD_REQUEST', 'msr_type applies only to the MSR payload format');
  if (!isMsrType(t)) throw fail('BAD_REQUEST', `unsupported msr_type: ${t}`);
  return t;
}

/**
 * A write-only string field: absent, '' or the placeholder keeps `kept`; null, or `<field>_set:
 * false`, clears it; any other string replaces it.
 */
function secretField(input: Record<string, unknown>, field: 'auth_header' | 'secret', kept: string, index: number): string {
  const v = input[field];
  if (input[`${field}_set`] === false && (v === undefined || v === '' || v === null || v === redacted)) return '';
  if (v === null) return '';
  if (v === undefined || v === '' || v === redacted) return kept;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `targets[${index}].${field} must be a string`);
  if (/[\r\n\0]/.test(v)) throw fail('BAD_REQUEST', `targets[${index}].${field} must not contain line breaks`);
  return v;
}

/** Custom headers: names are HTTP tokens, values single-line; `<redacted>` keeps the stored value. */
function parseHeaders(v: unknown, stored: Record<string, string>, index: number): Record<string, string> {
  if (v === undefined) return stored;
  if (v === null) return {};
  if (!isRecord(v)) throw fail('BAD_REQUEST', `targets[${index}].headers must be an object of header names to values`);
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length > 50) throw fail('BAD_REQUEST', `targets[${index}].headers: at most 50 headers`);
  for (const [name, value] of entries) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/.test(name)) throw fail('BAD_REQUEST', `targets[${index}].headers: invalid header name "${name}"`);
    if (reservedHeaders.has(name.toLowerCase())) {
      throw fail('BAD_REQUEST', `targets[${index}].headers: ${name} is set by Wharf and cannot be overridden${name.toLowerCase() === 'authorization' ? ' (use auth_header)' : ''}`);
    }
    if (typeof value !== 'string') throw fail('BAD_REQUEST', `targets[${index}].headers.${name} must be a string`);
    if (value === redacted) {
      const kept = Object.entries(stored).find(([k]) => k.toLowerCase() === name.toLowerCase());
      if (!kept) throw fail('BAD_REQUEST', `targets[${index}].headers.${name}: "${redacted}" keeps a stored value, but none is stored for this target and address`);
      out[name] = kept[1];
      continue;
    }
    if (/[\r\n\0]/.test(value) || value.length > 4096) throw fail('BAD_REQUEST', `targets[${index}].headers.${name}: the value must be one line of at most 4096 characters`);
    out[name] = value;
  }
  return out;
}

/** A validated policy body. */
export interface PolicySpec {
  name: string;
  description: string;
  enabled: boolean;
  eventTypes: string[];
  targets: TargetSpec[];
  repoFilters: string[];
  tagFilters: string[];
  /**
   * Wharf: statuses and levels the policy's scan, replication, retention and quota events must
   * have (./status-filters.ts). Undefined when the body leaves it out: a create stores none, a
   * replace keeps the stored filters (Harbor's clients know no such field); `null` clears them.
   */
  statusFilters: StatusFilters | undefined;
  /** Wharf: a multi-platform push is one PUSH_ARTIFACT, the index's, listing its platforms. Undefined when left out (kept, as statusFilters); `null` is false. */
  foldPlatforms: boolean | undefined;
  creator: string | undefined;
}

/** Pairs each incoming target with the stored one it updates: by id, else same position and address, else same address. */
function matchTargets(inputs: unknown[], stored: StoredTarget[]): Array<StoredTarget | undefined> {
  const used = new Set<number>();
  const out: Array<StoredTarget | undefined> = inputs.map(() => undefined);
  inputs.forEach((t, i) => {
    if (!isRecord(t) || typeof t.id !== 'number') return;
    const hit = stored.find((s) => s.id === t.id && !used.has(s.id));
    if (hit) {
      used.add(hit.id);
      out[i] = hit;
    }
  });
  const parsed = (t: unknown): string => {
    if (!isRecord(t) || typeof t.address !== 'string') return '';
    try {
      return parseEndpoint(t.address);
    } catch {
      return '';
    }
  };
  // The address as stored: a redacted copy of a stored address counts as that address.
  const addrFor = (t: unknown, s: StoredTarget): string => {
    const a = parsed(t);
    return restoreAddress(a, s.address) ?? a;
  };
  inputs.forEach((t, i) => {
    if (out[i]) return;
    const s = stored[i];
    if (s && !used.has(s.id) && s.address === addrFor(t, s)) {
      used.add(s.id);
      out[i] = s;
    }
  });
  inputs.forEach((t, i) => {
    if (out[i]) return;
    const hit = stored.find((s) => !used.has(s.id) && s.address === addrFor(t, s));
    if (hit) {
      used.add(hit.id);
      out[i] = hit;
    }
  });
  return out;
}

/** The stored target `t` updates when its address did not change. */
export function unchangedTarget(t: TargetSpec, stored: readonly WebhookTargetRow[]): WebhookTargetRow | undefined {
  if (t.id === null) return undefined;
  const s = stored.find((x) => x.id === t.id);
  return s !== undefined && s.address === t.address ? s : undefined;
}

/**
 * Sets each target's admin-trusted mark: a non-admin's unchanged target keeps the stored mark;
 * every other target takes what `vetAddresses` (./target-vetting.ts) decided for its address.
 * CONFLICT when an address was not vetted (the policy changed between the vetting and the write).
 */
export function applyTrust(actor: Actor, targets: TargetSpec[], stored: readonly WebhookTargetRow[], vetted: ReadonlyMap<string, boolean>): void {
  for (const t of targets) {
    delete t.options[adminTrustedOption];
    const same = actor.sysadmin ? undefined : unchangedTarget(t, stored);
    const trusted = same !== undefined ? isAdminTrusted(same.options) : vetted.get(t.address);
    if (trusted === undefined) throw fail('CONFLICT', 'the policy changed while it was being saved; read it again and retry');
    if (trusted) t.options[adminTrustedOption] = true;
  }
}

/** Validates a whole policy body, in Harbor's order: targets, then event types. */
export function parsePolicy(body: unknown, stored: StoredTarget[]): PolicySpec {
  if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object (a WebhookPolicy)');
  const name = optionalString(body.name, 'name') ?? '';
  if (name.trim() === '') throw fail('BAD_REQUEST', 'name is required');
  if (name.length > 256) throw fail('BAD_REQUEST', 'name is longer than 256 characters');
  const description = optionalString(body.description, 'description') ?? '';
  const enabled = optionalBool(body.enabled, 'enabled') ?? false;
  const targetsIn = body.targets ?? [];
  if (!Array.isArray(targetsIn)) throw fail('BAD_REQUEST', 'targets must be an array of target objects');
  if (targetsIn.length === 0) throw fail('BAD_REQUEST', `empty notification target with policy ${name}`);
  if (targetsIn.length > 20) throw fail('BAD_REQUEST', 'a policy has at most 20 targets');
  const matched = matchTargets(targetsIn, stored);
  const targets = targetsIn.map((t, i) => parseTarget(t, i, name, matched[i]));
  targets.forEach((t, i) => (t.id = matched[i]?.id ?? null));
  const typesIn = body.event_types ?? [];
  if (!Array.isArray(typesIn)) throw fail('BAD_REQUEST', 'event_types must be an array of event type names');
  if (typesIn.length === 0) throw fail('BAD_REQUEST', 'empty event type');
  const types: string[] = [];
  for (const t of typesIn) {
    if (typeof t !== 'string' || !isEventType(t)) throw fail('BAD_REQUEST', `unsupported event type ${String(t)}`);
    if (!types.includes(t)) types.push(t);
  }
  const creator = optionalString(body.creator, 'creator');
  return {
    name,
    description,
    enabled,
    eventTypes: types,
    targets,
    repoFilters: globList(body.repo_filters, 'repo_filters'),
    tagFilters: globList(body.tag_filters, 'tag_filters'),
    statusFilters: body.status_filters === undefined ? undefined : parseStatusFilters(body.status_filters),
    foldPlatforms: body.fold_platforms === undefined ? undefined : (optionalBool(body.fold_platforms, 'fold_platforms') ?? false),
    creator,
  };
}

/** A validated test request: Harbor's legacy body (a policy with `targets`) or one target (Wharf). */
export interface TestSpec {
  legacy: boolean;
  targets: TargetSpec[];
}

/** Validates the body of a test request: a single target object (Wharf), or Harbor's legacy body, a policy with `targets`. */
export function parseTestBody(body: unknown): TestSpec {
  if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object: a target, or a policy with targets');
  if (Array.isArray(body.targets)) {
    const name = typeof body.name === 'string' ? body.name : '';
    if (body.targets.length === 0) throw fail('BAD_REQUEST', `empty notification target with policy ${name}`);
    if (body.targets.length > 20) throw fail('BAD_REQUEST', 'a policy has at most 20 targets');
    return { legacy: true, targets: body.targets.map((t, i) => parseTarget(t, i, name, undefined)) };
  }
  return { legacy: false, targets: [parseTarget(body, 0, '', undefined)] };
}

/** The ids of the stored targets an update's body asks to enable again (`enabled: true` on a matched target). */
export function targetsToReenable(body: unknown, targets: readonly TargetSpec[]): Set<number> {
  const reenable = new Set<number>();
  const inputs = isRecord(body) && Array.isArray(body.targets) ? body.targets : [];
  targets.forEach((t, i) => {
    const input: unknown = inputs[i];
    if (t.id !== null && isRecord(input) && input.enabled === true) reenable.add(t.id);
  });
  return reenable;
}
