/**
 * What the relay's parsers share: the request they read, the events they produce, and small
 * readers for untrusted JSON. Parsers are pure: a payload and the relay's project in, Wharf
 * events out, or a BAD_REQUEST with a message that says what is missing.
 */
import { createHash } from 'node:crypto';
import type { ArtifactRef, NewEvent, ProjectRef, RelayInfo, RelaySource } from '../../events/index.ts';
import { fail } from '../../domain/index.ts';

/** The request a relay received. */
export interface RelayInput {
  /** The parsed JSON body (undefined when empty). */
  body: unknown;
  /** Lower-cased header names; the first value of a repeated header. */
  headers: Readonly<Record<string, string | undefined>>;
}

/** Where the events go and what they say about the relay. */
export interface RelayContext {
  project: ProjectRef;
  relayName: string;
  /** ms since epoch, for sources whose events carry no time. */
  now: number;
}

/** One Wharf event to record, with the key that identifies its source event. */
export interface RelayedEvent {
  /** `<source>:<id>`, or `<source>:sha256:<hex>` of the source event when it has no id. */
  sourceKey: string;
  event: NewEvent;
}

/** What a payload turned into. */
export interface ParsedRelay {
  source: RelaySource;
  events: RelayedEvent[];
  /** Source events with no Wharf counterpart (blob events, unknown types). */
  ignored: number;
}

/** A parser of one source's payload. */
export type RelayParser = (input: RelayInput, ctx: RelayContext) => ParsedRelay;

/** A JSON object, or null. */
export function obj(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : null;
}

/** A non-empty string, or null. */
export function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** A finite number, or null. */
export function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** BAD_REQUEST with the relay's prefix. */
export function unreadable(source: string, message: string): Error {
  return fail('BAD_REQUEST', `relay: cannot read this ${source} payload: ${message}`);
}

/** sha256 hex of a JSON value's text, the key of a source event that has no id (Harbor resends identical bytes). */
export function contentKey(source: RelaySource, value: unknown): string {
  return `${source}:sha256:${createHash('sha256').update(JSON.stringify(value) ?? '').digest('hex')}`;
}

/** The relay field of an event. */
export function relayInfo(ctx: RelayContext, source: RelaySource, registryUrl: string, sourceEventId?: string): RelayInfo {
  return sourceEventId ? { name: ctx.relayName, source, registryUrl, sourceEventId } : { name: ctx.relayName, source, registryUrl };
}

/** True when a reference is a digest (`algo:hex`); tags cannot contain a colon. */
export function isDigest(ref: string): boolean {
  return ref.includes(':');
}

/** An artifact as a source names it: what it does not say is empty (size 0, media type ''). */
export function artifactRef(digest: string | null, tag: string | null, mediaType = '', size = 0): ArtifactRef {
  const t = tag !== null && !isDigest(tag) ? tag : null;
  return { digest: digest ?? (tag !== null && isDigest(tag) ? tag : ''), mediaType, size, tag: t, tags: t !== null ? [t] : [], artifactType: null };
}

/** `scheme://host[:port]` of a URL, or '' when it is not one. */
export function originOf(url: string | null): string {
  if (url === null) return '';
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? `${u.protocol}//${u.host}` : '';
  } catch {
    return '';
  }
}

/** The host part of a scheme-less image reference (`harbor.example.com/library/alpine:3.18` -> `harbor.example.com`). */
export function referenceHost(ref: string | null): string {
  if (ref === null) return '';
  const slash = ref.indexOf('/');
  return slash > 0 ? ref.slice(0, slash) : '';
}
