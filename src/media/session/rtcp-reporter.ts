// The RTCP one session sends its client: every second, regenerated sender reports for the streams it
// receives (so the browser can sync audio and video; each consumer notes when its report left, for the
// round trip its receiver reports give) and REMBs for the video it publishes on lines without
// transport-cc (telling that client it may publish at full rate; its estimate otherwise stays at its start
// value — with transport-cc the client's own send-side estimator decides, from Shoal's feedback); and,
// once the client publishes, every FEEDBACK_INTERVAL_MS the upstream feedback (NACKs, transport-cc) its
// deps produce. It sends what it is given and builds reports, nothing else; it must not throw from its
// timers (a REMB lists at most 255 SSRCs, so more published streams take several REMBs).
import type { Consumer } from '../sfu/consumer.js';
import { buildRemb, buildSdesCname, buildSr, compound } from '../wire/rtcp.js';

const RTCP_INTERVAL_MS = 1000;
/** Upstream feedback tick (NACKs each tick, transport-cc every second one: 50 ms). */
export const FEEDBACK_INTERVAL_MS = 25;
const REMB_BITRATE = 5_000_000;
/** A REMB's SSRC count is one byte. */
export const REMB_MAX_SSRCS = 255;

export interface RtcpReporterDeps {
  /** May RTCP be sent now (the transport is connected)? */
  connected(): boolean;
  sendRtcp(packet: Buffer): void;
  /** What the client receives (each consumer's sender report). */
  consumers(): Iterable<Consumer>;
  /** SSRCs of the video the client publishes. */
  publishedVideoSsrcs(): number[];
  /** The session's own RTCP sender SSRC and CNAME. */
  rtcpSsrc: number;
  cname: string;
  /** Upstream feedback due now (NACKs, transport-cc), once startFeedback was called. */
  feedback?(nowMs: number): Buffer[];
}

export class RtcpReporter {
  private readonly timer: NodeJS.Timeout;
  private feedbackTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RtcpReporterDeps) {
    this.timer = setInterval(() => this.report(), RTCP_INTERVAL_MS);
    this.timer.unref();
  }

  /** One round of reports (the timer's job; public for tests). */
  report(): void {
    if (!this.deps.connected()) return;
    this.sendSenderReports();
    const video = this.deps.publishedVideoSsrcs();
    for (let i = 0; i < video.length; i += REMB_MAX_SSRCS) {
      this.deps.sendRtcp(buildRemb(this.deps.rtcpSsrc, REMB_BITRATE, video.slice(i, i + REMB_MAX_SSRCS)));
    }
  }

  /** Starts the upstream feedback tick (the client publishes); idempotent. */
  startFeedback(): void {
    if (this.feedbackTimer || !this.deps.feedback) return;
    this.feedbackTimer = setInterval(() => this.sendFeedback(), FEEDBACK_INTERVAL_MS);
    this.feedbackTimer.unref();
  }

  /** One upstream feedback tick (the timer's job; public for tests). */
  sendFeedback(): void {
    if (!this.deps.connected() || !this.deps.feedback) return;
    const packets = this.deps.feedback(performance.now());
    if (packets.length > 0) this.deps.sendRtcp(packets.length === 1 ? packets[0] : compound(packets));
  }

  close(): void {
    clearInterval(this.timer);
    if (this.feedbackTimer) clearInterval(this.feedbackTimer);
  }

  private sendSenderReports(): void {
    const reports: Buffer[] = [];
    const sent: { consumer: Consumer; ntpSec: number; ntpFrac: number }[] = [];
    let firstSsrc: number | undefined;
    for (const consumer of this.deps.consumers()) {
      const sr = consumer.senderReport();
      if (!sr) continue;
      firstSsrc ??= sr.ssrc;
      reports.push(buildSr(sr));
      sent.push({ consumer, ntpSec: sr.ntpSec, ntpFrac: sr.ntpFrac });
    }
    if (firstSsrc === undefined) return;
    this.deps.sendRtcp(compound([...reports, buildSdesCname(firstSsrc, this.deps.cname)]));
    const at = performance.now();
    for (const s of sent) s.consumer.senderReportSent(s.ntpSec, s.ntpFrac, at);
  }
}
