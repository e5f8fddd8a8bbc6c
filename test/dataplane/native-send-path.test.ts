// The native plane's send path end to end below the media session: NativeSrtp.sendDirect protects an RTP
// packet straight into a NativeUdpSocket's send queue as TURN ChannelData, and resendDirect sends the kept
// frame again — checked on a real UDP socket against the TypeScript twin's bytes (SRTP is deterministic),
// with the frame history's limits (unknown, kept for about a second, overwritten past its size limit) and the TURN counters; and the forwarding step a
// consumer hands its transport (forwardDirect / resendRtxDirect with its RtpForward) against the
// TypeScript twin (rtp-forward.ts rewriteAndSend / resendAsRtx over SrtpContext): the same datagrams.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadNativeAddon } from '../../src/dataplane/native-addon.js';
import { NativeSrtp } from '../../src/dataplane/native-srtp.js';
import { NativeUdpSocket } from '../../src/dataplane/native-udp.js';
import { PacketSlab } from '../../src/media/transport/packet-slab.js';
import { newRtpForward, resendAsRtx, rewriteAndSend } from '../../src/media/transport/rtp-forward.js';
import { SrtpContext, type SrtpKeys, type SrtpProfile } from '../../src/media/transport/srtp.js';
import type { DirectFrame } from '../../src/media/transport/srtp-session.js';
import { parseRtpHeader } from '../../src/media/wire/rtp.js';
import { emptyTurnStats } from '../../src/turn/turn-stats.js';
import type { UdpRoute } from '../../src/turn/udp-route.js';
import type { UdpSource } from '../../src/turn/udp-socket.js';

const { addon } = loadNativeAddon();
const KEYS: SrtpKeys = {
  localMasterKey: Buffer.alloc(16, 1),
  localMasterSalt: Buffer.alloc(14, 2),
  remoteMasterKey: Buffer.alloc(16, 3),
  remoteMasterSalt: Buffer.alloc(14, 4),
};
const GCM_KEYS: SrtpKeys = { ...KEYS, localMasterSalt: Buffer.alloc(12, 2), remoteMasterSalt: Buffer.alloc(12, 4) };

function rtp(ssrc: number, seq: number, payload = 1000): Buffer {
  const p = Buffer.alloc(12 + payload, seq & 0xff);
  p[0] = 0x80;
  p[1] = 96;
  p.writeUInt16BE(seq, 2);
  p.writeUInt32BE(seq * 3000, 4);
  p.writeUInt32BE(ssrc, 8);
  return p;
}

describe('native send path (sendDirect / resendDirect)', () => {
  let client: dgram.Socket;
  let server: NativeUdpSocket;
  let source: UdpSource | undefined;
  const inbox: Buffer[] = [];
  let waiters: (() => void)[] = [];

  before(async () => {
    assert.ok(addon, 'the native addon must be built');
    server = new NativeUdpSocket(addon, (_msg, from) => (source = from), pino({ level: 'silent' }));
    const port = await server.bind(0, '127.0.0.1', 1 << 20);
    client = dgram.createSocket('udp4');
    client.on('message', (m) => {
      inbox.push(m);
      for (const w of waiters.splice(0)) w();
    });
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    client.setRecvBufferSize(4 << 20);
    client.send(Buffer.from('hello'), port, '127.0.0.1');
    for (let i = 0; i < 100 && source === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(source, 'the server saw the client');
  });
  after(async () => {
    client.close();
    await server.close();
  });

  async function received(n: number): Promise<Buffer[]> {
    const deadline = Date.now() + 5000;
    while (inbox.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out with ${inbox.length} of ${n} datagrams`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return inbox.splice(0, n);
  }

  function route(): UdpRoute {
    return { socket: server, to: source!, channel: 0x4001, until: Date.now() + 60_000, dead: false, target: server.directTarget(source!), stats: emptyTurnStats() };
  }

  for (const [profile, keys] of [[1, KEYS], [7, GCM_KEYS]] as [SrtpProfile, SrtpKeys][]) {
    test(`profile ${profile}: the datagram is ChannelData around the twin's SRTP bytes, and a resend is the same bytes`, async () => {
      const native = new NativeSrtp(addon!, profile, keys, new PacketSlab());
      const twin = new SrtpContext(profile, keys);
      const r = route();
      const packets = [rtp(0x1234, 65534), rtp(0x1234, 65535), rtp(0x1234, 0), rtp(0x5678, 7, 200)];
      const frames = packets.map((p) => native.sendDirect(r, p, p.length));
      const got = await received(packets.length);
      for (const [i, p] of packets.entries()) {
        const expected = twin.protectRtp(p);
        assert.equal(got[i]!.readUInt16BE(0), 0x4001, 'channel');
        assert.equal(got[i]!.readUInt16BE(2), expected.length, 'ChannelData length');
        assert.deepEqual(got[i]!.subarray(4), expected, `packet ${i}: the twin's SRTP bytes`);
        assert.deepEqual(frames[i], { length: expected.length, ssrc: p.readUInt32BE(8), seq: p.readUInt16BE(2) });
      }
      assert.equal(r.stats.packetsOut, 4);
      assert.ok(native.resendDirect(r, frames[1]!));
      const [again] = await received(1);
      assert.deepEqual(again, got[1], 'the resend is the datagram as first sent (same SRTP index)');
      assert.equal(native.resendDirect(r, { length: 10, ssrc: 0x1234, seq: 100 }), false, 'never sent: not kept');
      assert.equal(native.resendDirect(r, { length: 10, ssrc: 0x9999, seq: 65535 }), false, 'another SSRC: not kept');
    });
  }

  test('the history keeps about a second: a ring that wraps sooner grows (to 4 MiB at most), past which old frames are overwritten', async () => {
    const native = new NativeSrtp(addon!, 7, GCM_KEYS, new PacketSlab());
    const r = route();
    const first = native.sendDirect(r, rtp(0xabc, 1), 1012)!;
    await received(1);
    assert.ok(native.resendDirect(r, first));
    await received(1);
    // A burst of 600 frames of ~1 KB (600 KB, in well under a second) wraps the first 256 KiB ring: it grows
    // instead of losing them. (A fixed ring lost the first frame after 300.)
    let seq = 2;
    const burst = (n: number) => {
      for (const end = seq + n; seq < end; seq++) native.sendDirect(r, rtp(0xabc, seq & 0xffff), 1012);
    };
    burst(600);
    assert.ok(native.resendDirect(r, first), 'kept across the burst: the ring grew');
    // 4.5 MB more is past the 4 MiB limit: the first frame is gone, a recent one is kept.
    burst(4500);
    assert.equal(native.resendDirect(r, first), false, 'overwritten past the size limit');
    assert.ok(native.resendDirect(r, { length: 0, ssrc: 0xabc, seq: (seq - 1) & 0xffff }));
    assert.equal(native.resendDirect(r, { length: 0, ssrc: 0xabc, seq: (seq + 100) & 0xffff }), false, 'never sent');
    // Drop what the client got (the kernel may have dropped part of the burst): wait until it stops arriving.
    for (let last = -1, i = 0; inbox.length !== last && i < 50; i++) {
      last = inbox.length;
      await new Promise((res) => setTimeout(res, 100));
    }
    inbox.length = 0;
  });

  test('forwardDirect and resendRtxDirect send what the twin (rewriteAndSend, resendAsRtx) sends, with the same lengths and kept frames', async () => {
    const native = new NativeSrtp(addon!, 7, GCM_KEYS, new PacketSlab());
    const twin = new SrtpContext(7, GCM_KEYS);
    const r = route();
    const params = { ssrc: 0x0a0b0c0d, payloadType: 100, extensionMap: new Map([[1, 4]]), transportSeqExtId: 3, rtx: { ssrc: 0x01020304, payloadType: 101 } };
    const f = newRtpForward(params);
    const g = newRtpForward(params);
    const twinOut: Buffer[] = [];
    const sendTwin = (p: Buffer, n: number) => {
      const out = twin.protectRtp(p, 0, n);
      twinOut.push(Buffer.from(out));
      return out;
    };
    const src = rtp(0x1234, 50, 300);
    src[0] = 0x90; // with a one-byte block: element 1 kept (as 4), the rest of the payload as is
    src.set([0xbe, 0xde, 0, 1, 0x10, 0x77, 0, 0], 12);
    const h = parseRtpHeader(src)!;
    for (let i = 0; i < 3; i++) {
      native.forwardDirect(r, f, src, 100 + i, 9000 * i, 7 + i);
      rewriteAndSend(g, src, h, 100 + i, 9000 * i, 7 + i, sendTwin);
      assert.equal(f.length, g.length, 'the rewritten length');
      assert.deepEqual(f.sent, { length: (g.sent as Buffer).length + 16, ssrc: 0x0a0b0c0d, seq: 100 + i }, 'kept: the handle of the plaintext (an RTX stream)');
    }
    const rtxLen = native.resendRtxDirect(r, f, f.sent as DirectFrame, 500, 20);
    assert.equal(resendAsRtx(g, g.sent!, 500, 20, sendTwin), rtxLen);
    assert.equal(native.resendRtxDirect(r, f, { length: 1, ssrc: 0x0a0b0c0d, seq: 99 }, 501, 21), -1, 'never forwarded: not kept');
    const got = await received(4);
    for (const [i, d] of got.entries()) assert.deepEqual(d.subarray(4), twinOut[i], `datagram ${i}: the twin's bytes`);
    assert.equal(r.stats.packetsOut, 4);
  });

  test('a malformed packet is not sent and returns undefined', () => {
    const native = new NativeSrtp(addon!, 1, KEYS, new PacketSlab());
    const r = route();
    assert.equal(native.sendDirect(r, Buffer.from([0x80, 96, 0, 1]), 4), undefined);
    assert.equal(r.stats.packetsOut, 0);
  });
});
