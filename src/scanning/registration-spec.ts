/**
 * Harbor's scanner registration bodies at the edge, and the objects the API shows. Pure.
 *
 * - `ScannerRegistrationReq` (POST and PUT /scanners): `name` and `url` required; `auth` one of
 *   "", Basic, Bearer, APIKey, and then a credential is required; Harbor's messages
 *   (`missing registration name`, `auth type X is not supported`, `access_credential is required
 *   for auth type X`, the reserved name). On PUT an empty or absent `access_credential` keeps the
 *   stored one while `auth` still needs one.
 * - `ScannerRegistrationSettings` (POST /scanners/ping): `name`, `url`, `auth`, `access_credential`.
 * - `IsDefault` (PATCH /scanners/{uuid}) and `ProjectScanner` (PUT /projects/{p}/scanner).
 *
 * The credential is write-only: views always show `access_credential: ""` (as webhook targets
 * never show `auth_header`); Harbor shows it as stored. Sizes are Harbor's column sizes.
 */
import { fail, type Condition, type ListQuery } from '../domain/index.ts';
import type { ScannerRow } from '../db/index.ts';
import type { AdapterCapabilities as ScannerCapabilities } from './adapter/index.ts';

/** Names no registration may take: Harbor's bundled `Trivy`, and Wharf's built-in scanner. */
export const reservedScannerNames: readonly string[] = ['Trivy', 'Wharf'];
/** The built-in registration's name. */
export const builtinScannerName = 'Wharf';

const maxName = 128;
const maxDescription = 1024;
const maxUrl = 512;
const maxCredential = 512;

/** The auth types Harbor supports. */
export type ScannerAuth = '' | 'Basic' | 'Bearer' | 'APIKey';
const authTypes: readonly string[] = ['', 'Basic', 'Bearer', 'APIKey'];

/** A parsed registration request. `accessCredential` null on PUT: keep the stored one. */
export interface RegistrationInput {
  name: string;
  description: string;
  url: string;
  auth: ScannerAuth;
  accessCredential: string | null;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  disabled: boolean;
}

/** A parsed ping request. */
export interface PingInput {
  name: string;
  url: string;
  auth: ScannerAuth;
  accessCredential: string;
}

/** Harbor's ScannerRegistration object. */
export interface ScannerRegistrationView {
  uuid: string;
  name: string;
  description: string;
  url: string;
  disabled: boolean;
  is_default: boolean;
  auth: string;
  /** Always "": the credential is write-only. */
  access_credential: string;
  skip_certVerify: boolean;
  use_internal_addr: boolean;
  create_time: string;
  update_time: string;
  /** After a metadata fetch only, as in Harbor. */
  adapter?: string;
  vendor?: string;
  version?: string;
  /** `healthy` or `unhealthy` after a fetch; "" before. */
  health: string;
  capabilities?: ScannerCapabilities;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}

function body(v: unknown): Record<string, unknown> {
  if (!isRecord(v)) throw fail('BAD_REQUEST', 'the body must be a JSON object');
  return v;
}

function text(o: Record<string, unknown>, field: string, max: number): string {
  const v = o[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${field} must be a string, not ${show(v)}`);
  if (v.length > max) throw fail('BAD_REQUEST', `${field} is longer than ${max} characters`);
  return v;
}

function flag(o: Record<string, unknown>, field: string): boolean {
  const v = o[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${field} must be true or false, not ${show(v)}`);
  return v;
}

/** An adapter's base URL: http or https with a host, no query or fragment; trailing slashes dropped. */
export function parseAdapterUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw fail('BAD_REQUEST', `scanner registration validate: invalid URL ${show(raw)}: use http:// or https://, a host, and no query or fragment`);
  }
  // The API is under `<url>/api/v1`: a query or fragment would end up in the middle of every call.
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '' || u.search !== '' || u.hash !== '' || /[?#]/.test(raw)) {
    throw fail('BAD_REQUEST', `scanner registration validate: invalid URL ${show(raw)}: use http:// or https://, a host, and no query or fragment`);
  }
  return raw.replace(/(?<!\/)\/+$/, '');
}

function nameOf(o: Record<string, unknown>): string {
  const name = text(o, 'name', maxName);
  if (name === '') throw fail('BAD_REQUEST', 'missing registration name');
  return name;
}

function authOf(o: Record<string, unknown>): ScannerAuth {
  const auth = text(o, 'auth', 16);
  if (!authTypes.includes(auth)) throw fail('BAD_REQUEST', `auth type ${show(auth)} is not supported`);
  // Checked against authTypes just above.
  return auth as ScannerAuth;
}

/** Refuses a reserved name with Harbor's message. */
export function checkReservedName(name: string): void {
  if (reservedScannerNames.includes(name)) throw fail('BAD_REQUEST', `name "${name}" is reserved, please try a different name`);
}

/**
 * Parses a ScannerRegistrationReq. `update`: an empty `access_credential` means "keep the stored
 * one" (null) when `storedCredential` is set and `auth` still needs one.
 */
export function parseRegistration(raw: unknown, opts: { update: boolean; storedCredential?: string } = { update: false }): RegistrationInput {
  const o = body(raw);
  const name = nameOf(o);
  const urlText = text(o, 'url', maxUrl);
  if (urlText === '') throw fail('BAD_REQUEST', 'scanner registration validate: url is required');
  const url = parseAdapterUrl(urlText);
  const auth = authOf(o);
  const given = text(o, 'access_credential', maxCredential);
  let accessCredential: string | null = given;
  if (auth !== '' && given === '') {
    if (opts.update && opts.storedCredential) accessCredential = null;
    else throw fail('BAD_REQUEST', `access_credential is required for auth type ${auth}`);
  }
  if (auth === '') accessCredential = '';
  return {
    name,
    description: text(o, 'description', maxDescription),
    url,
    auth,
    accessCredential,
    skipCertVerify: flag(o, 'skip_certVerify'),
    useInternalAddr: flag(o, 'use_internal_addr'),
    disabled: flag(o, 'disabled'),
  };
}

/** Parses a ScannerRegistrationSettings (ping). */
export function parsePingSettings(raw: unknown): PingInput {
  const o = body(raw);
  const name = nameOf(o);
  const urlText = text(o, 'url', maxUrl);
  if (urlText === '') throw fail('BAD_REQUEST', 'scanner registration validate: url is required');
  const auth = authOf(o);
  const accessCredential = text(o, 'access_credential', maxCredential);
  if (auth !== '' && accessCredential === '') throw fail('BAD_REQUEST', `access_credential is required for auth type ${auth}`);
  return { name, url: parseAdapterUrl(urlText), auth, accessCredential: auth === '' ? '' : accessCredential };
}

/** Parses Harbor's IsDefault body: true when it asks to become the default. */
export function parseIsDefault(raw: unknown): boolean {
  const o = raw === undefined || raw === null ? {} : body(raw);
  const v = o.is_default;
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `is_default must be true or false, not ${show(v)}`);
  return v;
}

/** Parses Harbor's ProjectScanner body: the registration's uuid. */
export function parseProjectScanner(raw: unknown): string {
  const o = body(raw);
  const v = o.uuid;
  if (v === undefined || v === null || v === '') throw fail('BAD_REQUEST', 'missing scanner UUID');
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `uuid must be a string, not ${show(v)}`);
  return v;
}

/** Harbor's legacy list parameters of GET /scanners. */
export interface LegacyScannerFilters {
  name?: string;
  description?: string;
  url?: string;
  ex_name?: string;
  ex_url?: string;
}

/**
 * Harbor's list of GET /scanners: `name`, `description`, `url` (substring) and `ex_name`, `ex_url`
 * (exact) parameters override the `q` terms of the same key, the exact ones last.
 */
export function withLegacyFilters(list: ListQuery, legacy: LegacyScannerFilters): ListQuery {
  const filters = new Map<string, Condition>(list.filters);
  for (const k of ['name', 'description', 'url'] as const) {
    const v = legacy[k];
    if (v) filters.set(k, { kind: 'fuzzy', value: v });
  }
  if (legacy.ex_name) filters.set('name', { kind: 'exact', value: legacy.ex_name });
  if (legacy.ex_url) filters.set('url', { kind: 'exact', value: legacy.ex_url });
  return { ...list, filters };
}

function parseCapabilities(text: string | null): ScannerCapabilities | undefined {
  if (text === null) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (isRecord(v) && typeof v.support_vulnerability === 'boolean' && typeof v.support_sbom === 'boolean') {
      return { support_vulnerability: v.support_vulnerability, support_sbom: v.support_sbom };
    }
  } catch {
    /* a row this module did not write: no capabilities shown */
  }
  return undefined;
}

/** A registration as Harbor shows it; `url` replaces the stored one (the built-in's follows external_url). */
export function registrationView(r: ScannerRow, url: string = r.url): ScannerRegistrationView {
  const capabilities = parseCapabilities(r.capabilities);
  return {
    uuid: r.uuid,
    name: r.name,
    description: r.description,
    url,
    disabled: r.disabled === 1,
    is_default: r.is_default === 1,
    auth: r.auth,
    access_credential: '',
    skip_certVerify: r.skip_cert_verify === 1,
    use_internal_addr: r.use_internal_addr === 1,
    create_time: new Date(Number(r.creation_time)).toISOString(),
    update_time: new Date(Number(r.update_time)).toISOString(),
    ...(r.adapter ? { adapter: r.adapter } : {}),
    ...(r.vendor ? { vendor: r.vendor } : {}),
    ...(r.version ? { version: r.version } : {}),
    health: r.health,
    ...(capabilities ? { capabilities } : {}),
  };
}
