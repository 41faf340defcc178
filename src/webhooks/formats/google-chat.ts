/**
 * Google Chat incoming-webhook messages: a one-line `text` (what notifications show) and one card
 * in `cardsV2` — a header with the event label and subject, a section with the detail line, a
 * section of `decoratedText` widgets (one per fact, its name as the top label), the time and event
 * id, and an "Open in Wharf" button when there is a page to open. Card texts are Chat's HTML
 * subset, so `&`, `<` and `>` are escaped there. The message stays within Chat's limits whatever
 * the names and tag lists: 32,000 bytes for text and cards together, 4,096 characters of text,
 * 100 widgets per card.
 */
import type { WharfEvent } from '../../events/index.ts';
import type { FormatContext, PayloadFormatter, RenderedPayload } from './types.ts';
import { truncate, type AnyEventType } from './common.ts';
import { chatFacts, fitBody, type TextCaps } from './chat-facts.ts';

/** The limits this format respects. */
export const googleChatLimits = {
  /** Chat's maximum message size, text and cards together. */
  bodyBytes: 32_000,
  /** The `text` of a message. */
  text: 4096,
  /** Widgets per card; Chat ignores the ones beyond. */
  widgets: 100,
  factValue: 1000,
  title: 256,
  detail: 2000,
} as const;

const caps: TextCaps = { value: googleChatLimits.factValue, title: googleChatLimits.title, detail: googleChatLimits.detail };

/** Every event type has a Google Chat rendering. */
export function googleChatSupports(_eventType: AnyEventType): boolean {
  return true;
}

/** Escapes text for Chat's card HTML. */
export function chatHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A card widget (the kinds Wharf uses). */
export type ChatWidget =
  | { textParagraph: { text: string } }
  | { decoratedText: { topLabel: string; text: string; wrapText: boolean } }
  | { buttonList: { buttons: Array<{ text: string; onClick: { openLink: { url: string } } }> } };

/** A card section. */
export interface ChatSection {
  header?: string;
  widgets: ChatWidget[];
}

/** The Google Chat message. */
export interface GoogleChatMessage {
  text: string;
  cardsV2: Array<{ cardId: string; card: { header: { title: string; subtitle?: string }; sections: ChatSection[] } }>;
}

/** The Google Chat message as an object (what `body` encodes), with texts within `c`. */
export function googleChatMessage(event: WharfEvent, ctx: FormatContext, c: TextCaps = caps): GoogleChatMessage {
  const f = chatFacts(event, ctx, c);
  const sections: ChatSection[] = [];
  if (f.summary.detail !== null) sections.push({ widgets: [{ textParagraph: { text: chatHtml(f.summary.detail) } }] });
  const facts: ChatWidget[] = f.facts.map((x) => ({ decoratedText: { topLabel: x.name, text: x.code ? `<font color="#5f6368">${chatHtml(x.value)}</font>` : chatHtml(x.value), wrapText: true } }));
  facts.push({ decoratedText: { topLabel: 'Event', text: chatHtml(`${f.time} · ${f.footer}`), wrapText: true } });
  const room = googleChatLimits.widgets - (f.summary.detail !== null ? 1 : 0) - (f.summary.link !== null ? 1 : 0);
  sections.push({ header: 'Details', widgets: facts.slice(0, room) });
  if (f.summary.link !== null) sections.push({ widgets: [{ buttonList: { buttons: [{ text: 'Open in Wharf', onClick: { openLink: { url: f.summary.link } } }] } }] });
  return {
    text: truncate(f.title, googleChatLimits.text),
    cardsV2: [
      {
        cardId: `wharf-${event.id}`,
        card: { header: { title: f.summary.label, ...(f.subject !== '' ? { subtitle: f.subject } : {}) }, sections },
      },
    ],
  };
}

/** The Google Chat format: text and one card, `Content-Type: application/json; charset=UTF-8`. */
export const formatGoogleChat: PayloadFormatter = (event, ctx): RenderedPayload => ({
  body: fitBody((c) => googleChatMessage(event, ctx, c), caps, googleChatLimits.bodyBytes),
  headers: { 'Content-Type': 'application/json; charset=UTF-8' },
});
