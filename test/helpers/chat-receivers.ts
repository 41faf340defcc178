/**
 * Local stand-ins for the chat services' incoming webhooks: node:http servers on 127.0.0.1 that
 * check each request against what the service documents as required and answer like it.
 *
 * - `teams-workflow`: a Teams Workflows flow "When a Teams webhook request is received" that posts
 *   the card ("Post card in a chat or channel"): `type: "message"`, `attachments[]` of content type
 *   `application/vnd.microsoft.card.adaptive` holding an `AdaptiveCard` of version 1.0–1.5 with a
 *   non-empty `body` of known elements (TextBlock needs `text`, FactSet `facts` of title/value
 *   strings), `Action.OpenUrl` with an absolute URL. Answers 202 with no body.
 * - `teams-connector`: the legacy Office 365 connector: `@type` MessageCard, `@context`
 *   schema.org/extensions, `summary` or `text` ("Summary or Text is required."), `themeColor` as
 *   hex, sections' `facts` of name/value strings, OpenUri actions with targets. Answers 200 `1`.
 * - `mattermost`: `text` and/or `attachments` ("No text specified" otherwise), each attachment
 *   with its required `fallback`, fields of title/value, `color` hex or good/warning/danger.
 *   Mattermost splits a text over 16383 characters into several posts; the receiver counts posts.
 *   Answers 200 `ok` (text/plain).
 * - `googlechat`: only known Message fields (an unknown one is `Invalid JSON payload received.
 *   Unknown name …`), `text` or `cardsV2` (else "Message cannot be empty."), at most 32,000 bytes,
 *   text at most 4,096 characters; each card with `cardId`, a header with a `title`, sections with
 *   at least one widget, each widget exactly one known kind with its required fields; widgets past
 *   100 per card are counted as ignored (Chat drops them). Answers 200 with the created Message.
 *
 * All of them: POST only (405 otherwise), `Content-Type: application/json` (charset allowed; 415
 * for Teams and Chat, 400 for Mattermost, which then expects a `payload=` form), valid JSON (400).
 * Teams answers 413 above its 28 KB message limit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

/** The services the receivers stand in for. */
export type ChatService = 'teams-workflow' | 'teams-connector' | 'mattermost' | 'googlechat';

/** A request a receiver accepted. */
export interface AcceptedMessage {
  path: string;
  contentType: string;
  body: unknown;
  /** Mattermost: how many posts the text makes (1 unless it is longer than 16383 characters). */
  posts: number;
  /** Google Chat: widgets past 100 on a card, which Chat ignores. */
  ignoredWidgets: number;
}

/** A request a receiver refused, and why. */
export interface RejectedMessage {
  path: string;
  status: number;
  problem: string;
  body: string;
}

/** A running receiver. */
export interface ChatReceiver {
  service: ChatService;
  /** http://127.0.0.1:PORT */
  url: string;
  readonly accepted: AcceptedMessage[];
  readonly rejected: RejectedMessage[];
  /** Resolves when `n` messages were accepted; rejects after `ms` with what was refused. */
  waitForAccepted(n: number, ms?: number): Promise<AcceptedMessage[]>;
  close(): Promise<void>;
}

/** A refusal: status and the service's words. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function refuse(message: string, status = 400): never {
  throw new Refusal(status, message);
}

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, where: string): Json {
  if (!isObj(v)) refuse(`${where} must be an object`);
  return v;
}

function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) refuse(`${where} must be an array`);
  return v;
}

function str(v: unknown, where: string, opts: { nonEmpty?: boolean } = {}): string {
  if (typeof v !== 'string') refuse(`${where} must be a string`);
  if (opts.nonEmpty === true && v.trim() === '') refuse(`${where} must not be empty`);
  return v;
}

function absoluteUrl(v: unknown, where: string): string {
  const s = str(v, where, { nonEmpty: true });
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    refuse(`${where} is not an absolute URL: ${s}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') refuse(`${where} must be http(s): ${s}`);
  return s;
}

/** Teams: the message limit, 28 KB. */
export const teamsMaxBytes = 28 * 1024;
/** Mattermost: characters per post. */
export const mattermostMaxPostRunes = 16383;
/** Google Chat: bytes per message, text and cards. */
export const googleChatMaxBytes = 32_000;
/** Google Chat: characters of `text`. */
export const googleChatMaxText = 4096;
/** Google Chat: widgets per card honoured. */
export const googleChatMaxWidgets = 100;

const adaptiveElements = new Set(['TextBlock', 'FactSet', 'ColumnSet', 'Column', 'Container', 'Image', 'ImageSet', 'RichTextBlock', 'ActionSet', 'Table', 'Media']);
const adaptiveActions = new Set(['Action.OpenUrl', 'Action.Submit', 'Action.ShowCard', 'Action.ToggleVisibility', 'Action.Execute']);

function checkAdaptiveElement(v: unknown, where: string): void {
  const el = obj(v, where);
  const type = str(el.type, `${where}.type`);
  if (!adaptiveElements.has(type)) refuse(`${where}: unknown element type ${type}`);
  if (type === 'TextBlock') str(el.text, `${where}.text`);
  if (type === 'FactSet') {
    arr(el.facts, `${where}.facts`).forEach((f, i) => {
      const fact = obj(f, `${where}.facts[${i}]`);
      str(fact.title, `${where}.facts[${i}].title`);
      str(fact.value, `${where}.facts[${i}].value`);
    });
  }
  if (type === 'Container') arr(el.items, `${where}.items`).forEach((x, i) => checkAdaptiveElement(x, `${where}.items[${i}]`));
}

/** The Workflows body with an Adaptive Card: throws a Refusal, or returns nothing. */
export function checkTeamsWorkflow(body: unknown): void {
  const m = obj(body, 'body');
  if (m.type !== 'message') refuse(`type must be "message", got ${JSON.stringify(m.type)}`);
  const atts = arr(m.attachments, 'attachments');
  if (atts.length === 0) refuse('attachments must not be empty');
  atts.forEach((a, i) => {
    const att = obj(a, `attachments[${i}]`);
    if (att.contentType !== 'application/vnd.microsoft.card.adaptive') refuse(`attachments[${i}].contentType must be application/vnd.microsoft.card.adaptive`);
    if (att.contentUrl !== undefined && att.contentUrl !== null) str(att.contentUrl, `attachments[${i}].contentUrl`);
    const card = obj(att.content, `attachments[${i}].content`);
    if (card.type !== 'AdaptiveCard') refuse(`attachments[${i}].content.type must be AdaptiveCard`);
    const version = str(card.version, `attachments[${i}].content.version`);
    const v = /^1\.(\d)$/.exec(version);
    if (v === null || Number(v[1]) > 5) refuse(`attachments[${i}].content.version ${version} is not supported (1.0 to 1.5)`);
    const els = arr(card.body, `attachments[${i}].content.body`);
    if (els.length === 0) refuse(`attachments[${i}].content.body must not be empty`);
    els.forEach((el, j) => checkAdaptiveElement(el, `attachments[${i}].content.body[${j}]`));
    if (card.actions !== undefined) {
      arr(card.actions, `attachments[${i}].content.actions`).forEach((x, j) => {
        const act = obj(x, `attachments[${i}].content.actions[${j}]`);
        const t = str(act.type, `attachments[${i}].content.actions[${j}].type`);
        if (!adaptiveActions.has(t)) refuse(`attachments[${i}].content.actions[${j}]: unknown action type ${t}`);
        if (t === 'Action.OpenUrl') absoluteUrl(act.url, `attachments[${i}].content.actions[${j}].url`);
      });
    }
  });
}

/** The legacy connector's MessageCard: throws a Refusal, or returns nothing. */
export function checkTeamsMessageCard(body: unknown): void {
  const c = obj(body, 'body');
  if (c['@type'] !== 'MessageCard') refuse('@type must be MessageCard');
  if (c['@context'] !== 'http://schema.org/extensions' && c['@context'] !== 'https://schema.org/extensions') refuse('@context must be http://schema.org/extensions');
  const summary = c.summary === undefined ? '' : str(c.summary, 'summary');
  const text = c.text === undefined ? '' : str(c.text, 'text');
  if (summary.trim() === '' && text.trim() === '') refuse('Summary or Text is required.');
  if (c.themeColor !== undefined && !/^#?[0-9a-fA-F]{6}$/.test(str(c.themeColor, 'themeColor'))) refuse('themeColor must be a hex colour');
  if (c.sections !== undefined) {
    arr(c.sections, 'sections').forEach((s, i) => {
      const sec = obj(s, `sections[${i}]`);
      if (sec.facts === undefined) return;
      arr(sec.facts, `sections[${i}].facts`).forEach((f, j) => {
        const fact = obj(f, `sections[${i}].facts[${j}]`);
        str(fact.name, `sections[${i}].facts[${j}].name`);
        str(fact.value, `sections[${i}].facts[${j}].value`);
      });
    });
  }
  if (c.potentialAction !== undefined) {
    arr(c.potentialAction, 'potentialAction').forEach((a, i) => {
      const act = obj(a, `potentialAction[${i}]`);
      const t = str(act['@type'], `potentialAction[${i}].@type`);
      if (!['OpenUri', 'HttpPOST', 'ActionCard', 'InvokeAddInCommand'].includes(t)) refuse(`potentialAction[${i}]: unknown action ${t}`);
      if (t === 'OpenUri') {
        const targets = arr(act.targets, `potentialAction[${i}].targets`);
        if (targets.length === 0) refuse(`potentialAction[${i}].targets must not be empty`);
        targets.forEach((x, j) => absoluteUrl(obj(x, `potentialAction[${i}].targets[${j}]`).uri, `potentialAction[${i}].targets[${j}].uri`));
      }
    });
  }
}

/** A Mattermost incoming-webhook body: the number of posts it makes, or a Refusal. */
export function checkMattermost(body: unknown): number {
  const m = obj(body, 'body');
  const text = m.text === undefined || m.text === null ? '' : str(m.text, 'text');
  const atts = m.attachments === undefined || m.attachments === null ? [] : arr(m.attachments, 'attachments');
  if (text === '' && atts.length === 0) refuse('No text specified');
  atts.forEach((a, i) => {
    const att = obj(a, `attachments[${i}]`);
    str(att.fallback, `attachments[${i}].fallback`, { nonEmpty: true });
    if (att.color !== undefined && !/^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|good|warning|danger)$/.test(str(att.color, `attachments[${i}].color`))) refuse(`attachments[${i}].color must be a hex colour`);
    if (att.title_link !== undefined) absoluteUrl(att.title_link, `attachments[${i}].title_link`);
    for (const k of ['pretext', 'text', 'title', 'footer', 'author_name']) if (att[k] !== undefined) str(att[k], `attachments[${i}].${k}`);
    if (att.fields !== undefined && att.fields !== null) {
      arr(att.fields, `attachments[${i}].fields`).forEach((f, j) => {
        const field = obj(f, `attachments[${i}].fields[${j}]`);
        str(field.title, `attachments[${i}].fields[${j}].title`);
        if (typeof field.value !== 'string' && typeof field.value !== 'number') refuse(`attachments[${i}].fields[${j}].value must be a string or a number`);
        if (field.short !== undefined && typeof field.short !== 'boolean') refuse(`attachments[${i}].fields[${j}].short must be true or false`);
      });
    }
  });
  return Math.max(1, Math.ceil([...text].length / mattermostMaxPostRunes));
}

const chatMessageFields = new Set(['text', 'cardsV2', 'cards', 'thread', 'fallbackText', 'accessoryWidgets', 'privateMessageViewer', 'formattedText', 'annotations', 'attachment', 'name']);
const widgetKinds: Record<string, (w: Json, where: string) => void> = {
  textParagraph: (w, where) => void str(w.text, `${where}.text`),
  decoratedText: (w, where) => {
    str(w.text, `${where}.text`);
    for (const k of Object.keys(w)) if (!['text', 'topLabel', 'bottomLabel', 'wrapText', 'startIcon', 'endIcon', 'button', 'switchControl', 'onClick', 'icon'].includes(k)) refuse(`Invalid JSON payload received. Unknown name "${k}" at '${where}': Cannot find field.`);
  },
  buttonList: (w, where) => {
    arr(w.buttons, `${where}.buttons`).forEach((b, i) => {
      const btn = obj(b, `${where}.buttons[${i}]`);
      str(btn.text, `${where}.buttons[${i}].text`);
      const click = obj(btn.onClick, `${where}.buttons[${i}].onClick`);
      if (click.openLink !== undefined) absoluteUrl(obj(click.openLink, `${where}.buttons[${i}].onClick.openLink`).url, `${where}.buttons[${i}].onClick.openLink.url`);
    });
  },
  image: (w, where) => void absoluteUrl(w.imageUrl, `${where}.imageUrl`),
  divider: () => undefined,
  grid: () => undefined,
  columns: () => undefined,
  chipList: () => undefined,
};

/** A Google Chat message: the widgets Chat would ignore, or a Refusal. */
export function checkGoogleChat(body: unknown): number {
  const m = obj(body, 'message');
  for (const k of Object.keys(m)) if (!chatMessageFields.has(k)) refuse(`Invalid JSON payload received. Unknown name "${k}" at 'message': Cannot find field.`);
  const text = m.text === undefined ? '' : str(m.text, 'text');
  if ([...text].length > googleChatMaxText) refuse(`text is longer than ${googleChatMaxText} characters`);
  const cards = m.cardsV2 === undefined ? [] : arr(m.cardsV2, 'cardsV2');
  if (text.trim() === '' && cards.length === 0) refuse('Message cannot be empty. Discarding empty message.');
  let ignored = 0;
  cards.forEach((c, i) => {
    const cw = obj(c, `cardsV2[${i}]`);
    str(cw.cardId, `cardsV2[${i}].cardId`, { nonEmpty: true });
    const card = obj(cw.card, `cardsV2[${i}].card`);
    if (card.header !== undefined) str(obj(card.header, `cardsV2[${i}].card.header`).title, `cardsV2[${i}].card.header.title`, { nonEmpty: true });
    let widgets = 0;
    arr(card.sections, `cardsV2[${i}].card.sections`).forEach((s, j) => {
      const sec = obj(s, `cardsV2[${i}].card.sections[${j}]`);
      const ws = arr(sec.widgets, `cardsV2[${i}].card.sections[${j}].widgets`);
      if (ws.length === 0) refuse(`cardsV2[${i}].card.sections[${j}]: a section must contain at least one widget`);
      ws.forEach((w, k) => {
        const where = `cardsV2[${i}].card.sections[${j}].widgets[${k}]`;
        const widget = obj(w, where);
        const kinds = Object.keys(widget).filter((x) => x !== 'horizontalAlignment');
        if (kinds.length !== 1) refuse(`${where} must hold exactly one widget, has ${kinds.join(', ') || 'none'}`);
        const kind = kinds[0] ?? '';
        const check = widgetKinds[kind];
        if (check === undefined) refuse(`Invalid JSON payload received. Unknown name "${kind}" at '${where}': Cannot find field.`);
        check(obj(widget[kind], `${where}.${kind}`), `${where}.${kind}`);
      });
      widgets += ws.length;
    });
    ignored += Math.max(0, widgets - googleChatMaxWidgets);
  });
  return ignored;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The service's error answer for a refusal. */
function errorAnswer(service: ChatService, r: Refusal): { status: number; type: string; body: string } {
  switch (service) {
    case 'teams-workflow':
      return { status: r.status, type: 'application/json', body: JSON.stringify({ error: { code: 'InvalidRequestContent', message: r.message } }) };
    case 'teams-connector':
      return { status: r.status, type: 'text/plain', body: r.message };
    case 'mattermost':
      return { status: r.status, type: 'application/json', body: JSON.stringify({ id: 'web.incoming_webhook.parse.app_error', message: r.message, detailed_error: '', request_id: randomUUID(), status_code: r.status }) };
    case 'googlechat':
      return { status: r.status, type: 'application/json; charset=UTF-8', body: JSON.stringify({ error: { code: r.status, message: r.message, status: 'INVALID_ARGUMENT' } }) };
  }
}

/** Starts a receiver for `service` on 127.0.0.1 (any path). */
export async function startChatReceiver(service: ChatService): Promise<ChatReceiver> {
  const accepted: AcceptedMessage[] = [];
  const rejected: RejectedMessage[] = [];
  const waiters = new Set<() => void>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const contentType = String(req.headers['content-type'] ?? '');
    try {
      if (req.method !== 'POST') refuse(`method ${req.method ?? ''} not allowed`, 405);
      if (!/^application\/json\s*(;|$)/i.test(contentType)) refuse(service === 'mattermost' ? 'Unable to parse incoming data' : `unsupported content type ${contentType}`, service === 'mattermost' ? 400 : 415);
      if (service.startsWith('teams') && raw.length > teamsMaxBytes) refuse('Message size exceeds the 28 KB limit', 413);
      if (service === 'googlechat' && raw.length > googleChatMaxBytes) refuse(`message is larger than ${googleChatMaxBytes} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        refuse(service === 'mattermost' ? 'Unable to parse incoming data' : 'Invalid JSON payload received.');
      }
      let posts = 1;
      let ignoredWidgets = 0;
      if (service === 'teams-workflow') checkTeamsWorkflow(body);
      else if (service === 'teams-connector') checkTeamsMessageCard(body);
      else if (service === 'mattermost') posts = checkMattermost(body);
      else ignoredWidgets = checkGoogleChat(body);
      accepted.push({ path, contentType, body, posts, ignoredWidgets });
      if (service === 'teams-workflow') {
        res.writeHead(202).end();
      } else if (service === 'teams-connector') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('1');
      } else if (service === 'mattermost') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      } else {
        const id = randomUUID();
        const m = isObj(body) ? body : {};
        const created = { name: `spaces/AAAAwharf/messages/${id}`, sender: { name: 'users/114022495153014004089', displayName: 'Wharf', type: 'BOT' }, text: m.text ?? '', cardsV2: m.cardsV2 ?? [], createTime: new Date().toISOString(), space: { name: 'spaces/AAAAwharf', type: 'ROOM' }, thread: { name: `spaces/AAAAwharf/threads/${id}` } };
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(created));
      }
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      const a = errorAnswer(service, err);
      rejected.push({ path, status: a.status, problem: err.message, body: raw.toString('utf8').slice(0, 2000) });
      res.writeHead(a.status, { 'content-type': a.type }).end(a.body);
    }
    for (const w of waiters) w();
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    service,
    url: `http://127.0.0.1:${port}`,
    accepted,
    rejected,
    waitForAccepted(n, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (accepted.length >= n) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(accepted.slice());
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${service}: ${accepted.length} of ${n} messages accepted in ${ms} ms; refused: ${JSON.stringify(rejected.map((r) => `${r.status} ${r.problem}`))}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
