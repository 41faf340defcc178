/**
 * End to end: the web console in a real headless Chromium against a real Wharf (test/helpers/
 * browser.ts). A signed-out visit to a deep link (Kargo's /harbor/projects/<id>/webhook) goes to
 * the sign-in page and, after signing in, back to that link; the Projects page lists the default
 * project; signing out ends the session on the server. Also measured and reported as test
 * diagnostics: the first page load (navigation to the sign-in page until its form is visible) and
 * the gzipped size of the JavaScript the entry page loads.
 */
// run-tests: sqlite pass only (the browser drives the console; the API it calls runs on PostgreSQL in test/integration).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { consoleBuild, screenshot, signIn, skipWithoutChromium, startConsole, type ConsoleHarness } from '../helpers/browser.ts';

const skip = skipWithoutChromium();
let h: ConsoleHarness;

before(async () => {
  if (!skip) h = await startConsole();
});
after(async () => {
  await h?.close();
});

test('e2e: the sign-in page loads fast and the initial JavaScript is small', { skip }, async (t) => {
  const page = await h.newPage();
  const started = performance.now();
  await page.goto('/harbor/sign-in');
  await page.getByLabel('Username').waitFor({ state: 'visible' });
  await page.getByRole('button', { name: 'Log in' }).waitFor({ state: 'visible' });
  const loadMs = Math.round(performance.now() - started);
  // Again in a new context (a fresh page, nothing cached): what a first visit costs once the browser runs.
  const second = await h.newPage();
  const again = performance.now();
  await second.goto('/harbor/sign-in');
  await second.getByLabel('Username').waitFor({ state: 'visible' });
  const warmMs = Math.round(performance.now() - again);
  t.diagnostic(`console second first-visit (browser already running): sign-in form visible after ${warmMs} ms`);
  const { initialJsGzipBytes, buildMs } = consoleBuild();
  t.diagnostic(`console first load: sign-in form visible after ${loadMs} ms`);
  t.diagnostic(`console initial JS: ${(initialJsGzipBytes / 1024).toFixed(1)} KiB gzipped (build took ${buildMs} ms)`);
  await screenshot(page, 'session-sign-in');
  // Generous bounds: a loopback server and a cached build; a regression by a large factor fails.
  assert.ok(loadMs < 10_000, `the sign-in form took ${loadMs} ms to appear`);
  assert.ok(initialJsGzipBytes > 0 && initialJsGzipBytes < 400 * 1024, `initial JS is ${initialJsGzipBytes} bytes gzipped`);
});

test('e2e: wrong password shows the API message and keeps the sign-in page', { skip }, async () => {
  const page = await h.newPage();
  await page.goto('/harbor/sign-in');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('invalid username or password').waitFor();
  assert.match(new URL(page.url()).pathname, /^\/harbor\/sign-in/);
});

test('e2e: a deep link signs in first, then opens; projects list; sign out ends the session', { skip }, async () => {
  const page = await h.newPage();
  // Signed out, the webhook tab of project 1 (the default project) sends the browser to sign in.
  await page.goto('/harbor/projects/1/webhook');
  await page.waitForURL((u) => u.pathname === '/harbor/sign-in');
  assert.equal(new URL(page.url()).searchParams.get('next'), '/projects/1/webhook');
  await signIn(page);
  await page.waitForURL((u) => u.pathname === '/harbor/projects/1/webhook');
  await page.getByRole('tab', { name: 'Webhooks', selected: true }).waitFor();
  await screenshot(page, 'session-deep-link-webhooks');

  // The Projects page, from the navigation.
  await page.goto('/harbor/projects');
  await page.getByRole('heading', { name: 'Projects' }).waitFor();
  await page.getByRole('table', { name: 'Projects' }).getByText('library').waitFor();
  await screenshot(page, 'session-projects');

  // The session cookie is HttpOnly; the CSRF cookie is readable by the page.
  const cookies = await page.context().cookies();
  const sid = cookies.find((c) => c.name === 'sid');
  assert.ok(sid?.httpOnly, 'sid is HttpOnly');
  assert.equal(sid?.sameSite, 'Lax');
  assert.ok(await page.evaluate(() => document.cookie.includes('__csrf=')), '__csrf is readable by scripts');
  assert.ok(!(await page.evaluate(() => document.cookie.includes('sid='))), 'sid is not readable by scripts');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((u) => u.pathname === '/harbor/sign-in');
  // The server forgot the session: the same browser is anonymous now.
  const r = await page.request.get('/api/v2.0/users/current');
  assert.equal(r.status(), 401);
  // And an old session id no longer works even when replayed.
  const replay = await fetch(`${h.wharf.url}/api/v2.0/users/current`, { headers: { cookie: `sid=${sid?.value ?? ''}` } });
  assert.equal(replay.status, 401);
});
