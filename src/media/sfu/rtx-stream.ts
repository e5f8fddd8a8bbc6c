// One subscriber's RTX stream for one consumer (RFC 4588): owns its sequence numbers and sends on it —
// NACKed packets again (what the forward kept, resent by `resendRtx`: rtx.ts on the TypeScript plane, the
// addon on the native one) and padding-only packets for bandwidth probes — each with the next
// transport-wide sequence number, recorded in the transport's send history so the subscriber's feedback
// about it reaches the estimate.
// What it must not do: decide what to resend or when to probe (the consumer and the downlink do), keep
// packets, or allocate per packet (padding is written into the scratch buffer it is given; `send` consumes it).
import type { SendHistory } from './bwe/send-history.js';
import type { MediaStats } from './media-stats.js';
import type { SentFrame } from '../transport/srtp-session.js';
import { MAX_PADDING_BYTES, writeRtxPadding } from './rtx.js';

/** A padding packet's header with the transport-cc element, and the smallest padding worth a packet. */
const PADDING_HEADER_BYTES = 20;
const MIN_PADDING_BYTES = 44;

export interface RtxStreamParams {
  ssrc: number;
  payloadType: number;
  /** Sends the plaintext packet `packet[0, length)` (encrypting a copy). */
  send: (packet: Buffer, length: number) => unknown;
  /** Sends what a forward kept again as RTX with these numbers; the RTX packet's length, or −1 (nothing sent). */
  resendRtx: (kept: SentFrame, rtxSeq: number, tseq: number) => number;
  transportCc?: { extId: number; history: SendHistory };
  stats: MediaStats;
}

export class RtxStream {
  private seq = Math.floor(Math.random() * 0x8000);

  constructor(
    private readonly p: RtxStreamParams,
    private readonly scratch: Buffer,
  ) {}

  get ssrc(): number {
    return this.p.ssrc;
  }

  get payloadType(): number {
    return this.p.payloadType;
  }

  /** True when it can carry probe padding (the transport stamps transport-wide sequence numbers). */
  get canPad(): boolean {
    return this.p.transportCc !== undefined;
  }

  /** Sends the kept packet `kept` again as RTX at `now`; returns the bytes sent (0 if it could not). */
  resend(kept: SentFrame, now: number): number {
    const tcc = this.p.transportCc;
    const tseq = tcc === undefined ? 0 : tcc.history.nextSeq();
    this.seq = (this.seq + 1) & 0xffff;
    const length = this.p.resendRtx(kept, this.seq, tseq);
    if (length < 0) return 0;
    this.p.stats.rtpRetransmittedRtx++;
    tcc?.history.record(tseq, now, length);
    return length;
  }

  /** Sends about `bytes` (never more) of padding-only packets at `now`, carrying `timestamp`; returns the bytes sent. */
  pad(bytes: number, timestamp: number, now: number): number {
    const tcc = this.p.transportCc;
    if (!tcc) return 0;
    let sent = 0;
    while (bytes - sent - PADDING_HEADER_BYTES >= MIN_PADDING_BYTES) {
      const tseq = tcc.history.nextSeq();
      this.seq = (this.seq + 1) & 0xffff;
      const padding = Math.min(MAX_PADDING_BYTES, bytes - sent - PADDING_HEADER_BYTES);
      const params = { ssrc: this.p.ssrc, payloadType: this.p.payloadType, sequenceNumber: this.seq, timestamp, transportSeqExtId: tcc.extId, transportSeq: tseq };
      const length = writeRtxPadding(params, padding, this.scratch);
      if (length < 0) break;
      this.p.stats.paddingSent++;
      this.p.send(this.scratch, length);
      tcc.history.record(tseq, now, length);
      sent += length;
    }
    return sent;
  }
}
