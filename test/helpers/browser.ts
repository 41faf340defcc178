/**
 * The console's browser test harness: a real Wharf serving a fresh build of the console, and a
 * real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core. No mocks.
 *
 * Use, in test/e2e/console-<area>.test.ts (every top-level test named "e2e: …"):
 *
 *   import { before, after, test } from 'node:test';
 *   import { startConsole, skipWithoutChromium, signIn, screenshot, type ConsoleHarness } from '../helpers/browser.ts';
 *
 *   const skip = skipWithoutChromium();
 *   let h: ConsoleHarness;
 *   before(async () => { if (!skip) h = await startConsole(); });
 *   after(async () => { await h?.close(); });
 *
 *   test('e2e: the projects page lists projects', { skip }, async () => {
 *     const page = await h.newPage();              // own browser context: own cookies
 *     await signIn(page);                          // admin / Harbor12345 by default
 *     await page.goto('/harbor/projects');          // paths are relative to Wharf's URL
 *     await page.getByRole('button', { name: 'New Project' }).click();
 *     await screenshot(page, 'projects');          // test-results/console/projects.png
 *   });
 *
 * - `startConsole(opts?)` builds the console once per process (Vite, into a temp folder), starts
 *   Wharf in this process (test/helpers/wharf.ts startWharf, with `console.dir` pointing at the
 *   build; `opts.overrides` adds config keys) and launches Chromium. `h.wharf` is the TestWharf
 *   (url, host, close); use `adminAuth` from wharf.ts to set data up through the API with fetch.
 * - `h.newPage()` opens a page in a new browser context whose base URL is Wharf's, so
 *   `page.goto('/harbor/…')` works; `h.page` is one such page opened at start.
 * - `signIn(page, user?, password?)` opens /harbor/sign-in unless already there, fills "Username"
 *   and "Password", presses "Log in" and waits until the browser has left the sign-in page.
 * - `screenshot(page, name)` saves test-results/console/<name>.png (full page) and returns the path.
 * - `skipWithoutChromium()`: the `skip` option (a reason when /usr/bin/chromium is missing, unless
 *   WHARF_REQUIRE_E2E=1, where the test runs and fails).
 * - `consoleBuild()`: the build folder and the gzipped size of the JS the entry page loads.
 *   WHARF_TEST_CONSOLE_DIR=<folder> uses a build made beforehand (`npm run console:build` writes
 *   dist/console) instead of building in each test process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { e2eRequired } from './skopeo.ts';
import { adminPassword, startWharf, type TestWharf } from './wharf.ts';

/** Debian's Chromium (`apt-get install chromium`). */
export const chromiumPath = '/usr/bin/chromium';

const repoRoot = join(import.meta.dirname, '../..');

/** Where {@link screenshot} writes (git-ignored). */
export const screenshotDir = join(repoRoot, 'test-results/console');

/** The `skip` option for a console e2e test: a reason when Chromium is missing and e2e is not required. */
export function skipWithoutChromium(): string | false {
  if (existsSync(chromiumPath) || e2eRequired()) return false;
  return `${chromiumPath} is missing (apt-get install -y chromium); set WHARF_REQUIRE_E2E=1 to fail instead`;
}

/** What one build of the console produced. */
export interface ConsoleBuild {
  /** The folder served as `console.dir`. */
  dir: string;
  /** Milliseconds the Vite build took. */
  buildMs: number;
  /** Gzipped bytes of the JavaScript index.html loads at once (entry script and module preloads). */
  initialJsGzipBytes: number;
}

let build: ConsoleBuild | undefined;

/** Builds the console once per process into a temporary folder (removed when the process exits). */
export function consoleBuild(): ConsoleBuild {
  if (build) return build;
  const given = process.env.WHARF_TEST_CONSOLE_DIR;
  let dir: string;
  let buildMs = 0;
  if (given) {
    dir = given;
  } else {
    dir = mkdtempSync(join(tmpdir(), 'wharf-console-'));
    const made = dir;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
    const started = Date.now();
    const vite = join(repoRoot, 'node_modules/.bin/vite');
    // --bypass-lock: test processes build at the same time, each into its own folder; Vite's
    // one-build-per-project lock would make all but one fail.
    const args = ['build', '--config', 'console/vite.config.ts', '--outDir', dir, '--emptyOutDir', '--logLevel', 'warn', '--bypass-lock'];
    const r = spawnSync(vite, args, { cwd: repoRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`the console build failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
    buildMs = Date.now() - started;
  }
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const scripts = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/harbor\/([^"]+\.js)"/g)].map((m) => m[1] as string);
  let initialJsGzipBytes = 0;
  for (const s of new Set(scripts)) initialJsGzipBytes += gzipSync(readFileSync(join(dir, s)), { level: 9 }).length;
  build = { dir, buildMs, initialJsGzipBytes };
  return build;
}

/** A running Wharf with the console, and a browser. */
export interface ConsoleHarness {
  wharf: TestWharf;
  browser: Browser;
  build: ConsoleBuild;
  /** A page opened at start (its own context), for tests that need just one. */
  page: Page;
  /** A page in a new browser context (own cookies) whose base URL is Wharf's. */
  newPage(): Promise<Page>;
  /** Closes every context, the browser and Wharf. */
  close(): Promise<void>;
}

/** Options for {@link startConsole}. */
export interface ConsoleOptions {
  /** More config keys for Wharf (merged over `console.dir`). */
  overrides?: Record<string, unknown>;
}

/** Chromium's switches for a quiet, sandbox-less run in containers and CI. */
const chromiumArgs = [
  '--no-sandbox',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-default-apps',
  '--disable-sync',
  '--no-first-run',
  '--metrics-recording-only',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
];

/** Builds the console (once per process), starts Wharf serving it and launches Chromium. */
export async function startConsole(opts: ConsoleOptions = {}): Promise<ConsoleHarness> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing but WHARF_REQUIRE_E2E=1 requires the console e2e tests to run`);
  const b = consoleBuild();
  const overrides = opts.overrides ?? {};
  const consoleKeys = (overrides.console ?? {}) as Record<string, unknown>;
  const wharf = await startWharf({ overrides: { ...overrides, console: { dir: b.dir, ...consoleKeys } } });
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  } catch (err) {
    await wharf.close();
    throw err;
  }
  const contexts: BrowserContext[] = [];
  const newPage = async (): Promise<Page> => {
    const context = await browser.newContext({ baseURL: wharf.url, viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context.newPage();
  };
  const page = await newPage();
  return {
    wharf,
    browser,
    build: b,
    page,
    newPage,
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await wharf.close();
    },
  };
}

/** Signs in through the sign-in page and waits until the console has left it. */
export async function signIn(page: Page, user = 'admin', password = adminPassword): Promise<void> {
  if (!new URL(page.url(), 'http://x').pathname.startsWith('/harbor/sign-in')) await page.goto('/harbor/sign-in');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/harbor/sign-in'));
}

/** Saves a full-page screenshot as test-results/console/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
