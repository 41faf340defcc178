/**
 * End to end: the console's webhook, robot account and tag strategy pages in a real headless
 * Chromium against a real Wharf (test/helpers/browser.ts), with a real webhook receiver
 * (test/helpers/receiver.ts) and real skopeo pushes. A robot's secret is shown exactly once and
 * works; a webhook with an auth header is made in the "New Webhook" dialog, a push is delivered,
 * the execution turns Success and its task view shows the receiver's answer; "Redeliver" sends it
 * again; the webhook page opens directly in a fresh page; a retention dry run shows in the run
 * history with its per-repository task and log. Screenshots go to test-results/console/.
 * Skipped without Chromium or skopeo, unless WHARF_REQUIRE_E2E=1.
 */
// run-tests: sqlite pass only (the browser drives the console; the API it calls runs on PostgreSQL in test/integration).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot, signIn, skipWithoutChromium, startConsole, type ConsoleHarness } from '../helpers/browser.ts';
import { header, startReceiver, type Receiver } from '../helpers/receiver.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';

const skip = skipWithoutChromium() || skipWithoutSkopeo();
let h: ConsoleHarness;
let recv: Receiver;
const receiverAnswer = 'accepted by the console e2e receiver';

before(async () => {
  if (skip) return;
  recv = await startReceiver();
  recv.respond('/hook', { body: receiverAnswer });
  h = await startConsole();
});
after(async () => {
  await h?.close();
  await recv?.close();
});

/** A screenshot once animations settled, from the top of the page. */
async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await screenshot(page, name);
}

async function robotSecretWorks(name: string, secret: string): Promise<number> {
  const res = await fetch(`${h.wharf.url}/api/v2.0/projects?page_size=1`, { headers: { authorization: 'Basic ' + Buffer.from(`${name}:${secret}`).toString('base64') } });
  await res.arrayBuffer();
  return res.status;
}

test('e2e: a new project robot account shows its secret exactly once, and the secret works', { skip, timeout: 60_000 }, async () => {
  const page = await h.newPage();
  await signIn(page);
  await page.goto('/harbor/projects/1/robot-account');
  await page.getByRole('button', { name: 'New Robot Account' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Robot Account' });
  await dialog.getByLabel('Name').fill('console-ci');
  await dialog.getByRole('checkbox', { name: 'artifact read' }).check();
  await dialog.getByRole('button', { name: 'Add' }).click();

  const shown = page.getByRole('dialog', { name: 'Secret of robot$library+console-ci' });
  await shown.waitFor();
  const secret = await shown.getByLabel('Secret').inputValue();
  assert.match(secret, /^\S{8,}$/);
  assert.equal(await robotSecretWorks('robot$library+console-ci', secret), 200);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await shown.getByRole('button', { name: 'Copy' }).click();
  await shown.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await shot(page, 'robot-secret');
  await shown.getByRole('button', { name: 'Close' }).click();
  await shown.waitFor({ state: 'hidden' });

  // The list shows the robot, and nowhere the secret again, also after a reload.
  const table = page.getByRole('table', { name: 'Robot accounts' });
  await table.getByRole('cell', { name: 'robot$library+console-ci', exact: true }).waitFor();
  await page.reload();
  await table.getByRole('cell', { name: 'robot$library+console-ci', exact: true }).waitFor();
  assert.equal(await page.getByText(secret).count(), 0);
  assert.match((await table.textContent()) ?? '', /artifact:read/);
  await shot(page, 'robot-accounts');

  // Refresh: a new secret, once; the old one stops working.
  await page.getByRole('button', { name: 'Refresh secret of robot$library+console-ci' }).click();
  await page.getByRole('dialog', { name: 'Refresh secret' }).getByRole('button', { name: 'Refresh' }).click();
  const again = page.getByRole('dialog', { name: 'Secret of robot$library+console-ci' });
  await again.waitFor();
  const fresh = await again.getByLabel('Secret').inputValue();
  assert.notEqual(fresh, secret);
  await again.getByRole('button', { name: 'Close' }).click();
  assert.equal(await robotSecretWorks('robot$library+console-ci', fresh), 200);
  assert.equal(await robotSecretWorks('robot$library+console-ci', secret), 401);

  // Edit: the description and the permissions change, the secret stays.
  await page.getByRole('button', { name: 'Edit robot$library+console-ci' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit robot$library+console-ci' });
  await edit.getByLabel('Description').fill('pulls for CI');
  await edit.getByRole('checkbox', { name: 'repository push' }).uncheck();
  await edit.getByRole('button', { name: 'Save' }).click();
  await edit.waitFor({ state: 'hidden' });
  const robotRow = table.getByRole('row', { name: /robot\$library\+console-ci/ });
  await robotRow.getByText('pulls for CI').waitFor();
  assert.doesNotMatch((await robotRow.textContent()) ?? '', /repository:push/);
  assert.equal(await robotSecretWorks('robot$library+console-ci', fresh), 200);

  // Disable, then delete.
  await page.getByRole('button', { name: 'Disable robot$library+console-ci' }).click();
  await page.getByRole('button', { name: 'Enable robot$library+console-ci' }).waitFor();
  assert.equal(await robotSecretWorks('robot$library+console-ci', fresh), 401);
  await page.getByRole('button', { name: 'Delete robot$library+console-ci' }).click();
  await page.getByRole('dialog', { name: 'Delete robot account' }).getByRole('button', { name: 'Delete' }).click();
  await table.getByRole('cell', { name: 'robot$library+console-ci', exact: true }).waitFor({ state: 'detached' });
});

test('e2e: a system robot account covers all projects and shows its secret once', { skip, timeout: 60_000 }, async () => {
  const page = await h.newPage();
  await signIn(page);
  await page.goto('/harbor/robot-accounts');
  await page.getByRole('button', { name: 'New Robot Account' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Robot Account' });
  await dialog.getByLabel('Name').fill('console-sys');
  await dialog.getByLabel('Never expires').check();
  await dialog.getByRole('button', { name: 'Add' }).click();
  const shown = page.getByRole('dialog', { name: 'Secret of robot$console-sys' });
  const secret = await shown.getByLabel('Secret').inputValue();
  assert.equal(await robotSecretWorks('robot$console-sys', secret), 200);
  await shown.getByRole('button', { name: 'Close' }).click();
  const row = page.getByRole('row', { name: /robot\$console-sys/ });
  await row.waitFor();
  assert.match((await row.textContent()) ?? '', /Never/);
  assert.match((await row.textContent()) ?? '', /\*: repository:pull, repository:push/);
  await shot(page, 'system-robot-accounts');
});

test('e2e: a webhook made in the console delivers a skopeo push, shows the response, redelivers, and opens directly', { skip, timeout: 120_000 }, async () => {
  const page = await h.newPage();
  await signIn(page);
  await page.goto('/harbor/projects/1/webhook');
  await page.getByRole('button', { name: 'New Webhook' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Webhook' });
  await dialog.getByLabel('Name').fill('console-hook');
  await dialog.getByLabel('Description').fill('made by the console e2e test');
  // Only pushes: untick the other event types the server offers.
  for (const box of await dialog.getByRole('group', { name: 'Event Type' }).getByRole('checkbox').all()) {
    const label = await box.evaluate((el) => el.closest('label')?.textContent ?? '');
    if (label === 'Artifact pushed') await box.check();
    else await box.uncheck();
  }
  await dialog.getByLabel('Endpoint URL').fill(`${recv.url}/hook`);
  await dialog.getByRole('textbox', { name: 'Auth Header' }).fill('Bearer console-e2e-token');
  await dialog.getByLabel('Tag filters').fill('v*');
  await dialog.getByLabel('Signing secret').fill('whsec_Y29uc29sZS1lMmUtc2lnbmluZy1zZWNyZXQ=');
  await dialog.getByRole('button', { name: '+ Header' }).click();
  await dialog.getByLabel('Header 1 name').fill('X-Team');
  await dialog.getByLabel('Header 1 value').fill('platform');
  // "Test" reaches the receiver on /test-path without recording history.
  await dialog.getByLabel('Endpoint URL').fill(`${recv.url}/probe`);
  await dialog.getByRole('button', { name: 'Test' }).click();
  await dialog.getByText(/The endpoint answered with status 200/).waitFor();
  assert.equal(recv.on('/probe').length, 1);
  assert.equal(header(recv.on('/probe')[0]!, 'authorization'), 'Bearer console-e2e-token');
  await dialog.getByLabel('Endpoint URL').fill(`${recv.url}/hook`);
  await shot(page, 'webhook-dialog');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.waitFor({ state: 'hidden' });

  const policies = page.getByRole('table', { name: 'Webhook policies' });
  const row = policies.getByRole('row', { name: /console-hook/ });
  await row.waitFor();
  const rowText = (await row.textContent()) ?? '';
  assert.match(rowText, /Enabled/);
  assert.match(rowText, /Artifact pushed/);
  assert.ok(rowText.includes(`${recv.url}/hook`), rowText);

  // A push with skopeo: one delivery, with the auth header.
  const layout = OciLayout.create();
  await writeSingleLayerImage(layout, 'v1');
  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('v1'), `docker://${h.wharf.host}/library/console-app:v1`]);
  const [first] = await recv.waitFor(1, 20_000, '/hook');
  assert.equal(header(first!, 'authorization'), 'Bearer console-e2e-token');
  assert.match(first!.body.toString(), /PUSH_ARTIFACT/);
  assert.equal(header(first!, 'x-team'), 'platform');
  assert.match(header(first!, 'webhook-signature') ?? '', /^v1,/);
  await page.reload();
  await row.waitFor();
  await shot(page, 'webhooks');

  // The executions page turns Success by itself (it polls while a delivery is going).
  await row.getByRole('link', { name: 'console-hook', exact: true }).click();
  await page.waitForURL(/\/harbor\/projects\/1\/webhook\/\d+\/executions$/);
  const executions = page.getByRole('table', { name: 'Webhook executions' });
  await executions.getByText('Success').first().waitFor({ timeout: 30_000 });
  assert.equal(await executions.getByRole('row').count(), 2); // the header and one execution
  // The status filter asks the server: no failed delivery here.
  await page.getByRole('combobox', { name: 'Status' }).click();
  await page.getByRole('option', { name: 'Error' }).click();
  await executions.getByText('No Error delivery.').waitFor();
  await page.getByRole('combobox', { name: 'Status' }).click();
  await page.getByRole('option', { name: 'All' }).click();
  await executions.getByRole('link', { name: /^Tasks of execution \d+$/ }).click();
  await page.waitForURL(/\/harbor\/projects\/1\/webhook\/\d+\/executions\/\d+\/tasks$/);
  const taskUrl = page.url();

  // The task view: the request as sent (auth header redacted) and the receiver's answer.
  await page.getByLabel('Response status of attempt 1').getByText('Status: 200').waitFor();
  assert.equal(((await page.getByLabel('Response body of attempt 1').textContent()) ?? '').trim(), receiverAnswer);
  const sentHeaders = (await page.getByLabel('Request headers of attempt 1').textContent()) ?? '';
  assert.match(sentHeaders, /authorization: <redacted>/i);
  assert.match(sentHeaders, /x-team: <redacted>/i);
  assert.ok(!sentHeaders.includes('console-e2e-token'), sentHeaders);
  assert.match((await page.getByLabel('Request body of attempt 1').textContent()) ?? '', /console-app/);
  await shot(page, 'webhook-tasks');

  // Redeliver: a second, identical delivery reaches the receiver.
  await page.getByRole('button', { name: 'Redeliver' }).click();
  await page.getByText(/Redelivery queued as execution \d+/).waitFor();
  const both = await recv.waitFor(2, 20_000, '/hook');
  assert.equal(both[1]!.body.toString(), first!.body.toString());
  assert.equal(header(both[1]!, 'authorization'), 'Bearer console-e2e-token');
  await page.getByRole('link', { name: 'console-hook', exact: true }).click();
  await executions.getByText('Manual (redelivery)').waitFor();
  await shot(page, 'webhook-executions');

  // Kargo's link, in a fresh page (own cookies): sign in, then open it directly.
  const fresh = await h.newPage();
  await signIn(fresh);
  await fresh.goto('/harbor/projects/1/webhook');
  await fresh.getByRole('table', { name: 'Webhook policies' }).getByRole('row', { name: /console-hook/ }).waitFor();
  // and the task URL Harbor uses opens directly too.
  await fresh.goto(new URL(taskUrl).pathname);
  await fresh.getByLabel('Response status of attempt 1').getByText('Status: 200').waitFor();

  // Disable and enable keep the stored auth header (write-only, never shown).
  await page.goto('/harbor/projects/1/webhook');
  await page.getByRole('button', { name: 'Disable console-hook' }).click();
  await page.getByRole('button', { name: 'Enable console-hook' }).click();
  await page.getByRole('button', { name: 'Disable console-hook' }).waitFor();
  await page.getByRole('button', { name: 'Edit console-hook' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Webhook' });
  await edit.getByText('An auth header is stored (never shown). Leave empty to keep it.').waitFor();
  assert.equal(await edit.getByRole('textbox', { name: 'Auth Header' }).inputValue(), '');
  await edit.getByRole('button', { name: 'Cancel' }).click();
});

test('e2e: a Template webhook made in the console previews its body and delivers it on a skopeo push', { skip, timeout: 120_000 }, async () => {
  recv.respond('/templated', { statuses: [204] });
  const page = await h.newPage();
  await signIn(page);
  await page.goto('/harbor/projects/1/webhook');
  await page.getByRole('button', { name: 'New Webhook' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add Webhook' });
  await dialog.getByLabel('Name').fill('console-template');
  for (const box of await dialog.getByRole('group', { name: 'Event Type' }).getByRole('checkbox').all()) {
    const label = await box.evaluate((el) => el.closest('label')?.textContent ?? '');
    if (label === 'Artifact pushed') await box.check();
    else await box.uncheck();
  }
  await dialog.getByRole('combobox', { name: 'Payload Format' }).click();
  await page.getByRole('option', { name: 'Template' }).click();
  // Liquid braces typed as text (fill, not key presses that a browser could treat as shortcuts).
  await dialog.getByRole('textbox', { name: 'Template', exact: true }).fill('{"kind": {{ event.type | json }}, "image": {{ event.repository.name | json }}, "tag": {{ event.tag | json }}}');
  await dialog.getByLabel('Endpoint URL').fill(`${recv.url}/templated`);
  await dialog.getByLabel('Tag filters').fill('tpl-*');
  // Preview renders a sample push without sending anything.
  await dialog.getByRole('button', { name: 'Preview' }).click();
  const preview = dialog.getByRole('region', { name: 'Preview' });
  await preview.waitFor();
  const sample = JSON.parse((await preview.locator('pre').textContent()) ?? '') as Record<string, unknown>;
  assert.equal(sample.kind, 'PUSH_ARTIFACT');
  assert.match((await preview.textContent()) ?? '', /application\/json/);
  assert.equal(recv.on('/templated').length, 0, 'a preview sends nothing');
  // A template that is not Liquid is refused when saved, with the parser's message.
  await dialog.getByRole('textbox', { name: 'Template', exact: true }).fill('{{ event.type ');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.getByText(/template/i).first().waitFor();
  await dialog.getByRole('textbox', { name: 'Template', exact: true }).fill('{"kind": {{ event.type | json }}, "image": {{ event.repository.name | json }}, "tag": {{ event.tag | json }}}');
  await shot(page, 'webhook-template-dialog');
  await dialog.getByRole('button', { name: 'Add' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByRole('table', { name: 'Webhook policies' }).getByRole('row', { name: /console-template/ }).waitFor();

  const layout = OciLayout.create();
  await writeSingleLayerImage(layout, 'tpl-1');
  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('tpl-1'), `docker://${h.wharf.host}/library/console-tpl:tpl-1`]);
  const [got] = await recv.waitFor(1, 20_000, '/templated');
  assert.match(header(got!, 'content-type') ?? '', /^application\/json/);
  assert.deepEqual(JSON.parse(got!.body.toString()), { kind: 'PUSH_ARTIFACT', image: 'library/console-tpl', tag: 'tpl-1' });
});

test('e2e: a retention dry run shows in the run history with its repository task and log', { skip, timeout: 90_000 }, async () => {
  const page = await h.newPage();
  await signIn(page);
  await page.goto('/harbor/projects/1/tag-strategy');
  await page.waitForURL(/\/tag-strategy\/tag-retention$/);
  await page.getByRole('button', { name: 'Add Rule' }).click();
  const dialog = page.getByRole('dialog', { name: 'Tag Retention Rule' });
  await dialog.getByRole('textbox', { name: 'Count' }).fill('1');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await page.getByText('For the repositories matching **, retain the most recently pushed 1 artifacts with tags matching ** (untagged included)').waitFor();

  await page.getByRole('button', { name: 'Dry Run' }).click();
  const runs = page.getByRole('table', { name: 'Retention runs' });
  const run = runs.getByRole('row').nth(1);
  await run.getByText('Success').waitFor({ timeout: 30_000 });
  assert.match((await run.textContent()) ?? '', /Yes/); // the dry-run column
  await run.getByRole('button', { name: /^Tasks of run \d+$/ }).click();
  const tasks = page.getByRole('table', { name: /^Retention tasks of run \d+$/ });
  await tasks.getByRole('cell', { name: 'console-app', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Log of console-app' }).click();
  const log = page.getByRole('dialog', { name: 'Retention log of console-app' });
  await log.getByText(/RETAIN/).waitFor();
  await shot(page, 'retention-log');
  await log.getByRole('button', { name: 'Close' }).click();
  await log.waitFor({ state: 'hidden' });
  await shot(page, 'tag-retention');

  // The artifact is still there: a dry run deletes nothing.
  const res = await fetch(`${h.wharf.url}/api/v2.0/projects/library/repositories/console-app/artifacts`, { headers: { authorization: 'Basic ' + Buffer.from(adminCreds).toString('base64') } });
  assert.equal(((await res.json()) as unknown[]).length, 1);

  // A daily schedule, saved, shows its next run; "Run Now" (confirmed) adds a real run that keeps the one artifact.
  await page.getByRole('combobox', { name: 'Schedule' }).click();
  await page.getByRole('option', { name: 'Daily' }).click();
  assert.equal(await page.getByLabel('Cron (UTC, seconds first)').inputValue(), '0 0 0 * * *');
  await page.getByRole('button', { name: 'Save Schedule' }).click();
  await page.getByText(/^Next run: /).waitFor();
  await page.getByRole('button', { name: 'Run Now' }).click();
  await page.getByRole('dialog', { name: 'Run retention now' }).getByRole('button', { name: 'Run' }).click();
  const realRun = runs.getByRole('row').nth(1);
  await realRun.getByText('Success').waitFor({ timeout: 30_000 });
  assert.match((await realRun.textContent()) ?? '', /No/);
  assert.equal(await runs.getByRole('row').count(), 3);
  const after = await fetch(`${h.wharf.url}/api/v2.0/projects/library/repositories/console-app/artifacts`, { headers: { authorization: 'Basic ' + Buffer.from(adminCreds).toString('base64') } });
  assert.equal(((await after.json()) as unknown[]).length, 1);

  // Immutability rules: add, disable, delete.
  await page.getByRole('tab', { name: 'Tag Immutability' }).click();
  await page.waitForURL(/\/tag-strategy\/immutable-tag$/);
  await page.getByRole('button', { name: 'Add Rule' }).click();
  const imm = page.getByRole('dialog', { name: 'Add Immutability Rule' });
  await imm.getByLabel('Tag pattern').fill('v*');
  await imm.getByRole('button', { name: 'Save' }).click();
  const rules = page.getByRole('table', { name: 'Immutability rules' });
  await rules.getByText('For the repositories matching **, tags matching v* are immutable').waitFor();
  await rules.getByRole('button', { name: /^Disable immutability rule \d+$/ }).click();
  await rules.getByText('Disabled').waitFor();
  await shot(page, 'immutable-tag');
  await rules.getByRole('button', { name: /^Delete immutability rule \d+$/ }).click();
  await page.getByRole('dialog', { name: 'Delete immutability rule' }).getByRole('button', { name: 'Delete' }).click();
  await rules.getByText('No immutability rule.').waitFor();
});
