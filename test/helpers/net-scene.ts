// One call sets up a shaped-link scene for a test: a netns topology with the named client hosts, Shoal in
// its namespace (optionally behind the delay relay), one Chromium per client host (launched lazily), and
// pages on them; close() takes it all down in order. The parts stay reachable (topo, shoal, link control
// in net-link.ts, delays on shoal.relay) for what a test needs beyond this.
// It must not hide failures: a page that fails to open or join throws with its console output.
import { createTopology, type NetClient, type NetTopology } from './netns.js';
import { launchNetBrowser, netPageLogs, openNetPage } from './net-browser.js';
import { netPeerToken, netRoom, startNetShoal, type NetShoal } from './net-shoal.js';
import type { Browser, ClientKind, Page } from './browser.js';

export interface NetScene {
  topo: NetTopology;
  shoal: NetShoal;
  client(name: string): NetClient;
  /** The Chromium of client host `name` (launched on first use, with that host's `browserArgs`). */
  browser(name: string): Promise<Browser>;
  /** A fresh page of `kind` in client host `name`'s Chromium. */
  page(name: string, kind: ClientKind): Promise<Page>;
  room(options?: Record<string, unknown>): Promise<string>;
  token(roomId: string): Promise<string>;
  /** The console output of every page opened, for failure messages. */
  logs(): string;
  close(): Promise<void>;
}

export async function startNetScene(o: {
  clients: string[];
  env?: Record<string, string>;
  delayRelay?: boolean;
  /** Extra Chromium arguments per client host (e.g. a fake-camera clip for a publisher). */
  browserArgs?: Record<string, string[]>;
}): Promise<NetScene> {
  const topo = await createTopology({ clients: o.clients });
  let shoal: NetShoal;
  try {
    shoal = await startNetShoal(topo, o.env ?? {}, { delayRelay: o.delayRelay });
  } catch (err) {
    await topo.destroy();
    throw err;
  }
  const browsers = new Map<string, Promise<Browser>>();
  const pages: { name: string; kind: ClientKind; page: Page }[] = [];
  const browser = (name: string) => {
    let b = browsers.get(name);
    if (!b) {
      b = launchNetBrowser(topo.client(name), { extraArgs: o.browserArgs?.[name] });
      browsers.set(name, b);
    }
    return b;
  };
  return {
    topo,
    shoal,
    client: (name) => topo.client(name),
    browser,
    async page(name, kind) {
      const page = await openNetPage(await browser(name), kind);
      pages.push({ name, kind, page });
      return page;
    },
    room: (options) => netRoom(shoal, options),
    token: (roomId) => netPeerToken(shoal, roomId),
    logs: () => pages.map((p) => `${p.name} (${p.kind}):\n${netPageLogs(p.page)}`).join('\n'),
    async close() {
      for (const p of pages) await p.page.context().close().catch(() => undefined);
      const launched = await Promise.allSettled([...browsers.values()]);
      await Promise.all(launched.map((b) => (b.status === 'fulfilled' ? b.value.close().catch(() => undefined) : undefined)));
      await shoal.stop();
      await topo.destroy();
    },
  };
}
