/**
 * A webhook task's log as text, rendered from its stored rows: one block per HTTP attempt with the
 * request (headers redacted, body), the response (status, headers, body excerpt), duration and
 * error, in Harbor's `<time> [LEVEL] message` line style. Pure: the history service loads the rows.
 */
import type { WebhookAttemptRow, WebhookExecutionRow, WebhookTargetRow, WebhookTaskRow } from '../db/index.ts';
import { sealedError } from './http-client.ts';
import { redacted } from './policy-spec.ts';
import { stringMap } from './stored-json.ts';
import { hiddenPrivate } from './views.ts';

/** What a task log shows. */
export interface TaskLogInput {
  task: WebhookTaskRow;
  execution: WebhookExecutionRow;
  /** The task's attempts, in attempt order. */
  attempts: readonly WebhookAttemptRow[];
  /** The target's custom headers (JSON), whose values the log never shows; undefined when the target is gone. */
  targetHeaders: WebhookTargetRow['headers'] | undefined;
  /** True when the reader may not see what an admin-approved private target answered (./views.ts `hidesDetails`). */
  hide: boolean;
}

/** Header names whose values the log never shows, whatever the worker stored. */
const sensitiveHeader = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|webhook-signature|x-hub-signature(-256)?|x-signature)$/i;

/** Log line times: RFC 3339 with milliseconds (attempts a few ms apart stay in order). */
function logTime(ms: number): string {
  return new Date(ms).toISOString();
}

function headerLines(text: string | null, redactNames: Set<string>): string[] {
  const h = stringMap(text);
  return Object.entries(h).map(([k, v]) => `    ${k}: ${sensitiveHeader.test(k) || redactNames.has(k.toLowerCase()) ? redacted : v}`);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** The log text of one task (see the module comment); ends with a newline. */
export function renderTaskLog({ task, execution: e, attempts, targetHeaders, hide }: TaskLogInput): string {
  const custom = new Set(Object.keys(stringMap(targetHeaders ?? null)).map((k) => k.toLowerCase()));
  // WEBHOOK -> webhook; the chat vendor types (SLACK, DISCORD, TEAMS, MATTERMOST, GOOGLECHAT) by their notify type's name.
  const kind = e.vendor_type === 'WEBHOOK' ? 'webhook' : e.vendor_type.toLowerCase();
  const lines: string[] = [];
  lines.push(`${logTime(task.creation_time)} [INFO] ${kind} task ${task.id} of execution ${e.id}: event ${e.event_type} (${e.event_id}), trigger ${e.trigger}`);
  for (const a of attempts) {
    const level = a.error === null && a.response_status !== null && a.response_status >= 200 && a.response_status < 300 ? 'INFO' : 'ERROR';
    lines.push(`${logTime(a.started_at)} [INFO] attempt ${a.attempt}: POST ${a.url}`);
    lines.push('  request headers:', ...headerLines(a.request_headers, custom));
    lines.push('  request body:', indent(a.request_body));
    if (a.response_status !== null) {
      lines.push(`${logTime(a.started_at + a.duration_ms)} [${level}] attempt ${a.attempt}: response ${a.response_status} after ${a.duration_ms} ms`);
      if (hide) lines.push(`  response headers and body: ${hiddenPrivate}`);
      else {
        lines.push('  response headers:', ...headerLines(a.response_headers, new Set()));
        if (a.response_body !== null && a.response_body !== '') lines.push('  response body (excerpt):', indent(a.response_body));
      }
    } else {
      lines.push(`${logTime(a.started_at + a.duration_ms)} [ERROR] attempt ${a.attempt}: no response after ${a.duration_ms} ms`);
    }
    if (a.error !== null) lines.push(`${logTime(a.started_at + a.duration_ms)} [ERROR] attempt ${a.attempt}: ${hide && a.response_status === null && !a.error.startsWith('blocked by the SSRF policy') ? sealedError : a.error}`);
  }
  if (attempts.length === 0) lines.push(`${logTime(task.update_time)} [INFO] no attempt yet`);
  if (task.end_time !== null) {
    lines.push(`${logTime(task.end_time)} [${task.status === 'Success' ? 'INFO' : 'ERROR'}] ${kind} task finished: ${task.status}${task.status_message && !hide ? `: ${task.status_message}` : ''}`);
  } else if (task.next_attempt_at !== null) {
    lines.push(`${logTime(task.update_time)} [INFO] status ${task.status}; next attempt due at ${logTime(task.next_attempt_at)}`);
  }
  return lines.join('\n') + '\n';
}
