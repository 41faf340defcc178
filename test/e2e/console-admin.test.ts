/**
 * End to end: the console's administration pages in a real headless Chromium against a real
 * Wharf (test/helpers/browser.ts), with a second real Wharf as the replication destination and an
 * image pushed by the real skopeo. The admin creates a user with "New User", a registry endpoint
 * for the second Wharf that passes "Test Connection", a replication rule that "Replicate" runs to
 * success (the image arrives at the second Wharf; a task's log opens), runs "GC Now" to the end
 * and reads its log, changes a project quota and creates a label, and finds those actions in the
 * audit log with its filters. Screenshots: every administration page.
 */
// run-tests: sqlite pass only (the browser drives the console; the API it calls runs on PostgreSQL in test/integration).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { screenshot, signIn, skipWithoutChromium, startConsole, type ConsoleHarness } from '../helpers/browser.ts';
import { OciLayout, writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { startTestAdapter, type TestAdapter } from '../helpers/test-adapter.ts';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';

const skip = skipWithoutChromium() || skipWithoutSkopeo();
let h: ConsoleHarness;
let remote: TestWharf;
let adapter: TestAdapter;
let page: Page;

before(async () => {
  if (skip) return;
  // No grace period, so GC frees the blobs of an artifact deleted a moment before.
  h = await startConsole({ overrides: { registry: { upload_grace_seconds: 0 } } });
  remote = await startWharf();
  adapter = await startTestAdapter();
  page = await h.newPage();
  await signIn(page);
});
after(async () => {
  await h?.close();
  await remote?.close();
  await adapter?.close();
});

/** A call to a Wharf's API as the admin; throws on an unexpected status. */
async function api(base: string, method: string, path: string, body?: unknown, expect = [200, 201]): Promise<unknown> {
  const res = await fetch(`${base}/api/v2.0${path}`, {
    method,
    headers: { authorization: adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text === '' ? null : (JSON.parse(text) as unknown);
}

/** Lets a dialog's opening animation end before a screenshot. */
const settle = () => new Promise((r) => setTimeout(r, 400));

/** The dialog titled `title`. */
const dialog = (title: string) => page.getByRole('dialog', { name: title });

test('e2e: admin: "New User" creates a user, listed with the API’s refusal shown for a bad password', { skip }, async () => {
  await page.goto('/harbor/users');
  await page.getByRole('button', { name: 'New User' }).click();
  const d = dialog('New User');
  await d.getByLabel('Username', { exact: false }).fill('carol');
  await d.getByLabel('Email').fill('carol@example.com');
  await d.getByLabel('First and last name').fill('Carol Admin');
  // A password the server refuses: its message is shown and the dialog stays open.
  await d.getByLabel(/^Password/).fill('short');
  await d.getByLabel(/^Confirm Password/).fill('short');
  await d.getByRole('button', { name: 'OK' }).click();
  await d.getByRole('alert').waitFor();
  assert.match((await d.getByRole('alert').textContent()) ?? '', /password/i);
  await d.getByLabel(/^Password/).fill('Carol12345');
  await d.getByLabel(/^Confirm Password/).fill('Carol12345');
  await d.getByRole('button', { name: 'OK' }).click();
  await d.waitFor({ state: 'hidden' });
  const row = page.getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: 'carol' });
  await row.waitFor();
  await row.getByRole('button', { name: 'Set as admin carol' }).click();
  await row.getByText('Yes', { exact: true }).waitFor();
  // Reset her password: the new one works on the API at once.
  await row.getByRole('button', { name: 'Reset password of carol' }).click();
  const r = dialog('Reset password of carol');
  await r.getByLabel(/^New Password/).fill('Carol67890');
  await r.getByLabel(/^Confirm Password/).fill('Carol67890');
  await r.getByRole('button', { name: 'OK' }).click();
  await r.waitFor({ state: 'hidden' });
  const asCarol = await fetch(`${h.wharf.url}/api/v2.0/users/current`, { headers: { authorization: 'Basic ' + Buffer.from('carol:Carol67890').toString('base64') } });
  assert.equal(asCarol.status, 200);
  const users = (await api(h.wharf.url, 'GET', '/users?q=username=carol')) as { username: string; email: string; sysadmin_flag: boolean }[];
  assert.equal(users.length, 1);
  assert.equal(users[0]!.email, 'carol@example.com');
  assert.equal(users[0]!.sysadmin_flag, true);
  await screenshot(page, 'admin-users');
});

test('e2e: admin: a registry endpoint for a second Wharf passes "Test Connection" and is saved; a bad one is refused', { skip }, async () => {
  await page.goto('/harbor/registries');
  await page.getByRole('button', { name: 'New Endpoint' }).click();
  const d = dialog('New Registry Endpoint');
  await d.getByLabel('Provider').selectOption('harbor');
  await d.getByLabel('Name', { exact: false }).first().fill('second');
  await d.getByLabel('Endpoint URL').fill(remote.url);
  await d.getByLabel('Access ID').fill('admin');
  // A wrong secret first: the ping fails with the API's message.
  await d.getByLabel('Access Secret').fill('wrong-secret');
  await d.getByRole('button', { name: 'Test Connection' }).click();
  await d.getByText(/Failed to ping endpoint: .*unhealthy/).waitFor();
  await d.getByLabel('Access Secret').fill('Harbor12345');
  await d.getByRole('button', { name: 'Test Connection' }).click();
  await d.getByText('Connection tested successfully.').waitFor();
  await settle();
  await screenshot(page, 'admin-registry-endpoint');
  await d.getByRole('button', { name: 'OK' }).click();
  await d.waitFor({ state: 'hidden' });
  const row = page.getByRole('table', { name: 'Registry endpoints' }).getByRole('row').filter({ hasText: 'second' });
  await row.getByText('healthy').waitFor();
  // The secret is write-only: the API never shows it back.
  const regs = (await api(h.wharf.url, 'GET', '/registries')) as { name: string; credential: { access_key: string; access_secret: string } }[];
  assert.equal(regs[0]!.credential.access_key, 'admin');
  assert.equal(regs[0]!.credential.access_secret, '*****');
  await screenshot(page, 'admin-registries');
});

test('e2e: admin: a replication rule runs with "Replicate", succeeds, and its task log opens', { skip }, async () => {
  const layout = OciLayout.create();
  await writeSingleLayerImage(layout, '1.0');
  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('1.0'), `docker://${h.wharf.host}/library/app:1.0`]);

  await page.goto('/harbor/replications');
  await page.getByRole('button', { name: 'New Replication Rule' }).click();
  const d = dialog('New Replication Rule');
  await d.getByLabel('Name', { exact: false }).first().fill('to-second');
  await d.getByLabel('Replication mode').selectOption('push');
  await d.getByLabel('Destination registry').selectOption({ label: `second (${remote.url})` });
  await d.getByLabel('Name filter').fill('library/**');
  await d.getByLabel('Tag filter').fill('1.*');
  await d.getByLabel('Destination namespace').fill('mirror');
  await d.getByLabel('Trigger mode').selectOption('manual');
  await d.getByLabel('Event mode').selectOption('summary');
  await settle();
  await screenshot(page, 'admin-replication-rule');
  await d.getByRole('button', { name: 'Save' }).click();
  await d.waitFor({ state: 'hidden' });
  const rules = page.getByRole('table', { name: 'Replication rules' });
  await rules.getByRole('row').filter({ hasText: 'to-second' }).waitFor();
  const policies = (await api(h.wharf.url, 'GET', '/replication/policies')) as { filters: unknown; dest_namespace: string; event_mode: string; enabled: boolean }[];
  assert.equal(policies[0]!.dest_namespace, 'mirror');
  assert.equal(policies[0]!.event_mode, 'summary');
  assert.equal(policies[0]!.enabled, true);

  await rules.getByRole('button', { name: 'Replicate to-second' }).click();
  await dialog('Replicate').getByRole('button', { name: 'Replicate' }).click();
  const executions = page.getByRole('table', { name: 'Replication executions' });
  const execRow = executions.getByRole('row').filter({ hasText: 'manual' }).first();
  await execRow.getByText('Succeed', { exact: true }).waitFor({ timeout: 60_000 });
  assert.match((await execRow.textContent()) ?? '', /1\/1 succeeded/);
  await screenshot(page, 'admin-replications');

  // The image is at the second Wharf under the namespace.
  const arts = (await api(remote.url, 'GET', '/projects/mirror/repositories/app/artifacts')) as { tags: { name: string }[] }[];
  assert.deepEqual(
    arts.flatMap((a) => a.tags.map((t) => t.name)),
    ['1.0'],
  );

  await execRow.getByRole('link').first().click();
  await page.waitForURL(/\/harbor\/replications\/\d+\/tasks$/);
  const tasks = page.getByRole('table', { name: 'Replication tasks' });
  const taskRow = tasks.getByRole('row').filter({ hasText: 'library/app' }).first();
  await taskRow.getByText('Succeed', { exact: true }).waitFor();
  assert.match((await taskRow.textContent()) ?? '', /mirror\/app/);
  await taskRow.getByRole('button', { name: /^Log of task/ }).click();
  const log = page.getByRole('dialog').getByLabel('Log', { exact: true });
  await log.waitFor();
  assert.match((await log.textContent()) ?? '', /mirror\/app/);
  await settle();
  await screenshot(page, 'admin-replication-task-log');
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
});

test('e2e: admin: "GC Now" runs garbage collection to the end, frees a deleted image’s blobs, and its log opens', { skip }, async () => {
  const layout = OciLayout.create();
  await writeSingleLayerImage(layout, 'gone');
  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('gone'), `docker://${h.wharf.host}/library/junk:gone`]);
  await api(h.wharf.url, 'DELETE', '/projects/library/repositories/junk');
  await page.goto('/harbor/clearing-job/gc');
  await page.getByLabel('Allow garbage collection on untagged artifacts').check();
  await page.getByRole('button', { name: 'GC Now' }).click();
  await page.getByText(/Garbage collection started \(job \d+\)/).waitFor();
  const history = page.getByRole('table', { name: 'GC History' });
  const row = history.getByRole('row').filter({ hasText: 'MANUAL' }).first();
  await row.getByText('Success', { exact: true }).waitFor({ timeout: 60_000 });
  assert.match((await row.textContent()) ?? '', /deleted [1-9]\d* blob\(s\)/);
  await row.getByRole('button', { name: /^Log of run/ }).click();
  const log = page.getByRole('dialog').getByLabel('Log', { exact: true });
  await log.waitFor();
  assert.notEqual(((await log.textContent()) ?? '').trim(), '');
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
  const runs = (await api(h.wharf.url, 'GET', '/system/gc')) as { job_status: string; job_parameters: string }[];
  assert.equal(runs[0]!.job_status, 'Success');
  assert.deepEqual(JSON.parse(runs[0]!.job_parameters), { delete_untagged: true, dry_run: false });
  await screenshot(page, 'admin-gc');
});

test('e2e: admin: a quota edited and a label created on their pages', { skip }, async () => {
  await page.goto('/harbor/project-quotas');
  const row = page.getByRole('table', { name: 'Project quotas' }).getByRole('row').filter({ hasText: 'library' });
  await row.getByRole('button', { name: 'Edit quota of library' }).click();
  const d = dialog('Edit quota of library');
  await d.getByLabel('Unlimited').uncheck();
  await d.getByLabel('Storage limit').fill('2');
  await d.getByLabel('Unit').selectOption('GiB');
  await d.getByRole('button', { name: 'Save' }).click();
  await d.waitFor({ state: 'hidden' });
  await row.getByText(/of 2\.00 GiB/).waitFor();
  await screenshot(page, 'admin-project-quotas');

  await page.goto('/harbor/labels');
  await page.getByRole('button', { name: 'New Label' }).click();
  const l = dialog('New Label');
  await l.getByLabel('Label Name').fill('release');
  await l.getByRole('button', { name: 'Color #48960C' }).click();
  await l.getByLabel('Description').fill('ready to ship');
  await l.getByRole('button', { name: 'OK' }).click();
  await l.waitFor({ state: 'hidden' });
  await page.getByRole('table', { name: 'Global labels' }).getByText('ready to ship').waitFor();
  const labels = (await api(h.wharf.url, 'GET', '/labels?scope=g')) as { name: string; color: string }[];
  assert.deepEqual(
    labels.map((x) => [x.name, x.color]),
    [['release', '#48960C']],
  );
  await screenshot(page, 'admin-labels');
});

test('e2e: admin: the audit log shows the push and the quota change, filtered on the server', { skip }, async () => {
  await page.goto('/harbor/logs');
  const table = page.getByRole('table', { name: 'Audit log' });
  await table.getByRole('row').filter({ hasText: 'library/app:1.0' }).first().waitFor();
  await page.getByLabel('Resource type').selectOption('quota');
  await page.getByLabel('Operation').selectOption('update');
  await page.getByRole('button', { name: 'Search' }).click();
  const quotaRow = table.getByRole('row').filter({ hasText: 'quota' });
  await quotaRow.first().waitFor();
  // Only matching rows stay: every data row is a quota update by admin.
  await table.getByRole('row').filter({ hasText: 'library/app:1.0' }).first().waitFor({ state: 'detached' });
  const rows = await table.getByRole('row').allTextContents();
  assert.ok(rows.length >= 2, 'a header and at least one entry');
  for (const r of rows.slice(1)) assert.match(r, /admin.*library.*quota.*update/);
  await page.getByLabel('Username').fill('nobody-here');
  await page.getByRole('button', { name: 'Search' }).click();
  await table.getByText('No log entries match.').waitFor();
  await page.getByRole('button', { name: 'Clear' }).click();
  await page.getByLabel('Resource', { exact: true }).fill('library/app');
  await page.getByRole('button', { name: 'Search' }).click();
  await table.getByRole('row').filter({ hasText: 'library/app:1.0' }).first().waitFor();
  await screenshot(page, 'admin-logs');
});

test('e2e: admin: a scanner added with "New Scanner" becomes the default; scan all and the security hub show its findings', { skip }, async () => {
  await page.goto('/harbor/interrogation-services/scanners');
  const table = page.getByRole('table', { name: 'Scanners' });
  await table.getByText('Wharf (Default)').waitFor();
  await page.getByRole('button', { name: 'New Scanner' }).click();
  const d = dialog('Add Scanner');
  await d.getByLabel(/^Name/).fill('test-adapter');
  await d.getByLabel(/^Endpoint/).fill(adapter.url);
  await d.getByRole('button', { name: 'Test Connection' }).click();
  await d.getByText('Test connection succeeded.').waitFor();
  await d.getByRole('button', { name: 'Add' }).click();
  await d.waitFor({ state: 'hidden' });
  await table.getByRole('button', { name: 'Set test-adapter as default' }).click();
  await table.getByText('test-adapter (Default)').waitFor();
  await screenshot(page, 'admin-scanners');

  await page.goto('/harbor/interrogation-services/vulnerability');
  await page.getByRole('button', { name: 'Scan Now' }).click();
  await page.getByRole('status', { name: 'Scan all progress' }).getByText(/1 of 1 completed/).waitFor({ timeout: 60_000 });
  await screenshot(page, 'admin-scan-all');
  assert.ok(adapter.scans.length >= 1, 'the adapter was asked to scan');

  await page.goto('/harbor/interrogation-services/security-hub');
  const summary = page.getByRole('region', { name: 'Vulnerability summary' });
  await summary.getByText('Artifacts', { exact: true }).waitFor();
  await page.getByRole('table', { name: 'Most dangerous CVEs' }).getByText('CVE-2024-0727').waitFor();
  await page.getByLabel('Severity').selectOption('Medium');
  await page.getByRole('button', { name: 'Search' }).click();
  const vulns = page.getByRole('table', { name: 'Vulnerabilities' });
  // The unfiltered list had both; the server's answer to the search keeps only the Medium one.
  await vulns.getByText('CVE-2024-0727').waitFor({ state: 'detached' });
  await vulns.getByText('CVE-2023-0002').waitFor();
  assert.equal(await vulns.getByRole('row').count(), 2, 'the header and one finding');
  await screenshot(page, 'admin-security-hub');
});

test('e2e: admin: the other administration pages open and show what the API serves', { skip }, async () => {

  await page.goto('/harbor/clearing-job/audit-log-purge');
  await page.getByRole('button', { name: 'Dry Run' }).click();
  const purge = page.getByRole('table', { name: 'Purge History' }).getByRole('row').filter({ hasText: 'MANUAL' }).first();
  await purge.getByText('Success', { exact: true }).waitFor({ timeout: 30_000 });
  assert.match((await purge.textContent()) ?? '', /would delete \d+ entries/);
  // A daily purge of entries older than 2 days, all types but failed logins.
  await page.getByLabel('Keep records for').fill('2');
  await page.getByLabel('login_user').uncheck();
  const sched = page.getByRole('region', { name: 'Purge schedule' });
  await sched.getByLabel('Schedule', { exact: true }).selectOption('Daily');
  await sched.getByRole('button', { name: 'Save' }).click();
  await sched.getByRole('status').getByText('Saved').waitFor();
  const stored = (await api(h.wharf.url, 'GET', '/system/purgeaudit/schedule')) as { schedule: { type: string }; job_parameters: string };
  assert.equal(stored.schedule.type, 'Daily');
  const params = JSON.parse(stored.job_parameters) as { audit_retention_hour: number; include_event_types: string };
  assert.equal(params.audit_retention_hour, 48);
  assert.ok(!params.include_event_types.split(',').includes('login_user'));
  assert.ok(params.include_event_types.split(',').includes('pull_artifact'));
  await screenshot(page, 'admin-audit-log-purge');

  await page.goto('/harbor/job-service-dashboard/pending-jobs');
  await page.getByRole('table', { name: 'Job queues' }).getByText('GARBAGE_COLLECTION').waitFor();
  await screenshot(page, 'admin-job-queues');
  await page.goto('/harbor/job-service-dashboard/schedules');
  await page.getByRole('table', { name: 'Schedules' }).getByText('PURGE_AUDIT_LOG').first().waitFor();
  await screenshot(page, 'admin-job-schedules');
  await page.goto('/harbor/job-service-dashboard/workers');
  await page.getByRole('table', { name: 'Worker pools' }).getByRole('row').nth(1).waitFor();
  await screenshot(page, 'admin-job-workers');

  await page.goto('/harbor/configs/auth');
  await page.getByText('Database', { exact: true }).waitFor();
  await screenshot(page, 'admin-configs-auth');
  await page.goto('/harbor/configs/security');
  await page.getByLabel('CVE IDs (one per line)').fill('CVE-2023-45853\nCVE-2024-0001');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Saved').waitFor();
  const allow = (await api(h.wharf.url, 'GET', '/system/CVEAllowlist')) as { items: { cve_id: string }[] };
  assert.deepEqual(
    allow.items.map((i) => i.cve_id),
    ['CVE-2023-45853', 'CVE-2024-0001'],
  );
  await screenshot(page, 'admin-configs-security');
  await page.goto('/harbor/configs/setting');
  await page.getByLabel(/notification_enable/).uncheck();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Saved').waitFor();
  const cfg = (await api(h.wharf.url, 'GET', '/configurations')) as { notification_enable: { value: boolean } };
  assert.equal(cfg.notification_enable.value, false);
  // A plain-HTTP Wharf has no CA of its own: the certificate row says so instead of a Download link.
  await page.getByText(/Wharf serves no certificate of its own CA/).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Download' }).count(), 0);
  await screenshot(page, 'admin-configs-setting');
});

test('e2e: admin: "Edit" changes a replication rule to event-based with failures only', { skip }, async () => {
  await page.goto('/harbor/replications');
  await page.getByRole('button', { name: 'Edit to-second' }).click();
  const d = dialog('Edit Replication Rule');
  await d.getByLabel('Name filter').waitFor();
  assert.equal(await d.getByLabel('Name filter').inputValue(), 'library/**');
  assert.equal(await d.getByLabel('Destination namespace').inputValue(), 'mirror');
  await d.getByLabel('Trigger mode').selectOption('event_based');
  await d.getByLabel('Event status filter').selectOption('failures');
  await d.getByRole('button', { name: 'Save' }).click();
  await d.waitFor({ state: 'hidden' });
  await page.getByRole('table', { name: 'Replication rules' }).getByText('event_based').waitFor();
  const p = (await api(h.wharf.url, 'GET', '/replication/policies')) as { trigger: { type: string }; event_status_filter: string; event_mode: string; dest_namespace: string }[];
  assert.equal(p[0]!.trigger.type, 'event_based');
  assert.equal(p[0]!.event_status_filter, 'failures');
  assert.equal(p[0]!.event_mode, 'summary');
  assert.equal(p[0]!.dest_namespace, 'mirror');
});

test('e2e: admin: deleting an endpoint a rule uses shows the API’s 412 message', { skip }, async () => {
  await page.goto('/harbor/registries');
  await page.getByRole('button', { name: 'Delete second' }).click();
  const d = dialog('Delete endpoint');
  await d.getByRole('button', { name: 'Delete' }).click();
  await d.getByText(/referenced by replication policies/).waitFor();
  await d.getByRole('button', { name: 'Cancel' }).click();
  // Edit keeps the stored secret when the field is left empty: the endpoint stays healthy.
  await page.getByRole('button', { name: 'Edit second' }).click();
  const e = dialog('Edit Endpoint');
  assert.equal(await e.getByLabel('Access Secret').inputValue(), '');
  await e.getByLabel('Description').fill('the other Wharf');
  await e.getByRole('button', { name: 'Test Connection' }).click();
  await e.getByText('Connection tested successfully.').waitFor();
  await e.getByRole('button', { name: 'Save' }).click();
  await e.waitFor({ state: 'hidden' });
  const reg = (await api(h.wharf.url, 'GET', '/registries?q=name=second')) as { id: number; description: string; status: string }[];
  assert.equal(reg[0]!.description, 'the other Wharf');
  await api(h.wharf.url, 'POST', '/registries/ping', { id: reg[0]!.id });
});

test('e2e: admin: a user who is not an admin sees no administration menu and the API’s refusal on its pages', { skip }, async () => {
  await api(h.wharf.url, 'POST', '/users', { username: 'dave', password: 'Dave12345', email: 'dave@example.com', realname: 'Dave' });
  const p = await h.newPage();
  await signIn(p, 'dave', 'Dave12345');
  await p.goto('/harbor/logs');
  await p.getByText('The system audit log is for system administrators.', { exact: false }).waitFor();
  assert.equal(await p.getByRole('navigation', { name: 'Main' }).getByText('Administration').count(), 0);
  await p.goto('/harbor/registries');
  const alert = p.getByRole('alert');
  await alert.first().waitFor();
  assert.match((await alert.first().textContent()) ?? '', /forbidden|permission|admin/i);
  await p.context().close();
});

test('e2e: admin: the administration pages in the dark theme', { skip }, async () => {
  await page.goto('/harbor/replications');
  await page.getByRole('table', { name: 'Replication rules' }).getByText('to-second').waitFor();
  await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
  await page.getByRole('button', { name: 'Switch to the light theme' }).waitFor();
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.notEqual(bg, 'rgb(255, 255, 255)');
  await screenshot(page, 'admin-replications-dark');
  await page.getByRole('button', { name: 'Switch to the light theme' }).click();
});
