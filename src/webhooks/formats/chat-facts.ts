/**
 * The facts the card-style chat formats (Teams, Mattermost, Google Chat) lay out, in one order,
 * and the byte budget they share: every one of those services limits a message by its size, so a
 * message is built with per-text caps and rebuilt with smaller caps until its encoded body fits.
 * Discord's embed keeps its own field list (its limits are per field and per embed, not bytes).
 */
import type { WharfEvent } from '../../events/index.ts';
import type { FormatContext } from './types.ts';
import { discordColours, discordSeverityColours } from './discord.ts';
import { goJson, rfc3339Seconds, scanSeverities, summarize, truncate, type EventSummary } from './common.ts';

/** One labelled fact. `long` facts (digests, images, tag lists) take a full row; `code` ones are identifiers. */
export interface ChatFact {
  name: string;
  value: string;
  long: boolean;
  code: boolean;
}

/** An event as the card formats show it. */
export interface ChatFacts {
  summary: EventSummary;
  /** `Artifact pushed: library/alpine:3.18` */
  title: string;
  /** `library/alpine:3.18`, the project, or ''. */
  subject: string;
  facts: ChatFact[];
  /** RFC 3339 in UTC, whole seconds. */
  time: string;
  /** `PUSH_ARTIFACT · event 66e1…` */
  footer: string;
  /** RGB colour of the event kind; a completed vulnerability scan takes its worst finding's. */
  colour: number;
  /** Tone for services that name colours: good, attention, warning or accent. */
  tone: 'good' | 'attention' | 'warning' | 'accent';
}

/** Caps on the variable texts of a message; {@link fitBody} shrinks them together. */
export interface TextCaps {
  /** A fact's value. */
  value: number;
  /** The title and subject. */
  title: number;
  /** The detail line (quota text, scan results, failure reason). */
  detail: number;
}

function colourOf(event: WharfEvent, s: EventSummary): number {
  const f = s.scan;
  if (f !== null && f.status === 'Success' && f.scanType === 'vulnerability') {
    for (const sev of ['Critical', 'High', 'Medium', 'Low'] as const) {
      if (f.counts !== null ? f.counts[sev] > 0 : f.severity === sev) return discordSeverityColours[sev];
    }
  }
  return discordColours[event.type];
}

const attentionTypes = new Set<string>(['DELETE_ARTIFACT', 'DELETE_TAG', 'DELETE_REPOSITORY', 'DELETE_PROJECT', 'QUOTA_EXCEED', 'SCANNING_FAILED', 'WEBHOOK_TARGET_DISABLED']);
const goodTypes = new Set<string>(['PUSH_ARTIFACT', 'CREATE_TAG', 'CREATE_REPOSITORY', 'CREATE_PROJECT']);

function toneOf(event: WharfEvent, s: EventSummary): ChatFacts['tone'] {
  const f = s.scan;
  if (f !== null && f.status === 'Success') {
    if (f.counts !== null && (f.counts.Critical > 0 || f.counts.High > 0)) return 'attention';
    if (f.counts !== null && f.counts.Medium > 0) return 'warning';
    return 'good';
  }
  if (event.type === 'QUOTA_WARNING' || event.type === 'SCANNING_STOPPED') return 'warning';
  if (attentionTypes.has(event.type)) return 'attention';
  return goodTypes.has(event.type) ? 'good' : 'accent';
}

/** The facts of an event with every text within `caps` (values are never empty: `-` stands in). */
export function chatFacts(event: WharfEvent, ctx: FormatContext, caps: TextCaps): ChatFacts {
  const s = summarize(event, ctx.externalUrl);
  const subject = s.repository !== null ? `${s.repository}${s.tag !== null ? `:${s.tag}` : ''}` : (s.project ?? '');
  const facts: ChatFact[] = [];
  const add = (name: string, value: string, long = false, code = false): void => {
    facts.push({ name, value: truncate(value === '' ? '-' : value, caps.value), long, code });
  };
  if (s.repository !== null) add('Repository', s.repository);
  if (s.tag !== null) add('Tag', s.tag);
  if (s.project !== null) add('Project', s.project);
  if (event.type !== 'WEBHOOK_TARGET_DISABLED') add('Operator', event.operator === '' ? '(anonymous)' : event.operator);
  if (s.scan !== null) {
    const f = s.scan;
    add('Scan type', f.scanType);
    add('Status', f.status);
    if (f.counts !== null) for (const sev of scanSeverities) add(sev, String(f.counts[sev]));
    if (f.scanner !== null) add('Scanner', f.scanner);
    if (f.platform !== null) add('Platform', f.platform);
  }
  if (s.digest !== null) add('Digest', s.digest, true, true);
  if (s.image !== null) add('Image', s.image, true, true);
  if (s.tags.length > 1) add('All tags', s.tags.join(', '), true);
  if (s.scan !== null && s.scan.parentDigest !== null) add('Index', s.scan.parentDigest, true, true);
  return {
    summary: { ...s, detail: s.detail === null ? null : truncate(s.detail, caps.detail) },
    title: truncate(subject ? `${s.label}: ${subject}` : s.label, caps.title),
    subject: truncate(subject, caps.title),
    facts,
    time: rfc3339Seconds(event.occurAt),
    footer: `${event.type} · event ${event.id}`,
    colour: colourOf(event, s),
    tone: toneOf(event, s),
  };
}

/** `#2ecc71` */
export function hexColour(rgb: number): string {
  return `#${rgb.toString(16).padStart(6, '0')}`;
}

/** UTF-8 size of a string. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/**
 * Builds a message with `caps`, then with the caps halved (never below 16 characters) until its
 * Go-style JSON encoding fits `maxBytes`; returns the body text. The smallest caps always fit the
 * limits the formats use (a few kilobytes at most), so the last attempt is returned as it is.
 */
export function fitBody(build: (caps: TextCaps) => unknown, caps: TextCaps, maxBytes: number): string {
  let c = caps;
  for (;;) {
    const body = goJson(build(c));
    if (byteLength(body) <= maxBytes) return body;
    if (c.value <= 16 && c.title <= 16 && c.detail <= 16) return body;
    c = { value: Math.max(16, c.value >> 1), title: Math.max(16, c.title >> 1), detail: Math.max(16, c.detail >> 1) };
  }
}
