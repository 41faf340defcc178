/**
 * Microsoft Teams messages, in the two shapes Teams accepts from a webhook:
 * - `AdaptiveCard` (the default): the body of a Workflows (Power Automate) flow started by "When a
 *   Teams webhook request is received" — `{"type":"message","attachments":[{"contentType":
 *   "application/vnd.microsoft.card.adaptive","contentUrl":null,"content":<card>}]}` with an
 *   Adaptive Card 1.4 (the version the flow's "Post card in a chat or channel" renders): a title
 *   coloured by the event kind, the detail line, a FactSet, the time and event id, and an
 *   "Open in Wharf" action when there is a page to open.
 * - `MessageCard`: the legacy Office 365 connector card (`@type` MessageCard, `summary`, `title`,
 *   `themeColor`, one section with `facts`, an OpenUri action). Connectors are being retired;
 *   Workflows do not accept this shape.
 * Both carry the facts the Slack and Discord formats carry and stay within Teams' 28 KB message
 * limit whatever the names and tag lists (texts are capped, then shrunk until the body fits).
 */
import type { WharfEvent } from '../../events/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import type { AnyEventType } from './common.ts';
import { chatFacts, fitBody, hexColour, type ChatFacts, type TextCaps } from './chat-facts.ts';

/** Teams payload formats, the default first. */
export const teamsPayloadFormats = ['AdaptiveCard', 'MessageCard'] as const;
/** A Teams payload format. */
export type TeamsPayloadFormat = (typeof teamsPayloadFormats)[number];

/** The limits this format respects. */
export const teamsLimits = {
  /** Teams rejects messages over 28 KB; the body is kept under 28,000 bytes of UTF-8. */
  bodyBytes: 28_000,
  /** Wharf's own caps, so one long value cannot crowd out the rest. */
  factValue: 1000,
  title: 256,
  detail: 2000,
} as const;

/** The Adaptive Card version Wharf sends. */
export const adaptiveCardVersion = '1.4';

const caps: TextCaps = { value: teamsLimits.factValue, title: teamsLimits.title, detail: teamsLimits.detail };

/** Every event type has a Teams rendering. */
export function teamsSupports(_eventType: AnyEventType): boolean {
  return true;
}

type TextBlock = { type: 'TextBlock'; text: string; wrap: true; weight?: 'Bolder'; size?: 'Small' | 'Medium'; color?: string; isSubtle?: boolean; fontType?: 'Monospace' };
type CardElement = TextBlock | { type: 'FactSet'; facts: Array<{ title: string; value: string }> };

/** The Adaptive Card itself (the attachment's `content`). */
export interface AdaptiveCard {
  $schema: string;
  type: 'AdaptiveCard';
  version: string;
  msteams: { width: 'Full' };
  body: CardElement[];
  actions?: Array<{ type: 'Action.OpenUrl'; title: string; url: string }>;
}

/** The Workflows request body. */
export interface TeamsWorkflowMessage {
  type: 'message';
  attachments: Array<{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }>;
}

function adaptiveCard(f: ChatFacts): AdaptiveCard {
  const body: CardElement[] = [{ type: 'TextBlock', text: f.title, wrap: true, weight: 'Bolder', size: 'Medium', color: f.tone }];
  if (f.summary.detail !== null) body.push({ type: 'TextBlock', text: f.summary.detail, wrap: true });
  body.push({ type: 'FactSet', facts: f.facts.map((x) => ({ title: x.name, value: x.value })) });
  // Teams renders DATE()/TIME() in the reader's time zone; the RFC 3339 text is the fallback.
  body.push({ type: 'TextBlock', text: `{{DATE(${f.time}, SHORT)}} {{TIME(${f.time})}} · ${f.footer}`, wrap: true, size: 'Small', isSubtle: true });
  const card: AdaptiveCard = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: adaptiveCardVersion, msteams: { width: 'Full' }, body };
  if (f.summary.link !== null) card.actions = [{ type: 'Action.OpenUrl', title: 'Open in Wharf', url: f.summary.link }];
  return card;
}

/** The Workflows body for an event, with texts within `c`. */
export function teamsWorkflowMessage(event: WharfEvent, ctx: FormatContext, c: TextCaps = caps): TeamsWorkflowMessage {
  const content = adaptiveCard(chatFacts(event, ctx, c));
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }] };
}

/** The legacy connector card. */
export interface TeamsMessageCard {
  '@type': 'MessageCard';
  '@context': 'http://schema.org/extensions';
  summary: string;
  themeColor: string;
  title: string;
  sections: Array<{ activityTitle: string; activitySubtitle: string; text?: string; facts: Array<{ name: string; value: string }>; markdown: true }>;
  potentialAction?: Array<{ '@type': 'OpenUri'; name: string; targets: Array<{ os: 'default'; uri: string }> }>;
}

/** The MessageCard for an event, with texts within `c`. */
export function teamsMessageCard(event: WharfEvent, ctx: FormatContext, c: TextCaps = caps): TeamsMessageCard {
  const f = chatFacts(event, ctx, c);
  const card: TeamsMessageCard = {
    '@type': 'MessageCard',
    '@context': 'http://schema.org/extensions',
    summary: f.title,
    themeColor: hexColour(f.colour).slice(1).toUpperCase(),
    title: f.title,
    sections: [
      {
        activityTitle: f.summary.label,
        activitySubtitle: `${f.time} · ${f.footer}`,
        ...(f.summary.detail !== null ? { text: f.summary.detail } : {}),
        facts: f.facts.map((x) => ({ name: x.name, value: x.value })),
        markdown: true,
      },
    ],
  };
  if (f.summary.link !== null) card.potentialAction = [{ '@type': 'OpenUri', name: 'Open in Wharf', targets: [{ os: 'default', uri: f.summary.link }] }];
  return card;
}

const headers = { 'Content-Type': 'application/json' };

/** The Teams format: the target's `payload_format` picks the shape ('' is AdaptiveCard). */
export const formatTeams: PayloadFormatter = (event, ctx): RenderedPayload => {
  const build = ctx.target.payloadFormat === 'MessageCard' ? (c: TextCaps) => teamsMessageCard(event, ctx, c) : (c: TextCaps) => teamsWorkflowMessage(event, ctx, c);
  return { body: fitBody(build, caps, teamsLimits.bodyBytes), headers: { ...headers } };
};
