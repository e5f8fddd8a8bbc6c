// One subscriber transport's downlink control: reads the subscriber's transport-cc feedback out of its
// RTCP into the bandwidth estimate, and every ALLOCATE_MS lets the allocator fit the subscriber's tracks
// into it — choosing each consumer's simulcast layer (switched at keyframes by the consumer) or pausing
// and resuming video (the caller tells the client). Before an upgrade the estimate does not allow, it
// probes (prober.ts): padding on a video consumer's RTX stream, paced from the consumers' sends, tops
// the sending up to what every asked-for layer needs (one step only after such a probe failed); the
// feedback decides, and no step up is taken without a
// recent success (an estimate that merely drifted up proves nothing). Its send history is what consumers
// stamp their transport-wide sequence numbers from. Until the first feedback nothing is allocated (a client without
// transport-cc gets the layer it asked for, as before).
// What it must not do: send packets or signaling itself, throw on malformed RTCP, or read a clock
// (times are given).
import type { Variant } from '../../../room/track.js';
import { parseTwccFeedback } from '../../wire/twcc.js';
import { AUDIO_BPS, Allocator, allowedVariants, type AllocTrack } from '../allocator.js';
import type { Consumer } from '../consumer.js';
import type { MediaStats } from '../media-stats.js';
import type { StreamVariant } from '../stream-variant.js';
import { BandwidthEstimator } from './estimator.js';
import { layerMeterFor } from './layer-meter.js';
import { Prober } from './prober.js';
import { ResendBudget } from './resend-budget.js';
import { SendHistory } from './send-history.js';

const ALLOCATE_MS = 500;
/** Layer bitrates assumed until measured (a layer the publisher does not send yet). */
const DEFAULT_BPS: Record<StreamVariant, number> = { l: 150_000, m: 500_000, h: 2_500_000, '': 1_000_000 };
/**
 * A single-stream video track cannot be lowered here (its publisher's own estimate sets its rate), so it
 * counts as at most this much: it is paused only when the link cannot carry even that.
 */
const SINGLE_STREAM_FLOOR_BPS = 100_000;
/**
 * Without a consumer that can carry probe padding (no RTX or transport-cc), the estimate may grow without
 * congestion to what the asked-for layers need × this, and an upgrade is the probe.
 */
const PROBE_HEADROOM = 1.4;
/** A probe aims this far above what the next upgrade needs (what arrives is a little less than what is sent). */
const PROBE_OVERSHOOT = 1.1;
/**
 * With probing available, a step up is taken only this soon after a probe succeeded: an estimate that
 * drifted up without one (1.5 × a bursty acked rate allows it) is no proof the link carries the next layer.
 */
const PROBE_VALID_MS = 3000;
/** RTCP feedback packets looked at per compound (bounds the work one datagram can cause). */
const MAX_PACKETS_PER_COMPOUND = 32;

export interface DownlinkDeps {
  consumers(): Iterable<Consumer>;
  /** The allocator paused (true) or resumed (false) this consumer's video. */
  pausedChanged(consumer: Consumer, paused: boolean): void;
  stats: MediaStats;
}

export class Downlink {
  readonly history = new SendHistory();
  private readonly estimator = new BandwidthEstimator(this.history);
  private readonly allocator = new Allocator();
  private readonly prober = new Prober(this.history);
  private readonly resendBudget = new ResendBudget();
  private probedAt = -Infinity;
  /** The next probe aims at every asked-for layer (true) or at one step (after a failed wide probe). */
  private probeWide = true;
  private allocatedAt = -Infinity;
  private fed = false;
  /** The consumers' retransmitted bytes at the last allocation (the retransmission rate since). */
  private retransmittedBytes = 0;

  constructor(private readonly deps: DownlinkDeps) {}

  /** The estimate now (bps). */
  get estimate(): number {
    return this.estimator.bitrate;
  }

  /** The estimate (bps) once feedback arrived, else undefined (the operator's metric: a guess is no estimate). */
  get measuredEstimate(): number | undefined {
    return this.fed ? this.estimator.bitrate : undefined;
  }

  /** A decrypted RTCP compound from the subscriber, received at `now` (ms, the send-time clock). */
  onRtcp(buf: Buffer, now: number): void {
    let pos = 0;
    for (let n = 0; n < MAX_PACKETS_PER_COMPOUND && pos + 4 <= buf.length; n++) {
      const len = (buf.readUInt16BE(pos + 2) + 1) * 4;
      if (pos + len > buf.length) break;
      if (buf[pos + 1] === 205 && (buf[pos]! & 0x1f) === 15) {
        const fb = parseTwccFeedback(buf.subarray(pos, pos + len));
        if (fb) {
          this.deps.stats.transportFeedbackReceived++;
          this.estimator.onFeedback(fb, now);
          this.fed = true;
          const verdict = this.prober.onFeedback(fb, this.estimator.overuseDetected, now);
          if (verdict?.ok) {
            this.deps.stats.probesSucceeded++;
            this.estimator.probed(verdict.bps);
            this.probedAt = now;
            this.probeWide = true;
            this.allocatedAt = -Infinity;
          } else if (verdict) {
            this.estimator.probeFailed(verdict.beforeBps, now);
            this.probeWide = false;
          }
        }
      }
      pos += len;
    }
    if (this.fed && now - this.allocatedAt >= ALLOCATE_MS) this.allocate(now);
    this.pace(now);
  }

  /** Whether `bytes` of retransmission may go out at `now` (within the resend budget; always before any feedback). */
  mayResend(bytes: number, now: number): boolean {
    return !this.fed || this.resendBudget.take(bytes, this.estimator.bitrate, now);
  }

  /** Sends the probe padding owed at `now` (called after each forwarded packet and each feedback). */
  pace(now: number): void {
    if (!this.prober.active) return;
    const owed = this.prober.owed(now);
    if (owed <= 0) return;
    this.padder()?.sendPadding(owed, now);
  }

  /** The consumer that carries probe padding: a video consumer with an RTX stream, a forwarding one first. */
  private padder(): Consumer | undefined {
    let fallback: Consumer | undefined;
    for (const c of this.deps.consumers()) {
      if (c.producer.kind !== 'video' || !c.canPad) continue;
      if (!c.paused) return c;
      fallback ??= c;
    }
    return fallback;
  }

  /** Starts a probe when the next upgrade needs more than the estimate (and one may start now). */
  private probe(tracks: AllocTrack[], levels: number[], now: number, retransmitBps: number, canProbe: boolean): void {
    const step = canProbe ? this.allocator.nextStep(tracks, levels, now, retransmitBps) : undefined;
    if (!step) {
      this.prober.cancel();
      return;
    }
    const proven = step.bps <= this.estimator.bitrate && now - this.probedAt <= PROBE_VALID_MS;
    if (proven || !this.prober.mayStart(now, step.resume)) return;
    const wide = this.probeWide ? this.allocator.topStep(tracks, levels, now, retransmitBps) : undefined;
    this.prober.start(Math.max(step.bps, wide ?? 0) * PROBE_OVERSHOOT, this.estimator.bitrate, now, step.resume);
    this.deps.stats.probesStarted++;
  }

  /** Fits the tracks into the estimate and applies the choices. */
  allocate(now: number): void {
    const since = now - this.allocatedAt;
    this.allocatedAt = now;
    const consumers = [...this.deps.consumers()];
    let resent = 0;
    for (const c of consumers) resent += c.retransmittedBytes;
    const retransmitBps = since > 0 && Number.isFinite(since) ? (Math.max(0, resent - this.retransmittedBytes) * 8000) / since : 0;
    this.retransmittedBytes = resent;
    const variants: Variant[][] = [];
    const tracks: AllocTrack[] = consumers.map((c) => {
      const p = c.producer;
      if (p.kind === 'audio') {
        variants.push([]);
        return { key: String(c.ssrc), kind: 'audio', layers: [0], level: 0 };
      }
      const meter = layerMeterFor(p);
      const rate = (v: StreamVariant) => meter.bitrate(v, now) || DEFAULT_BPS[v];
      if (!p.simulcast) {
        variants.push([]);
        return { key: String(c.ssrc), kind: 'video', layers: [Math.min(SINGLE_STREAM_FLOOR_BPS, rate(''))], level: c.paused ? -1 : 0 };
      }
      const allowed = allowedVariants(p.rids, c.targetVariant);
      variants.push(allowed);
      const now_ = c.paused ? -1 : Math.max(0, allowed.indexOf((c.allocation ?? c.targetVariant) as Variant));
      return { key: String(c.ssrc), kind: 'video', layers: allowed.map(rate), level: allowed.length === 0 ? -1 : now_ };
    });
    let wanted = 0;
    for (const t of tracks) wanted += t.kind === 'audio' ? AUDIO_BPS : (t.layers.at(-1) ?? 0);
    const canProbe = this.padder() !== undefined;
    this.estimator.probeCeiling = canProbe ? 0 : wanted * PROBE_HEADROOM;
    let estimate = this.estimator.bitrate;
    if (canProbe && now - this.probedAt > PROBE_VALID_MS) {
      // No recent probe: the allocator sees the estimate stop just short of the next step up (it keeps what it has).
      const step = this.allocator.nextStep(tracks, tracks.map((t) => t.level), now, retransmitBps);
      if (step && step.bps <= estimate) estimate = step.bps - 1;
    }
    const levels = this.allocator.allocate(tracks, estimate, now, retransmitBps);
    this.probe(tracks, levels, now, retransmitBps, canProbe);
    for (let i = 0; i < consumers.length; i++) {
      const c = consumers[i]!;
      const t = tracks[i]!;
      if (t.kind === 'audio') continue;
      const level = levels[i]!;
      if (level === t.level) continue;
      const wasPaused = c.paused;
      if (level < 0) {
        c.allocate(null);
        this.deps.stats.allocatorPauses++;
        this.deps.pausedChanged(c, true);
        continue;
      }
      const allowed = variants[i]!;
      c.allocate(allowed.length > 0 ? allowed[level] : undefined);
      if (allowed.length > 0 && !wasPaused) this.deps.stats.allocatorLayerChanges++;
      if (wasPaused) {
        this.deps.stats.allocatorResumes++;
        this.deps.pausedChanged(c, false);
      }
    }
  }
}
