// Per-track quality from real RTCP, in the main thread (FJ_MEDIA_WORKERS=0) and in a media worker
// (FJ_MEDIA_WORKERS=1), with browserless ts-client 0.5.0 peers (bench/clients/c5-peer.ts, libdatachannel,
// relay-only through the integrated TURN server). The publisher sends synthetic VP8 and, every 500 ms, an
// RTCP sender report (libdatachannel sends none on its own), so Shoal sends the subscriber sender reports;
// the subscriber answers each with a receiver report (fraction lost 25/256, 7 lost, jitter 900 at 90 kHz,
// LSR of that SR, DLSR of a deliberate 150 ms hold) plus a PLI and a NACK. /metrics must then show inbound
// and outbound bitrate under the right room/peer/track labels, the reported loss and jitter, a round trip
// under the hold (DLSR subtracted), the feedback counters, WebRTC traffic bytes, and after the room is
// deleted no quality series of it. (The peers' WebRTC tracks are private to C5Peer; the test reaches them.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodeDataChannel, { type Track } from 'node-datachannel';
import { C5Peer } from '../../../bench/clients/c5-peer.js';
import { countRtp, type ReceiveCounter } from '../../../bench/lib/synthetic-rtp.js';
import { compactNtp } from '../../../src/media/sfu/media-quality.js';
import { buildNack, buildPli, buildRr, buildSr, parseRtcp } from '../../../src/media/wire/rtcp.js';
import { api, startShoal, type TestShoal } from '../../helpers/server.js';
import { parseExposition, type Exposition } from '../../metrics/prom-text.js';

const WAIT_MS = 20_000;
const HOLD_MS = 150;
const RR_SSRC = 0x0badcafe;

/** The WebRTC tracks inside a C5Peer (private there). */
interface PeerInternals {
  local: { kind: 'audio' | 'video'; ssrc: number; track?: Track }[];
  recvMedia: { kind: 'audio' | 'video'; mid: string; track: Track }[];
}
const internals = (p: C5Peer) => p as unknown as PeerInternals;

for (const workers of ['0', '1']) {
  describe(`media quality from RTCP (FJ_MEDIA_WORKERS=${workers})`, () => {
    let s: TestShoal;
    const peers: C5Peer[] = [];
    const timers: NodeJS.Timeout[] = [];

    before(async () => {
      s = await startShoal({ FJ_MEDIA_WORKERS: workers });
    });
    after(async () => {
      for (const t of timers) clearInterval(t);
      for (const p of peers) p.close(true);
      await s?.stop();
      nodeDataChannel.cleanup();
    });

    async function join(roomId: string, name: string): Promise<{ peer: C5Peer; peerId: string }> {
      const r = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
      assert.equal(r.status, 201, r.text);
      const peer = new C5Peer({ wsUrl: s.wsUrl, token: r.json.data.token, name, bindAddress: '127.0.0.1' });
      peers.push(peer);
      await peer.join(WAIT_MS);
      return { peer, peerId: r.json.data.peer.id };
    }

    async function scrape(): Promise<Exposition> {
      return parseExposition(await s.shoal.metrics.registry.metrics());
    }

    async function eventually(check: (m: Exposition) => string | undefined, what: string): Promise<Exposition> {
      const deadline = Date.now() + WAIT_MS;
      let last: string | undefined;
      for (;;) {
        const m = await scrape();
        last = check(m);
        if (last === undefined) return m;
        if (Date.now() > deadline) assert.fail(`${what}: ${last}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    /** The publisher's SRs: wall clock NTP, RTP time at 90 kHz. */
    function sendSenderReports(pub: C5Peer): void {
      const video = internals(pub).local.find((t) => t.kind === 'video');
      assert.ok(video?.track, 'the publisher has a video track');
      const { track, ssrc } = video;
      const timer = setInterval(() => {
        const ms = Date.now() + 2_208_988_800_000; // Unix → NTP epoch
        const ntpSec = Math.floor(ms / 1000);
        try {
          track.sendMessageBinary(buildSr({ ssrc, ntpSec, ntpFrac: Math.floor(((ms % 1000) / 1000) * 2 ** 32), rtpTimestamp: (ms * 90) >>> 0, packetCount: 0, octetCount: 0 }));
        } catch {
          // closed at the end
        }
      }, 500);
      timers.push(timer);
    }

    /** The subscriber answers every SR Shoal sends on its video m-line (after HOLD_MS), and asks for a keyframe and a retransmission. */
    function answerSenderReports(sub: C5Peer): { answered: number } {
      const recv = internals(sub).recvMedia.find((r) => r.kind === 'video');
      assert.ok(recv, 'the subscriber has a video m-line');
      const counter = sub.received.find((c) => c.mid === recv.mid) as ReceiveCounter;
      const state = { answered: 0 };
      recv.track.onMessage((msg) => {
        countRtp(counter, msg);
        if (msg.length < 8 || msg[1] !== 200) return;
        const heardAt = performance.now();
        for (const p of parseRtcp(msg)) {
          if (p.type !== 'sr') continue;
          const block = { ssrc: p.ssrc, fractionLost: 25, cumulativeLost: 7, highestSeq: 1000, jitter: 900, lsr: compactNtp(p.ntpSec, p.ntpFrac), dlsr: 0 };
          setTimeout(() => {
            block.dlsr = Math.round(((performance.now() - heardAt) / 1000) * 65536);
            try {
              recv.track.sendMessageBinary(buildRr(RR_SSRC, [block]));
              recv.track.sendMessageBinary(buildPli(RR_SSRC, p.ssrc));
              recv.track.sendMessageBinary(buildNack(RR_SSRC, p.ssrc, [1]));
              state.answered++;
            } catch {
              // closed at the end
            }
          }, HOLD_MS);
        }
      });
      return state;
    }

    test('bitrate in and out, loss, jitter and round trip under the room, peer and track labels; gone with the room', { timeout: 90_000 }, async () => {
      const room = await api(s, 'POST', '/room', {});
      assert.equal(room.status, 201, room.text);
      const roomId: string = room.json.data.room.id;
      const pub = await join(roomId, 'quality-pub');
      const [trackId] = await pub.peer.publish({ video: true }, WAIT_MS);
      pub.peer.startSending();
      sendSenderReports(pub.peer);
      const sub = await join(roomId, 'quality-sub');
      await sub.peer.negotiated(WAIT_MS);
      const answers = answerSenderReports(sub.peer);

      const inLabels = { room_id: roomId, peer_id: pub.peerId, track_id: trackId!, direction: 'in' };
      const outLabels = { room_id: roomId, peer_id: sub.peerId, track_id: trackId!, direction: 'out' };
      const m = await eventually((m) => {
        if (!((m.value('shoal_track_bitrate_bits', inLabels) ?? 0) > 0)) return 'no inbound bitrate for the publisher’s track';
        if (!((m.value('shoal_track_bitrate_bits', outLabels) ?? 0) > 0)) return 'no outbound bitrate for the subscriber’s track';
        if (m.value('shoal_track_packet_loss_ratio', outLabels) === undefined) return `no loss series (${answers.answered} RRs sent)`;
        if (m.value('shoal_peer_rtt_seconds', { room_id: roomId, peer_id: sub.peerId }) === undefined) return 'no RTT series';
        return undefined;
      }, 'quality series');

      assert.equal(m.value('shoal_track_packet_loss_ratio', outLabels), 25 / 256);
      assert.equal(m.value('shoal_track_lost_packets', outLabels), 7);
      assert.equal(m.value('shoal_track_jitter_seconds', outLabels), 900 / 90000);
      const rtt = m.value('shoal_peer_rtt_seconds', { room_id: roomId, peer_id: sub.peerId })!;
      assert.ok(rtt >= 0 && rtt < HOLD_MS / 1000 - 0.05, `RTT ${rtt} s: the ${HOLD_MS} ms DLSR is subtracted`);
      // Inbound tracks have no receiver report: bitrate only; the publisher receives nothing: no RTT.
      assert.equal(m.value('shoal_track_packet_loss_ratio', inLabels), undefined);
      assert.equal(m.value('shoal_peer_rtt_seconds', { room_id: roomId, peer_id: pub.peerId }), undefined);
      // ~0.96 Mbit/s of synthetic video.
      const bitrateIn = m.value('shoal_track_bitrate_bits', inLabels)!;
      assert.ok(bitrateIn > 300_000 && bitrateIn < 3_000_000, `inbound bitrate ${bitrateIn}`);
      assert.equal(m.value('shoal_quality_left_out', { kind: 'track' }), 0);

      assert.ok(m.value('shoal_rtcp_feedback_received_total', { type: 'pli' })! >= 1);
      assert.ok(m.value('shoal_rtcp_feedback_received_total', { type: 'nack' })! >= 1);
      assert.ok(m.value('shoal_rtcp_receiver_reports_total')! >= 1);
      assert.ok(m.value('shoal_keyframe_requests_total')! >= 1);
      const sent = pub.peer.sent.bytes;
      assert.ok(m.value('fishjam_traffic_ingress_webrtc_total_bytes')! > sent, 'TURN bytes in exceed the RTP payload the publisher sent');
      assert.ok(m.value('fishjam_traffic_egress_webrtc_total_bytes')! > sub.peer.totalReceived('video').bytes);
      assert.ok(m.value('shoal_turn_allocations')! >= 2);

      const deleted = await api(s, 'DELETE', `/room/${roomId}`);
      assert.equal(deleted.status, 204, deleted.text);
      await eventually((m) => {
        for (const name of ['shoal_track_bitrate_bits', 'shoal_track_packet_loss_ratio', 'shoal_track_lost_packets', 'shoal_track_jitter_seconds', 'shoal_peer_rtt_seconds', 'fishjam_room_peers']) {
          if (m.find(name, { room_id: roomId }).length > 0) return `${name} still has the deleted room’s series`;
        }
        return undefined;
      }, 'series removed with the room');
    });
  });
}
