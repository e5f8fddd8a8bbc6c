// Chromium on a client "host" of a netns topology: launched through a wrapper script (written at run time)
// that runs `ip netns exec <client ns> chromium`, so every packet the browser sends leaves through the
// client's shaped veth (playwright's control pipe is not a socket, so it crosses namespaces). Pages come from
// PAGE_ORIGIN, which no server serves: playwright answers those requests in the browser (context.route), and
// Chromium is told to treat that origin as secure, so getUserMedia works. The ts-client bundles are the
// ones browser.ts builds, so media-page.ts helpers (joinC5, publishC5, joinC25 …) work unchanged.
// It must not start any server.
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleClient, CHROMIUM_PATH, clientGlobalName, launchBrowser, type Browser, type ClientKind, type Page, type PageLog } from './browser.js';
import type { NetClient } from './netns.js';

/** The origin pages are loaded from (answered by the route below, never by the network). */
export const PAGE_ORIGIN = 'http://pages.shoal.test';

const WRAPPER_DIR = join(tmpdir(), `shoal-netns-${process.pid}`);
let wrapperCleanupHooked = false;

/** Writes (once per namespace) an executable that runs Chromium inside `ns`. */
export function chromiumWrapper(ns: string): string {
  mkdirSync(WRAPPER_DIR, { recursive: true });
  if (!wrapperCleanupHooked) {
    wrapperCleanupHooked = true;
    process.on('exit', () => rmSync(WRAPPER_DIR, { recursive: true, force: true }));
  }
  const path = join(WRAPPER_DIR, `chromium-${ns}.sh`);
  writeFileSync(path, `#!/bin/sh\nexec ip netns exec '${ns}' '${CHROMIUM_PATH}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Launches headless Chromium inside the client's namespace (fake camera/mic; `extraArgs` appended). */
export function launchNetBrowser(c: NetClient, opts: { extraArgs?: string[]; timeoutMs?: number } = {}): Promise<Browser> {
  return launchBrowser({
    executablePath: chromiumWrapper(c.ns),
    extraArgs: [`--unsafely-treat-insecure-origin-as-secure=${PAGE_ORIGIN}`, ...(opts.extraArgs ?? [])],
    timeoutMs: opts.timeoutMs,
  });
}

function pageHtml(kind: ClientKind): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>shoal net ${kind}</title>
<script>
window.events = [];
window.pushEvent = function (name, data) { window.events.push({ name: name, data: data, t: Date.now() }); };
</script>
<script src="/bundle/${kind}.js"></script>
</head><body></body></html>`;
}

const logs = new WeakMap<Page, PageLog[]>();

/** Console output and errors of a page opened by openNetPage, as text. */
export function netPageLogs(page: Page): string {
  const list = logs.get(page) ?? [];
  return list.length ? list.map((l) => `[page ${l.type}] ${l.text}`).join('\n') : '[page] (no console output)';
}

/**
 * Opens `<PAGE_ORIGIN>/<kind>.html` in a fresh context of `browser` (camera and microphone granted) with the
 * ts-client bundle for `kind` loaded and `window.events` / `window.pushEvent` defined, as openClientPage
 * does for loopback pages. Closing the page closes its context.
 */
export async function openNetPage(browser: Browser, kind: ClientKind, opts: { timeoutMs?: number } = {}): Promise<Page> {
  const timeout = opts.timeoutMs ?? 15_000;
  const bundle = readFileSync(await bundleClient(kind));
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone', 'local-network-access'], { origin: PAGE_ORIGIN });
  context.setDefaultTimeout(timeout);
  await context.route(`${PAGE_ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === `/${kind}.html`) return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: pageHtml(kind) });
    if (path === `/bundle/${kind}.js`) return route.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8', body: bundle });
    return route.fulfill({ status: 404, contentType: 'text/plain', body: 'not found' });
  });
  const page = await context.newPage();
  const list: PageLog[] = [];
  logs.set(page, list);
  page.on('console', (msg) => list.push({ type: msg.type(), text: msg.text() }));
  page.on('pageerror', (err) => list.push({ type: 'pageerror', text: err.stack || err.message }));
  page.on('close', () => void context.close().catch(() => undefined));
  try {
    await page.goto(`${PAGE_ORIGIN}/${kind}.html`, { timeout, waitUntil: 'load' });
    const name = clientGlobalName(kind);
    const state = await page.evaluate(
      (name) => ({
        client: typeof (window as unknown as Record<string, { FishjamClient?: unknown }>)[name]?.FishjamClient === 'function',
        secure: window.isSecureContext,
      }),
      name,
    );
    if (!state.client) throw new Error(`window.${name}.FishjamClient missing after load`);
    if (!state.secure) throw new Error(`${PAGE_ORIGIN} is not a secure context (getUserMedia would be missing)`);
  } catch (err) {
    await context.close().catch(() => undefined);
    throw new Error(`openNetPage(${kind}) failed: ${(err as Error).message}\n${netPageLogs(page)}`);
  }
  return page;
}
