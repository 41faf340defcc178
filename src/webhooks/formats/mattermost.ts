/**
 * Mattermost incoming-webhook bodies: one message attachment per event (Mattermost's
 * Slack-compatible attachments): `fallback` (the required plain-text summary, used in
 * notifications), the event kind's colour, the title linked to the artifact, the detail line as
 * text, a field per fact (short ones side by side) and the time and event id as footer.
 * `@` in the texts that support mentions (the fallback and the text) is followed by a zero-width
 * space, so a name like `@channel` notifies nobody. The body stays within Mattermost's post
 * limit (16383 characters; Wharf applies it to the attachment as well) whatever the names and
 * tag lists.
 */
import type { WharfEvent } from '../../events/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import type { AnyEventType } from './common.ts';
import { chatFacts, fitBody, hexColour, type TextCaps } from './chat-facts.ts';

/** The limits this format respects. */
export const mattermostLimits = {
  /** Mattermost's maximum post length in characters; longer texts are split into several posts. */
  postText: 16383,
  /** The whole body, in bytes: the post limit applied to everything Wharf sends. */
  bodyBytes: 16383,
  factValue: 1000,
  title: 256,
  detail: 2000,
} as const;

const caps: TextCaps = { value: mattermostLimits.factValue, title: mattermostLimits.title, detail: mattermostLimits.detail };

/** Every event type has a Mattermost rendering. */
export function mattermostSupports(_eventType: AnyEventType): boolean {
  return true;
}

/** Breaks `@mentions` (`@channel`, `@all`, `@here`, `@user`) with a zero-width space after `@`. */
export function noMentions(s: string): string {
  return s.replace(/@/g, '@\u200b');
}

/** One attachment field. */
export interface MattermostField {
  title: string;
  value: string;
  short: boolean;
}

/** One message attachment. */
export interface MattermostAttachment {
  fallback: string;
  color: string;
  title: string;
  title_link?: string;
  text?: string;
  fields: MattermostField[];
  footer: string;
}

/** The Mattermost body as an object (what `body` encodes). */
export function mattermostMessage(event: WharfEvent, ctx: FormatContext, c: TextCaps = caps): { attachments: MattermostAttachment[] } {
  const f = chatFacts(event, ctx, c);
  const a: MattermostAttachment = {
    fallback: noMentions(f.title),
    color: hexColour(f.colour),
    title: f.title,
    ...(f.summary.link !== null ? { title_link: f.summary.link } : {}),
    ...(f.summary.detail !== null ? { text: noMentions(f.summary.detail) } : {}),
    fields: f.facts.map((x) => ({ title: x.name, value: x.code ? `\`${x.value}\`` : x.value, short: !x.long })),
    footer: `Wharf · ${f.time} · ${f.footer}`,
  };
  return { attachments: [a] };
}

/** The Mattermost format: one attachment, `Content-Type: application/json`. */
export const formatMattermost: PayloadFormatter = (event, ctx): RenderedPayload => ({
  body: fitBody((c) => mattermostMessage(event, ctx, c), caps, mattermostLimits.bodyBytes),
  headers: { 'Content-Type': 'application/json' },
});
