/**
 * Headless-Chromium test harness for driving the unmodified Fishjam browser
 * SDKs against Shoal.
 *
 * - bundleClient(): esbuild-bundles `@fishjam-dev/ts-client` (kind "c5") or
 *   `@fishjam-cloud/ts-client` (kind "c25") into an IIFE that sets
 *   `window.FishjamC5` / `window.FishjamC25`; cached in test/browser/.bundle/.
 * - launchBrowser(): Debian Chromium via playwright-core, fake media devices.
 * - openAppPage(): the same for a React page app test/browser/apps/<name>.tsx (JSX,
 *   react-client 0.25.1), bundled per process, settings in its query string.
 * - openClientPage(): fresh browser context + page on a tiny 127.0.0.1 static
 *   server (secure context, so getUserMedia works) with the bundle loaded and
 *   a `window.events` array / `window.pushEvent()` for test code to record
 *   events into; page errors and console output are collected per page.
 * - waitForPageEvent(): bounded wait for an event pushed into `window.events`.
 *
 * Everything is closable: Browser#close(), closeClientPage(), closeStaticServer().
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

export type { Browser, Page } from 'playwright-core';

export type ClientKind = 'c5' | 'c25';

/** An entry in the page's `window.events` array. */
export interface PageEvent {
  name: string;
  data?: unknown;
  /** Date.now() in the page when pushed. */
  t: number;
}

/** A console message or uncaught error captured from a page. */
export interface PageLog {
  type: string;
  text: string;
}

declare global {
  interface Window {
    events: PageEvent[];
    pushEvent(name: string, data?: unknown): void;
    FishjamC5: typeof import('@fishjam-dev/ts-client');
    FishjamC25: typeof import('@fishjam-cloud/ts-client');
  }
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUNDLE_DIR = join(ROOT, 'test/browser/.bundle');

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CLIENTS: Record<ClientKind, { pkg: string; globalName: 'FishjamC5' | 'FishjamC25' }> = {
  c5: { pkg: '@fishjam-dev/ts-client', globalName: 'FishjamC5' },
  c25: { pkg: '@fishjam-cloud/ts-client', globalName: 'FishjamC25' },
};

/** Name of the window global the bundle for `kind` defines. */
export function clientGlobalName(kind: ClientKind): 'FishjamC5' | 'FishjamC25' {
  return CLIENTS[kind].globalName;
}

// ---------------------------------------------------------------------------
// Bundling
// ---------------------------------------------------------------------------

const bundling = new Map<ClientKind, Promise<string>>();

function packageVersion(pkg: string): string {
  const json = JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'));
  return String(json.version);
}

/**
 * Bundles the SDK for `kind` (once per process; reused from disk when the
 * cached file for the installed package version exists) and returns the
 * absolute path of the IIFE bundle.
 */
export function bundleClient(kind: ClientKind, opts: { force?: boolean } = {}): Promise<string> {
  let pending = opts.force ? undefined : bundling.get(kind);
  if (!pending) {
    pending = buildBundle(kind, opts.force ?? false);
    bundling.set(kind, pending);
    pending.catch(() => bundling.delete(kind));
  }
  return pending;
}

async function buildBundle(kind: ClientKind, force: boolean): Promise<string> {
  const { pkg, globalName } = CLIENTS[kind];
  // Version in the name so an upgraded devDependency invalidates the cache.
  const outfile = join(BUNDLE_DIR, `${kind}-${packageVersion(pkg)}.js`);
  if (!force && existsSync(outfile)) return outfile;

  await mkdir(BUNDLE_DIR, { recursive: true });
  const entry = join(BUNDLE_DIR, `${kind}.entry.js`);
  await writeAtomic(entry, `export * from '${pkg}';\n`);

  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    globalName,
    platform: 'browser',
    target: 'chrome110',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  });
  const [out] = result.outputFiles;
  if (!out) throw new Error(`esbuild produced no output for ${pkg}`);

  await writeAtomic(outfile, out.contents);
  return outfile;
}

const appBundling = new Map<string, Promise<string>>();

/**
 * Bundles the page app `test/browser/apps/<name>.tsx` (React 19 with the react-client, JSX) into an IIFE,
 * once per process (apps change with the tests, so there is no cache across processes).
 */
export function bundleApp(name: string): Promise<string> {
  let pending = appBundling.get(name);
  if (!pending) {
    pending = buildApp(name);
    appBundling.set(name, pending);
    pending.catch(() => appBundling.delete(name));
  }
  return pending;
}

async function buildApp(name: string): Promise<string> {
  const source = join(ROOT, 'test/browser/apps', `${name}.tsx`);
  if (!existsSync(source)) throw new Error(`no page app ${source}`);
  await mkdir(BUNDLE_DIR, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [source],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'chrome110',
    jsx: 'automatic',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  });
  const [out] = result.outputFiles;
  if (!out) throw new Error(`esbuild produced no output for ${source}`);
  const outfile = join(BUNDLE_DIR, `app-${name}.${process.pid}.js`);
  await writeAtomic(outfile, out.contents);
  return outfile;
}

/** Test files run in parallel processes and may race on the cache. */
async function writeAtomic(file: string, contents: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, file);
}

// ---------------------------------------------------------------------------
// Static server (shared per process, started lazily)
// ---------------------------------------------------------------------------

const PAGE_PRELUDE = `<script>
window.events = [];
window.pushEvent = function (name, data) { window.events.push({ name: name, data: data, t: Date.now() }); };
</script>`;

function pageHtml(kind: ClientKind): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>shoal ${kind}</title>
${PAGE_PRELUDE}
<script src="/bundle/${kind}.js"></script>
</head><body></body></html>`;
}

function appHtml(name: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>shoal app ${name}</title>
${PAGE_PRELUDE}
</head><body><div id="root"></div><script src="/app/${name}.js"></script></body></html>`;
}

let serverPromise: Promise<{ server: Server; origin: string }> | undefined;

function isKind(s: string): s is ClientKind {
  return s === 'c5' || s === 'c25';
}

/** Starts (once) the static server on 127.0.0.1 and returns its origin. */
export async function staticServerOrigin(): Promise<string> {
  serverPromise ??= new Promise((resolvePromise, reject) => {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const send = (status: number, type: string, body: string | Buffer) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      };
      const app = /^\/app\/([a-z0-9-]+)\.(html|js)$/.exec(path);
      if (app) {
        if (app[2] === 'html') return send(200, 'text/html; charset=utf-8', appHtml(app[1]!));
        bundleApp(app[1]!)
          .then((file) => readFile(file))
          .then(
            (body) => send(200, 'text/javascript; charset=utf-8', body),
            (err: unknown) => send(500, 'text/plain', String(err)),
          );
        return;
      }
      const page = /^\/(c5|c25)\.html$/.exec(path);
      const bundle = /^\/bundle\/(c5|c25)\.js$/.exec(path);
      if (page && isKind(page[1]!)) return send(200, 'text/html; charset=utf-8', pageHtml(page[1]));
      if (bundle && isKind(bundle[1]!)) {
        bundleClient(bundle[1])
          .then((file) => readFile(file))
          .then(
            (body) => send(200, 'text/javascript; charset=utf-8', body),
            (err: unknown) => send(500, 'text/plain', String(err)),
          );
        return;
      }
      if (path === '/favicon.ico') return send(204, 'text/plain', '');
      send(404, 'text/plain', 'not found');
    });
    server.unref(); // never keep a test process alive on its own
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolvePromise({ server, origin: `http://127.0.0.1:${port}` });
    });
  });
  return (await serverPromise).origin;
}

/** Stops the shared static server (safe to call when it never started). */
export async function closeStaticServer(): Promise<void> {
  const pending = serverPromise;
  serverPromise = undefined;
  if (!pending) return;
  const { server } = await pending.catch(() => ({ server: undefined }));
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
}

// ---------------------------------------------------------------------------
// Browser and pages
// ---------------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-gpu',
  '--disable-quic',
];

/**
 * Launches headless Debian Chromium with fake camera/microphone. `executablePath`: another launcher (e.g. a
 * wrapper script that runs Chromium inside a network namespace); default CHROMIUM_PATH.
 */
export function launchBrowser(opts: { timeoutMs?: number; extraArgs?: string[]; executablePath?: string } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
    timeout: opts.timeoutMs ?? 30_000,
  });
}

const pageLogs = new WeakMap<Page, PageLog[]>();

/** A fresh browser context (own cookies, camera/microphone granted) with one page whose logs are collected. */
async function newLoggedPage(browser: Browser, timeout: number): Promise<Page> {
  const origin = await staticServerOrigin();
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone'], { origin });
  context.setDefaultTimeout(timeout);
  const page = await context.newPage();

  const logs: PageLog[] = [];
  pageLogs.set(page, logs);
  page.on('console', (msg) => logs.push({ type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) =>
    // Non-Error throws/rejections (e.g. `Promise.reject(undefined)`) arrive with an empty stack.
    logs.push({ type: 'pageerror', text: err.stack || `uncaught non-Error value: ${err.message}` }),
  );
  page.on('crash', () => logs.push({ type: 'crash', text: 'page crashed' }));
  page.on('close', () => void context.close().catch(() => undefined));
  return page;
}

/**
 * Opens `/<kind>.html` in a fresh browser context (own cookies/permissions)
 * and waits until the SDK global is defined. Closing the page also closes
 * its context. Console output and page errors are collected; read them with
 * getPageLogs(page).
 */
export async function openClientPage(
  browser: Browser,
  kind: ClientKind,
  opts: { timeoutMs?: number } = {},
): Promise<Page> {
  const timeout = opts.timeoutMs ?? 15_000;
  await bundleClient(kind);
  const origin = await staticServerOrigin();
  const page = await newLoggedPage(browser, timeout);
  try {
    await page.goto(`${origin}/${kind}.html`, { timeout, waitUntil: 'load' });
    const globalName = clientGlobalName(kind);
    const ok = await page.evaluate(
      (name) => typeof (window as unknown as Record<string, { FishjamClient?: unknown }>)[name]?.FishjamClient === 'function',
      globalName,
    );
    if (!ok) throw new Error(`window.${globalName}.FishjamClient missing after load`);
  } catch (err) {
    await page.context().close().catch(() => undefined);
    throw new Error(`openClientPage(${kind}) failed: ${(err as Error).message}\n${formatPageLogs(page)}`);
  }
  return page;
}

/**
 * Opens the page app `test/browser/apps/<name>.tsx` (see bundleApp) with `params` as its query string, in a
 * fresh context like openClientPage. The app reads its settings from `location.search` and reports through
 * `window.pushEvent`; close it with closeClientPage.
 */
export async function openAppPage(
  browser: Browser,
  name: string,
  params: Record<string, string> = {},
  opts: { timeoutMs?: number } = {},
): Promise<Page> {
  const timeout = opts.timeoutMs ?? 15_000;
  await bundleApp(name);
  const origin = await staticServerOrigin();
  const page = await newLoggedPage(browser, timeout);
  try {
    await page.goto(`${origin}/app/${name}.html?${new URLSearchParams(params)}`, { timeout, waitUntil: 'load' });
  } catch (err) {
    await page.context().close().catch(() => undefined);
    throw new Error(`openAppPage(${name}) failed: ${(err as Error).message}\n${formatPageLogs(page)}`);
  }
  return page;
}

/** Closes a page opened by openClientPage together with its context. */
export async function closeClientPage(page: Page): Promise<void> {
  await page.context().close().catch(() => undefined);
}

/** Console messages and uncaught errors collected from `page` so far. */
export function getPageLogs(page: Page): PageLog[] {
  return pageLogs.get(page) ?? [];
}

/** Page logs as text, handy for assertion messages. */
export function formatPageLogs(page: Page, opts: { onlyErrors?: boolean } = {}): string {
  const logs = getPageLogs(page).filter(
    (l) => !opts.onlyErrors || l.type === 'error' || l.type === 'pageerror' || l.type === 'crash',
  );
  return logs.length ? logs.map((l) => `[page ${l.type}] ${l.text}`).join('\n') : '[page] (no console output)';
}

/** Snapshot of the page's `window.events`. */
export function getPageEvents(page: Page): Promise<PageEvent[]> {
  return page.evaluate(() => window.events);
}

/**
 * Either an event name, or a self-contained predicate that is serialised
 * with Function#toString and run in the page (no closures over test vars).
 */
export type PageEventMatcher = string | ((event: PageEvent) => boolean);

/**
 * Waits (bounded) until an event matching `match` is in `window.events` at
 * index >= `since`, and returns it (its data must be JSON-serialisable).
 * On timeout throws an error listing the events seen and the page logs.
 */
export async function waitForPageEvent(
  page: Page,
  match: PageEventMatcher,
  timeoutMs = 10_000,
  opts: { since?: number } = {},
): Promise<PageEvent> {
  const arg = {
    name: typeof match === 'string' ? match : null,
    src: typeof match === 'function' ? match.toString() : null,
    since: opts.since ?? 0,
  };
  try {
    const handle = await page.waitForFunction(
      ({ name, src, since }) => {
        const pred: (e: PageEvent) => boolean = src
          ? (new Function(`return (${src});`)() as (e: PageEvent) => boolean)
          : (e) => e.name === name;
        const events = window.events ?? [];
        for (let i = since; i < events.length; i++) {
          if (pred(events[i]!)) return events[i];
        }
        return undefined;
      },
      arg,
      { timeout: timeoutMs, polling: 50 },
    );
    return (await handle.jsonValue()) as PageEvent;
  } catch (err) {
    const seen = await page.evaluate(() => (window.events ?? []).map((e) => e.name)).catch(() => []);
    throw new Error(
      `waitForPageEvent(${arg.name ?? arg.src}) failed after ${timeoutMs}ms: ${(err as Error).message.split('\n')[0]}\n` +
        `events: ${JSON.stringify(seen)}\n${formatPageLogs(page)}`,
    );
  }
}
