/**
 * End to end: the console's project pages in a real headless Chromium against a real Wharf
 * (test/helpers/browser.ts), with images pushed by the real skopeo and scanned by Wharf's
 * built-in scanner against the OSV fixture of real advisories. A person creates a project with the
 * "New Project" dialog, adds a member with a role, reads the summary, sees a pushed image in the
 * artifacts list, presses "Scan" and sees the findings counted by severity, opens the artifact
 * (its vulnerability list), generates and downloads the SBOM as JSON, and copies the pull command;
 * the artifacts list of a repository of 10,000 artifacts (2,000 on PostgreSQL) asks the server for one page at a time.
 * Screenshots: projects list, project summary, members, artifacts list, artifact detail.
 */
// run-tests: sqlite pass only (the browser drives the console; the API it calls runs on PostgreSQL in test/integration).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { screenshot, signIn, skipWithoutChromium, startConsole, type ConsoleHarness } from '../helpers/browser.ts';
import { OciLayout, writeImage, writePlatformIndex } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import type { TarEntry } from '../helpers/tar.ts';
import { adminAuth } from '../helpers/wharf.ts';
import type { CallContext } from '../../src/auth/index.ts';
import { parseReference, parseRepoName } from '../../src/domain/index.ts';

const skip = skipWithoutChromium() || skipWithoutSkopeo();
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'scanning', 'osv');
let h: ConsoleHarness;

before(async () => {
  if (!skip) h = await startConsole();
});
after(async () => {
  await h?.close();
});

/** A call to Wharf's API as the admin; throws on an unexpected status. */
async function api(method: string, path: string, body?: unknown, expect = [200, 201]): Promise<{ status: number; json: unknown; headers: Headers }> {
  const res = await fetch(`${h.wharf.url}/api/v2.0${path}`, {
    method,
    headers: { authorization: adminAuth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return { status: res.status, json: text === '' ? null : (JSON.parse(text) as unknown), headers: res.headers };
}

async function projectId(name: string): Promise<number> {
  const r = await api('GET', `/projects/${name}`);
  return (r.json as { project_id: number }).project_id;
}

function textFile(name: string, content: string): TarEntry {
  const b = Buffer.from(content);
  return { type: 'file', name, size: b.length, content: () => [b] };
}

/** A tiny "Debian 12" image whose dpkg database lists zlib1g: the fixture's CVE-2023-45853 affects every zlib of Debian 12. */
async function pushDebianImage(repo: string, tag: string): Promise<string> {
  const layout = OciLayout.create();
  const status = ['Package: zlib1g', 'Status: install ok installed', 'Architecture: amd64', 'Source: zlib', 'Version: 1:1.2.13.dfsg-1', 'Description: compression library - runtime', ''].join('\n');
  const image = await writeImage(layout, {
    tag,
    layers: [
      [
        { type: 'dir', name: 'etc' },
        textFile('etc/os-release', 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'),
        textFile('etc/debian_version', '12.8\n'),
        { type: 'dir', name: 'var/lib/dpkg' },
        textFile('var/lib/dpkg/status', status + '\n'),
      ],
    ],
  });
  await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref(tag), `docker://${h.wharf.host}/${repo}:${tag}`]);
  return image.manifest.digest;
}

/** Picks `option` in the MUI select labelled `label`. */
async function choose(page: Page, label: string, option: string): Promise<void> {
  await page.getByRole('combobox', { name: label }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

test('e2e: New Project dialog, members with roles, the summary', { skip, timeout: 120_000 }, async () => {
  await api('POST', '/users', { username: 'c1-dev', password: 'Passw0rd-c1-dev', email: 'c1-dev@example.com', realname: 'C1 Dev' });
  const page = await h.newPage();
  await signIn(page);
  await page.goto('/harbor/projects');
  await page.getByRole('table', { name: 'Projects' }).getByRole('link', { name: 'library' }).waitFor();

  // The dialog: a name the API refuses first (its message is shown), then a good one.
  await page.getByRole('button', { name: 'New Project' }).click();
  const dialog = page.getByRole('dialog', { name: 'New Project' });
  await dialog.getByLabel('Project Name').fill('Bad Name');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await dialog.getByRole('alert').waitFor();
  await dialog.getByLabel('Project Name').fill('c1-shop');
  await dialog.getByRole('checkbox', { name: 'Public' }).check();
  await dialog.getByLabel('Storage Quota').fill('2');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'c1-shop' }) });
  await row.waitFor();
  assert.match(await row.innerText(), /Public/);
  const created = (await api('GET', '/projects/c1-shop')).json as { metadata: Record<string, string>; storage_limit: number };
  assert.equal(created.metadata.public, 'true');
  assert.equal(created.storage_limit, 2 * 2 ** 30);

  // The search asks the server (q=name=~…) and narrows the list.
  await page.getByLabel('Search projects').fill('c1-s');
  await page.getByRole('table', { name: 'Projects' }).getByRole('link', { name: 'library' }).waitFor({ state: 'detached' });
  await page.getByLabel('Search projects').fill('');
  await page.getByRole('table', { name: 'Projects' }).getByRole('link', { name: 'library' }).waitFor();
  await screenshot(page, 'projects-list');

  // Members: "+ User", a role, then a role change in place.
  await row.getByRole('link', { name: 'c1-shop' }).click();
  await page.getByRole('tab', { name: 'Repositories', selected: true }).waitFor();
  await page.getByRole('tab', { name: 'Members' }).click();
  await page.getByRole('button', { name: '+ User' }).click();
  const add = page.getByRole('dialog', { name: 'New Member' });
  await add.getByLabel('Name').fill('nobody-here');
  await add.getByRole('button', { name: 'OK' }).click();
  await add.getByRole('alert').waitFor(); // the API's 404 for an unknown user
  await add.getByLabel('Name').fill('c1-dev');
  await choose(page, 'Role', 'Developer');
  await add.getByRole('button', { name: 'OK' }).click();
  await add.waitFor({ state: 'hidden' });
  await page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: 'c1-dev', exact: true }).waitFor();
  const id = await projectId('c1-shop');
  const memberRole = async () => ((await api('GET', `/projects/${id}/members?entityname=c1-dev`)).json as Array<{ entity_name: string; role_id: number }>).find((m) => m.entity_name === 'c1-dev')?.role_id;
  assert.equal(await memberRole(), 2);
  await choose(page, 'Role of c1-dev', 'Maintainer');
  for (let i = 0; i < 50 && (await memberRole()) !== 4; i++) await page.waitForTimeout(100);
  assert.equal(await memberRole(), 4);
  await screenshot(page, 'project-members');

  // The member sees the project with its role, and "New Project": project_creation_restriction is
  // `everyone` by default, as in Harbor.
  const dev = await h.newPage();
  await signIn(dev, 'c1-dev', 'Passw0rd-c1-dev');
  await dev.goto('/harbor/projects');
  const devRow = dev.getByRole('row').filter({ has: dev.getByRole('link', { name: 'c1-shop' }) });
  await devRow.getByRole('cell', { name: 'Maintainer', exact: true }).waitFor();
  await dev.getByRole('button', { name: 'New Project' }).waitFor();
  // A user creates a project and becomes its project admin; no quota field (storage_per_project applies).
  await dev.getByRole('button', { name: 'New Project' }).click();
  const devDialog = dev.getByRole('dialog', { name: 'New Project' });
  assert.equal(await devDialog.getByLabel('Storage Quota').count(), 0);
  await devDialog.getByLabel('Project Name').fill('c1-devs-own');
  await devDialog.getByRole('button', { name: 'OK' }).click();
  await devDialog.waitFor({ state: 'hidden' });
  const ownRow = dev.getByRole('row').filter({ has: dev.getByRole('link', { name: 'c1-devs-own' }) });
  await ownRow.getByRole('cell', { name: 'Project Admin', exact: true }).waitFor();

  // The summary, by its URL.
  await page.goto(`/harbor/projects/${id}/summary`);
  await page.getByRole('tab', { name: 'Summary', selected: true }).waitFor();
  const members = page.getByRole('region', { name: 'Members' });
  await members.getByText('Maintainer').waitFor();
  assert.match(await page.getByRole('region', { name: 'Project quota' }).innerText(), /of 2\.00 GiB/);
  await screenshot(page, 'project-summary');

  // Remove the member.
  await page.getByRole('tab', { name: 'Members' }).click();
  await page.getByRole('button', { name: 'Remove c1-dev' }).click();
  await page.getByRole('dialog', { name: 'Remove member' }).getByRole('button', { name: 'Remove' }).click();
  // The creator (admin) stays, as the project admin.
  await page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: 'c1-dev', exact: true }).waitFor({ state: 'detached' });
  await page.getByRole('table', { name: 'Members' }).getByRole('cell', { name: 'admin', exact: true }).waitFor();
  assert.equal(await memberRole(), undefined);
});

test('e2e: push with skopeo, the artifact appears, Scan shows findings, detail with vulnerabilities and the SBOM download', { skip, timeout: 240_000 }, async () => {
  requireSkopeo();
  const imported = await h.wharf.wharf.vulndb.importPath(fixtures);
  assert.ok(imported.advisories > 0);
  await api('POST', '/projects', { project_name: 'c1-scan', metadata: { public: 'false' } });
  const id = await projectId('c1-scan');
  const page = await h.newPage();
  await signIn(page);
  await page.goto(`/harbor/projects/${id}/repositories`);
  await page.getByText('No repositories').waitFor();

  const digest = await pushDebianImage('c1-scan/team/app', '1.0');
  await page.getByRole('button', { name: 'Next page' }).waitFor(); // the list is rendered with its pager
  await page.reload();
  await page.getByRole('link', { name: 'c1-scan/team/app' }).click();
  await page.waitForURL((u) => u.pathname === `/harbor/projects/${id}/repositories/team%2Fapp/artifacts-tab`);
  const artifacts = page.getByRole('table', { name: 'Artifacts' });
  const row = artifacts.getByRole('row').filter({ hasText: '1.0' });
  await row.waitFor();
  assert.match(await row.innerText(), /Not scanned/);
  assert.match(await row.innerText(), /linux\/amd64/);
  assert.match(await row.innerText(), new RegExp(digest.slice(0, 19)));

  // "Scan": the row polls until the report is in, then shows the counts by severity.
  await row.getByRole('button', { name: 'Scan' }).click();
  await row.getByText(/1 vulnerability/).waitFor({ timeout: 60_000 });
  const overview = ((await api('GET', `/projects/c1-scan/repositories/team%252Fapp/artifacts/${digest}?with_scan_overview=true`)).json as { scan_overview: Record<string, { severity: string; summary: { summary: Record<string, number> } }> });
  const report = Object.values(overview.scan_overview)[0];
  assert.ok(report);
  const [sev, count] = Object.entries(report.summary.summary)[0] ?? [];
  assert.ok(sev && count);
  await row.getByText(`${sev === 'None' ? 'Negligible' : sev} ${count}`).waitFor();

  // The pull command: on the clipboard, or shown to copy by hand.
  await row.getByRole('button', { name: 'Copy Pull Command' }).click();
  await page.getByText(`docker pull ${h.wharf.host}/c1-scan/team/app:1.0`).or(page.getByRole('dialog', { name: 'Pull command' })).first().waitFor();
  await page.keyboard.press('Escape');
  await screenshot(page, 'artifacts-list');

  // The artifact: its vulnerability list, then an SBOM generated, viewed and downloaded.
  await row.getByRole('link', { name: digest.slice(0, 19) }).click();
  await page.waitForURL((u) => u.pathname.endsWith(`/artifacts-tab/artifacts/${digest}`));
  const vulns = page.getByRole('table', { name: 'Vulnerabilities' });
  await vulns.getByRole('row').filter({ hasText: 'CVE-2023-45853' }).waitFor();
  assert.match(await vulns.innerText(), /zlib/);
  await page.getByRole('button', { name: 'Generate SBOM' }).click();
  const download = page.getByRole('button', { name: 'Download SBOM' });
  await page.getByRole('region', { name: 'SBOM' }).getByLabel('SBOM JSON').waitFor({ timeout: 60_000 });
  assert.match(await page.getByLabel('SBOM JSON').innerText(), /spdxVersion|bomFormat/);
  const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
  const path = await file.path();
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { spdxVersion?: string; packages?: Array<{ name: string }>; bomFormat?: string; components?: Array<{ name: string }> };
  const names = (doc.packages ?? doc.components ?? []).map((p) => p.name);
  assert.ok(names.some((n) => n.startsWith('zlib')), `the SBOM lists zlib: ${names.join(', ')}`);
  assert.match(file.suggestedFilename(), /\.sbom\.json$/);
  await page.getByRole('table', { name: 'Accessories' }).getByText('sbom.harbor').first().waitFor();
  await screenshot(page, 'artifact-detail');

  // Add a tag from the detail page; the API has it.
  await page.getByLabel('Tag name').fill('stable');
  await page.getByRole('button', { name: 'Add Tag' }).click();
  await page.getByRole('table', { name: 'Tags' }).getByRole('cell', { name: 'stable', exact: true }).waitFor();
  await api('GET', `/projects/c1-scan/repositories/team%252Fapp/artifacts/stable`);

  // A project label on the artifact, from the detail page; the list shows it.
  await api('POST', '/labels', { name: 'reviewed', scope: 'p', project_id: id, color: '#00aa00' });
  await page.reload();
  await choose(page, 'Label', 'reviewed');
  await page.getByRole('button', { name: 'Add Label' }).click();
  await page.getByRole('region', { name: 'Labels' }).getByRole('button', { name: 'reviewed' }).waitFor();
  const withLabels = (await api('GET', `/projects/c1-scan/repositories/team%252Fapp/artifacts/${digest}?with_label=true`)).json as { labels: Array<{ name: string }> };
  assert.deepEqual(withLabels.labels.map((l) => l.name), ['reviewed']);

  // An image index: its children's platforms in the list, the children in its detail page.
  const layout = OciLayout.create();
  const index = await writePlatformIndex(layout, 'multi');
  await skopeoOk(['copy', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('multi'), `docker://${h.wharf.host}/c1-scan/team/app:multi`]);
  await page.getByRole('navigation', { name: 'Repository' }).getByRole('link', { name: 'team/app' }).click();
  const multi = page.getByRole('table', { name: 'Artifacts' }).getByRole('row').filter({ hasText: 'multi' });
  await multi.waitFor();
  assert.match(await multi.innerText(), /linux\/amd64[\s\S]*linux\/arm64/);
  assert.match(await multi.innerText(), /index/);
  assert.match(await artifacts.getByRole('row').filter({ hasText: 'stable' }).innerText(), /reviewed/);
  await multi.getByRole('link', { name: index.index.digest.slice(0, 19) }).click();
  const children = page.getByRole('table', { name: 'Children of the index' });
  await children.getByRole('cell', { name: 'linux/arm64' }).waitFor();
  await children.getByRole('link', { name: index.children[1]!.manifest.digest.slice(0, 19) }).click();
  await page.waitForURL((u) => u.pathname.endsWith(index.children[1]!.manifest.digest));
  await page.getByText('linux/arm64').first().waitFor();

  // Deleting a project that still has repositories: the API's refusal, in the dialog.
  await page.goto('/harbor/projects');
  await page.getByRole('button', { name: 'Delete c1-scan' }).click();
  const confirm = page.getByRole('dialog', { name: 'Delete project' });
  await confirm.getByRole('button', { name: 'Delete' }).click();
  await confirm.getByRole('alert').waitFor();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await api('GET', '/projects/c1-scan');

  // Delete an artifact, then the repository, then the project, each from its own page.
  await page.goto(`/harbor/projects/${id}/repositories/team%2Fapp/artifacts-tab`);
  const multiRow = page.getByRole('table', { name: 'Artifacts' }).getByRole('row').filter({ hasText: 'multi' });
  await multiRow.getByRole('button', { name: 'Delete' }).click();
  const [deleted] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes('/artifacts/')),
    page.getByRole('dialog', { name: 'Delete artifact' }).getByRole('button', { name: 'Delete' }).click(),
  ]);
  assert.equal(deleted.status(), 200, `${deleted.url()}: ${await deleted.text()}`);
  assert.ok(deleted.url().endsWith(`/artifacts/${index.index.digest}`), deleted.url());
  await multiRow.waitFor({ state: 'detached' });
  await api('GET', `/projects/c1-scan/repositories/team%252Fapp/artifacts/multi`, undefined, [404]);
  await page.getByRole('tab', { name: 'Repositories' }).click();
  await page.getByRole('button', { name: 'Delete c1-scan/team/app' }).click();
  await page.getByRole('dialog', { name: 'Delete repository' }).getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No repositories').waitFor();
  await page.goto('/harbor/projects');
  await page.getByRole('button', { name: 'Delete c1-scan' }).click();
  await page.getByRole('dialog', { name: 'Delete project' }).getByRole('button', { name: 'Delete' }).click();
  // (While a dialog is open the page behind it is hidden from the accessibility tree: wait for it to close.)
  await page.getByRole('dialog', { name: 'Delete project' }).waitFor({ state: 'hidden' });
  await page.getByRole('table', { name: 'Projects' }).getByRole('link', { name: 'c1-scan' }).waitFor({ state: 'detached' });
  await api('GET', '/projects/c1-scan', undefined, [404, 403]);
});

test('e2e: project labels, configuration, scanner, logs and a proxy-cache project', { skip, timeout: 120_000 }, async () => {
  await api('POST', '/projects', { project_name: 'c1-conf' });
  const id = await projectId('c1-conf');
  const page = await h.newPage();
  await signIn(page);

  // Labels: create, edit, delete.
  await page.goto(`/harbor/projects/${id}/labels`);
  await page.getByRole('button', { name: 'New Label' }).click();
  let dialog = page.getByRole('dialog', { name: 'New Label' });
  await dialog.getByLabel('Label Name').fill('qa-ready');
  await dialog.getByLabel('Description').fill('passed QA');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await dialog.waitFor({ state: 'hidden' });
  const labels = page.getByRole('table', { name: 'Labels' });
  await labels.getByRole('cell', { name: 'passed QA' }).waitFor();
  await page.getByRole('button', { name: 'Edit qa-ready' }).click();
  dialog = page.getByRole('dialog', { name: 'Edit Label' });
  await dialog.getByLabel('Description').fill('passed QA twice');
  await dialog.getByRole('button', { name: 'OK' }).click();
  await labels.getByRole('cell', { name: 'passed QA twice' }).waitFor();
  const stored = (await api('GET', `/labels?scope=p&project_id=${id}`)).json as Array<{ name: string; description: string }>;
  assert.deepEqual(stored.map((l) => [l.name, l.description]), [['qa-ready', 'passed QA twice']]);
  await page.getByRole('button', { name: 'Delete qa-ready' }).click();
  await page.getByRole('dialog', { name: 'Delete label' }).getByRole('button', { name: 'Delete' }).click();
  await page.getByText('No labels in this project.').waitFor();

  // Configuration: scan on push, the pull gate with a severity, the project's own CVE allowlist.
  await page.getByRole('tab', { name: 'Configuration' }).click();
  await page.getByRole('checkbox', { name: 'Automatically scan images on push' }).check();
  await page.getByRole('checkbox', { name: 'Prevent vulnerable images from running' }).check();
  await choose(page, 'Severity and above', 'High');
  await page.getByRole('radio', { name: 'Project allowlist' }).check();
  await page.getByLabel('CVE IDs').fill('CVE-2023-45853\nCVE-2024-0001');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Configuration saved.').waitFor();
  const p = (await api('GET', `/projects/${id}`)).json as { metadata: Record<string, string>; cve_allowlist: { items: Array<{ cve_id: string }> } };
  assert.equal(p.metadata.auto_scan, 'true');
  assert.equal(p.metadata.prevent_vul, 'true');
  assert.equal(p.metadata.severity, 'high');
  assert.equal(p.metadata.reuse_sys_cve_allowlist, 'false');
  assert.deepEqual(p.cve_allowlist.items.map((i) => i.cve_id), ['CVE-2023-45853', 'CVE-2024-0001']);
  // Scanner: the built-in one, healthy; pinning it.
  await page.getByRole('tab', { name: 'Scanner' }).click();
  await page.getByRole('region', { name: 'Scanner' }).getByText('healthy').waitFor();
  await page.getByRole('button', { name: 'Select Scanner' }).click();
  const pick = page.getByRole('dialog', { name: 'Select Scanner' });
  await choose(page, 'Scanner', 'Wharf (default)');
  await pick.getByRole('button', { name: 'OK' }).click();
  await pick.waitFor({ state: 'hidden' });

  // Logs: the project's audit entries, filtered on the server.
  const calls: URL[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v2.0/projects/c1-conf/logs') calls.push(u);
  });
  await page.getByRole('tab', { name: 'Logs' }).click();
  const logs = page.getByRole('table', { name: 'Project logs' });
  await logs.getByRole('cell', { name: 'admin' }).first().waitFor();
  await page.getByLabel('Username').fill('nobody-at-all');
  await page.getByText('No log entries match.').waitFor();
  assert.ok(calls.some((u) => u.searchParams.get('q') === 'username=~nobody-at-all'), calls.map(String).join('\n'));
  await choose(page, 'Operation', 'create');
  await page.getByRole('button', { name: 'Clear' }).click();
  await logs.getByRole('cell', { name: 'admin' }).first().waitFor();
  await screenshot(page, 'project-logs');

  // A proxy-cache project: the admin picks a registry endpoint in the dialog (this Wharf itself).
  await api('POST', '/registries', { name: 'c1-upstream', type: 'docker-registry', url: h.wharf.url, credential: { type: 'basic', access_key: 'admin', access_secret: 'Harbor12345' } });
  await page.goto('/harbor/projects');
  await page.getByRole('button', { name: 'New Project' }).click();
  const create = page.getByRole('dialog', { name: 'New Project' });
  await create.getByLabel('Project Name').fill('c1-proxy');
  await create.getByRole('checkbox', { name: 'Proxy Cache' }).check();
  await choose(page, 'Registry Endpoint', `c1-upstream (${h.wharf.url})`);
  await create.getByRole('button', { name: 'OK' }).click();
  await create.waitFor({ state: 'hidden' });
  const proxyRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'c1-proxy' }) });
  await proxyRow.getByRole('cell', { name: 'Proxy Cache', exact: true }).waitFor();
  const proxy = (await api('GET', '/projects/c1-proxy')).json as { registry_id: number | null };
  assert.ok(proxy.registry_id !== null && proxy.registry_id > 0);
});

/**
 * Pushes one config blob over HTTP, then `count` distinct manifests over it, `workers` at a time,
 * through the registry service /v2 calls (authorization, quota, tags, the outbox's PUSH_ARTIFACT),
 * as the admin, in this process: the test is about the console's paging, and ten thousand HTTP
 * round trips with client and server on this one thread cost 2.6 times the CPU.
 */
async function pushManyManifests(repo: string, count: number, workers: number): Promise<void> {
  const tr = await fetch(`${h.wharf.url}/service/token?service=wharf&scope=repository:${repo}:pull,push`, { headers: { authorization: adminAuth } });
  assert.equal(tr.status, 200);
  const token = ((await tr.json()) as { token: string }).token;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const up = await fetch(`${h.wharf.url}/v2/${repo}/blobs/uploads/?digest=${configDigest}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: config });
  assert.equal(up.status, 201, await up.text());
  const registry = h.wharf.wharf.registry;
  const admin: CallContext = { actor: { kind: 'user', username: 'admin', userId: 1, sysadmin: true } };
  const name = parseRepoName(repo);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [],
        annotations: { 'org.example.n': String(i) },
      });
      await registry.putManifest(admin, name, parseReference(`v${i}`), 'application/vnd.oci.image.manifest.v1+json', Buffer.from(manifest));
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * 10,000 artifacts on SQLite; 2,000 in the PostgreSQL pass, where pushing them one manifest PUT
 * at a time takes minutes on 2 cores: the paging under test is the same.
 */
const manyCount = process.env.WHARF_TEST_DATABASE === 'postgres' ? 2_000 : 10_000;
const manyText = manyCount.toLocaleString('en-US').replace(',', ',?');

test('e2e: a repository of thousands of artifacts pages on the server', { skip, timeout: 900_000 }, async (t) => {
  await api('POST', '/projects', { project_name: 'c1-many' });
  const id = await projectId('c1-many');
  const started = Date.now();
  await pushManyManifests('c1-many/big', manyCount, 16);
  t.diagnostic(`pushed ${manyCount} manifests in ${Date.now() - started} ms`);

  const page = await h.newPage();
  const listCalls: URL[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v2.0/projects/c1-many/repositories/big/artifacts') listCalls.push(u);
  });
  await signIn(page);
  // Sixteen pushers finish in nearly, not exactly, index order, so the rows expected on each page
  // are the ones the server answered the console's own request with (newest push first).
  const pageTags = async (n: number): Promise<string[]> => {
    const res = await page.waitForResponse((r) => {
      const u = new URL(r.url());
      return u.pathname === '/api/v2.0/projects/c1-many/repositories/big/artifacts' && (u.searchParams.get('page') ?? '1') === String(n) && !u.searchParams.get('q');
    });
    const body = (await res.json()) as { tags?: { name: string }[] | null }[];
    return body.map((a) => a.tags?.[0]?.name ?? '');
  };
  const shown = Date.now();
  const first = pageTags(1);
  await page.goto(`/harbor/projects/${id}/repositories/big/artifacts-tab`);
  const firstTags = await first;
  assert.equal(firstTags.length, 15);
  // The newest push is among the last sixteen started.
  assert.ok(Number(firstTags[0]!.slice(1)) >= manyCount - 16, `newest first: ${firstTags.join(' ')}`);
  const table = page.getByRole('table', { name: 'Artifacts' });
  await table.getByRole('row').filter({ hasText: new RegExp(`${firstTags[0]}(?!\\d)`) }).waitFor();
  await page.getByText(new RegExp(`^1–15 of ${manyText}$`)).waitFor();
  t.diagnostic(`first page of ${manyCount} artifacts shown ${Date.now() - shown} ms after navigation (sign-in excluded)`);
  assert.equal(await table.getByRole('row').count(), 16); // the header and one page

  const second = pageTags(2);
  await page.getByRole('button', { name: 'Next page' }).click();
  const secondTags = await second;
  assert.equal(secondTags.length, 15);
  assert.deepEqual(secondTags.filter((tag) => firstTags.includes(tag)), [], 'page 2 repeats nothing from page 1');
  await table.getByRole('row').filter({ hasText: new RegExp(`${secondTags[0]}(?!\\d)`) }).waitFor();
  await page.getByText(new RegExp(`^16–30 of ${manyText}$`)).waitFor();
  // Searching by tag is a query to the server too.
  await page.getByLabel('Search tags').fill('v1234');
  await page.getByText('1–1 of 1').waitFor();
  await table.getByRole('row').filter({ hasText: 'v1234' }).waitFor();

  assert.ok(listCalls.length >= 3, `artifact list calls: ${listCalls.map(String).join('\n')}`);
  for (const u of listCalls) {
    const size = Number(u.searchParams.get('page_size'));
    assert.ok(size > 0 && size <= 100, `every call asks for one page: ${u}`);
  }
  assert.ok(listCalls.some((u) => u.searchParams.get('page') === '2'));
  assert.ok(listCalls.some((u) => u.searchParams.get('q') === 'tags=~v1234'));
});
