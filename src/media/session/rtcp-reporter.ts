// The RTCP one session sends its client every second: regenerated sender reports for the streams it
// receives (so the browser can sync audio and video) and a REMB telling the client it may publish at
// full rate (its estimate otherwise stays at its start value). It builds and sends reports, nothing else.
import type { Consumer } from '../sfu/consumer.js';
import { buildRemb, buildSdesCname, buildSr, compound } from '../wire/rtcp.js';

const RTCP_INTERVAL_MS = 1000;
const REMB_BITRATE = 5_000_000;

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
}

export class RtcpReporter {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: RtcpReporterDeps) {
    this.timer = setInterval(() => this.report(), RTCP_INTERVAL_MS);
    this.timer.unref();
  }

  /** One round of reports (the timer's job; public for tests). */
  report(): void {
    if (!this.deps.connected()) return;
    this.sendSenderReports();
    const video = this.deps.publishedVideoSsrcs();
    if (video.length > 0) this.deps.sendRtcp(buildRemb(this.deps.rtcpSsrc, REMB_BITRATE, video));
  }

  close(): void {
    clearInterval(this.timer);
  }

  private sendSenderReports(): void {
    const reports: Buffer[] = [];
    let firstSsrc: number | undefined;
    for (const consumer of this.deps.consumers()) {
      const sr = consumer.senderReport();
      if (!sr) continue;
      firstSsrc ??= sr.ssrc;
      reports.push(buildSr(sr));
    }
    if (firstSsrc !== undefined) this.deps.sendRtcp(compound([...reports, buildSdesCname(firstSsrc, this.deps.cname)]));
  }
}
