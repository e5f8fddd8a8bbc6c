// Drives the unmodified @fishjam-dev/ts-client 0.5.0 (and @fishjam-cloud/ts-client 0.25.1) in a headless
// Chromium page for media tests: join with a token, publish fake camera/mic, and read what the page
// receives (trackReady events and inbound-rtp statistics). Every wait is bounded.
//
// Functions passed to page.evaluate must not bind named functions (tsx would inject `__name`).
import type { Page } from './browser.js';
import { waitForPageEvent } from './browser.js';

export interface JoinOptions {
  host: string; // 127.0.0.1:PORT
  token: string;
  name: string;
  reconnect?: boolean;
  /** 'wss' against a Shoal with built-in TLS (default 'ws'). */
  protocol?: 'ws' | 'wss';
}

/** Creates `window.client`, wires its events into window.events, and connects. */
export async function joinC5(page: Page, o: JoinOptions, timeoutMs = 10_000): Promise<string> {
  await page.evaluate((o) => {
    const client = new window.FishjamC5.FishjamClient<{ name: string }, { kind: string }>({ reconnect: o.reconnect ? { maxAttempts: 3, initialDelay: 300, delay: 300 } : false });
    (window as any).client = client;
    (window as any).remoteStreams = {};
    client.on('joined', (id: string) => window.pushEvent('joined', { id }));
    client.on('joinError', (e: unknown) => window.pushEvent('joinError', { e: JSON.stringify(e) }));
    client.on('authError', (r: unknown) => window.pushEvent('authError', { r }));
    client.on('socketClose', (e: CloseEvent) => window.pushEvent('socketClose', { code: e.code, reason: e.reason }));
    client.on('peerJoined', (p: any) => window.pushEvent('peerJoined', { id: p.id }));
    client.on('peerLeft', (p: any) => window.pushEvent('peerLeft', { id: p.id }));
    client.on('trackAdded', (ctx: any) => window.pushEvent('trackAdded', { trackId: ctx.trackId, peerId: ctx.endpoint.id }));
    client.on('trackRemoved', (ctx: any) => window.pushEvent('trackRemoved', { trackId: ctx.trackId, peerId: ctx.endpoint.id }));
    client.on('trackReady', (ctx: any) => {
      (window as any).remoteStreams[ctx.trackId] = ctx.track;
      window.pushEvent('trackReady', { trackId: ctx.trackId, peerId: ctx.endpoint.id, kind: ctx.track?.kind, metadata: ctx.metadata });
      ctx.on('encodingChanged', (c: any) => window.pushEvent('encodingChanged', { trackId: c.trackId, encoding: c.encoding }));
      ctx.on('voiceActivityChanged', (c: any) => window.pushEvent('voiceActivity', { trackId: c.trackId, status: c.vadStatus }));
    });
    client.connect({ token: o.token, peerMetadata: { name: o.name }, signaling: { host: o.host, protocol: o.protocol ?? 'ws', path: '/socket/peer/websocket' } });
  }, o);
  const joined = await waitForPageEvent(page, 'joined', timeoutMs);
  return (joined.data as { id: string }).id;
}

/** Publishes fake camera and/or microphone; resolves to the track ids once addTrack resolved. */
export async function publishC5(
  page: Page,
  what: { video?: boolean; audio?: boolean; simulcast?: boolean; width?: number; height?: number; contentHint?: string },
  timeoutMs = 15_000,
): Promise<string[]> {
  const marker = `published-${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    ({ what, marker }) => {
      const client = (window as any).client;
      navigator.mediaDevices
        .getUserMedia({
          audio: !!what.audio,
          video: what.video ? { width: what.width ?? 640, height: what.height ?? 480, frameRate: 24 } : false,
        })
        .then((stream) => {
          const ids: Promise<string>[] = [];
          const kinds: string[] = [];
          for (const track of stream.getTracks()) {
            kinds.push(track.kind);
            // 'detail' keeps the resolution under CPU pressure (Chromium otherwise scales simulcast layers down).
            if (track.kind === 'video' && what.contentHint) track.contentHint = what.contentHint;
            const simulcast =
              track.kind === 'video' && what.simulcast ? { enabled: true, activeEncodings: ['l', 'm', 'h'], disabledEncodings: [] } : undefined;
            ids.push(client.addTrack(track, stream, { kind: track.kind }, simulcast));
          }
          (window as any).localStream = stream;
          return Promise.all(ids).then((resolved) => {
            (window as any).localTracks = ((window as any).localTracks ?? []).concat(resolved.map((id, i) => ({ id, kind: kinds[i] })));
            return resolved;
          });
        })
        .then((ids) => window.pushEvent(marker, { ids }))
        .catch((e) => window.pushEvent(marker, { error: String(e) }));
    },
    { what, marker },
  );
  const ev = await waitForPageEvent(page, marker, timeoutMs);
  const data = ev.data as { ids?: string[]; error?: string };
  if (data.error) throw new Error(`publish failed in page: ${data.error}`);
  return data.ids!;
}

/** ts-client 0.25.1: creates `window.client` and connects; resolves when connect() resolved. */
export async function joinC25(page: Page, wsUrl: string, token: string, name: string, timeoutMs = 10_000): Promise<void> {
  await page.evaluate(
    ({ wsUrl, token, name }) => {
      const client = new window.FishjamC25.FishjamClient({ reconnect: false });
      (window as any).client = client;
      client.on('joined', () => window.pushEvent('joined'));
      client.on('trackReady', (ctx: any) => window.pushEvent('trackReady', { trackId: ctx.trackId, kind: ctx.track?.kind }));
      client.on('joinError', (e: any) => window.pushEvent('joinError', { e: String(e?.message ?? e) }));
      client
        .connect({ url: wsUrl, token, peerMetadata: { name } })
        .then(() => window.pushEvent('connectResolved'))
        .catch(() => window.pushEvent('connectRejected'));
    },
    { wsUrl, token, name },
  );
  await waitForPageEvent(page, 'connectResolved', timeoutMs);
}

/** ts-client 0.25.1: publishes the fake camera (640×480) and microphone. */
export async function publishC25(page: Page, timeoutMs = 10_000): Promise<void> {
  await page.evaluate(() => {
    navigator.mediaDevices
      .getUserMedia({ audio: true, video: { width: 640, height: 480 } })
      .then((stream) => Promise.all(stream.getTracks().map((t) => (window as any).client.addTrack(t, { kind: t.kind }))))
      .then(() => window.pushEvent('published'))
      .catch((e) => window.pushEvent('publishFailed', { e: String(e) }));
  });
  await waitForPageEvent(page, 'published', timeoutMs);
}

export interface InboundStat {
  kind: string;
  trackIdentifier: string;
  packetsReceived: number;
  framesDecoded: number;
  frameWidth: number;
  bytesReceived: number;
}

/** inbound-rtp statistics of the page's peer connection. */
export async function inboundStats(page: Page): Promise<InboundStat[]> {
  return page.evaluate(async () => {
    const report: RTCStatsReport = await (window as any).client.getStatistics();
    const out: any[] = [];
    report.forEach((s: any) => {
      if (s.type === 'inbound-rtp')
        out.push({
          kind: s.kind,
          trackIdentifier: s.trackIdentifier ?? '',
          packetsReceived: s.packetsReceived ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          frameWidth: s.frameWidth ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
        });
    });
    return out;
  });
}

/** Waits until `check` holds for the page's inbound statistics (polled every 200 ms, bounded). */
export async function waitForStats(page: Page, check: (stats: InboundStat[]) => boolean, what: string, timeoutMs = 15_000): Promise<InboundStat[]> {
  const deadline = Date.now() + timeoutMs;
  let last: InboundStat[] = [];
  while (Date.now() < deadline) {
    last = await inboundStats(page);
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last inbound stats: ${JSON.stringify(last)}`);
}

/** Sum of a counter over inbound streams of a kind. */
export function total(stats: InboundStat[], kind: 'audio' | 'video', key: 'packetsReceived' | 'framesDecoded' | 'bytesReceived'): number {
  return stats.filter((s) => s.kind === kind).reduce((a, s) => a + s[key], 0);
}

/** Track id of the page's published track of `kind` (most recent). */
export async function localTrackId(page: Page, kind: 'audio' | 'video'): Promise<string> {
  const id = await page.evaluate((kind) => {
    const list = ((window as any).localTracks ?? []) as { id: string; kind: string }[];
    return list.filter((t) => t.kind === kind).pop()?.id;
  }, kind);
  if (!id) throw new Error(`page has no published ${kind} track`);
  return id;
}
